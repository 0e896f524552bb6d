"""Search attributes and memo on the database: upserts land on the run's row in the task's
transaction, and every listing (client, API, CLI, admin) finds runs by them."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from durable_workflows import Client
from durable_workflows._engine import EventType
from durable_workflows.models import WorkflowExecution
from durable_workflows.testing import WorkflowEnvironment
from tests.helpers import events_of
from tests.testapp.workflows import OrderTaggingWorkflow

pytestmark = pytest.mark.usefixtures("live_db")

client = Client()


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def row(workflow_id: str) -> WorkflowExecution:
    return WorkflowExecution.objects.get(workflow_id=workflow_id)


def test_upserts_are_merged_into_the_row_with_the_events_that_record_them() -> None:
    workflow_id = new_id("tagging")
    customer = new_id("c")
    with WorkflowEnvironment.start_time_skipping() as env:
        handle = client.start_workflow(
            OrderTaggingWorkflow.run,
            customer,
            12.5,
            id=workflow_id,
            search_attributes={"Region": "eu"},
            memo={"owner": "ada"},
        )
        env.sleep(timedelta(hours=1))  # the first task ran; the run waits for ship
        waiting = row(workflow_id)
        assert waiting.search_attributes == {
            "Region": "eu",
            "CustomerId": customer,
            "Amount": 12.5,
            "Stage": "paid",
            "Tags": ["new"],
        }
        assert waiting.memo == {"owner": "ada", "note": "paid 12.5"}
        handle.signal(OrderTaggingWorkflow.ship)
        outcome = handle.result()
    final = {"Region": "eu", "CustomerId": customer, "Amount": 12.5, "Stage": "shipped"}
    assert outcome == {"attributes": final, "memo": {"owner": "ada", "note": "paid 12.5"}}
    closed = row(workflow_id)
    assert closed.search_attributes == final  # Tags=[] removed it
    assert closed.memo == {"owner": "ada", "note": "paid 12.5"}
    events = events_of(handle)
    upserts = [e for e in events if e.event_type is EventType.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES]
    assert [e.attributes["search_attributes"]["Stage"] for e in upserts] == ["paid", "shipped"]
    (modified,) = [e for e in events if e.event_type is EventType.WORKFLOW_PROPERTIES_MODIFIED]
    assert modified.attributes == {"memo": {"note": "paid 12.5"}}
    # describe() reads the row: what listings filter on.
    assert handle.describe().search_attributes == final
