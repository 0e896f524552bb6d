"""Client guarantees: clear errors before anything is written, typed payloads, no busy polling."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from durable_workflows import Client, workflow
from durable_workflows.exceptions import (
    InvalidArgumentError,
    PayloadError,
    UnknownWorkflowTypeError,
    WorkflowDefinitionError,
    WorkflowResultTimeoutError,
)
from durable_workflows.models import HistoryEvent, WorkflowExecution
from example_project.app.workflows import GreetingWorkflow
from tests.testapp.types import Line, Order, Receipt
from tests.testapp.workflows import SleeperWorkflow, TypedOrderWorkflow

client = Client()


@pytest.fixture
def nothing_written(live_db):
    executions, events = WorkflowExecution.objects.count(), HistoryEvent.objects.count()
    yield
    assert WorkflowExecution.objects.count() == executions
    assert HistoryEvent.objects.count() == events


def test_unknown_workflow_type_is_refused_listing_known_types(nothing_written, unique):
    with pytest.raises(UnknownWorkflowTypeError, match="'NoSuchWorkflow'.*GreetingWorkflow"):
        client.start_workflow("NoSuchWorkflow", id=f"x-{unique}")


def test_unserializable_or_oversized_arguments_are_refused(nothing_written, unique):
    with pytest.raises(PayloadError, match="Object of type object cannot be stored"):
        client.start_workflow(GreetingWorkflow.run, object(), id=f"x-{unique}")
    with pytest.raises(PayloadError, match="over the limit"):
        client.start_workflow(GreetingWorkflow.run, "x" * (3 * 1024 * 1024), id=f"x-{unique}")
    with pytest.raises(PayloadError, match="NaN"):
        client.start_workflow(GreetingWorkflow.run, float("nan"), id=f"x-{unique}")


def test_wrong_argument_count_is_refused(nothing_written, unique):
    with pytest.raises(InvalidArgumentError, match=r"takes 1 argument\(s\) \(name\), got 2"):
        client.start_workflow(GreetingWorkflow.run, "a", "b", id=f"x-{unique}")
    with pytest.raises(InvalidArgumentError, match="non-empty string"):
        client.start_workflow(GreetingWorkflow.run, "a", id="")


def test_a_workflow_class_without_run_fails_at_decoration():
    with pytest.raises(WorkflowDefinitionError, match="has no @workflow.run method"):

        @workflow.defn
        class NoRun:
            async def go(self) -> None: ...


@pytest.mark.usefixtures("workers")
def test_dataclasses_datetimes_decimals_and_uuids_round_trip_through_a_worker(unique):
    order = Order(
        order_id=uuid.uuid4(),
        placed_at=datetime(2026, 11, 22, 12, 30, tzinfo=UTC),
        lines=[Line("a", Decimal("19.99"), 2), Line("b", Decimal("0.02"), 1)],
    )
    receipt = client.execute_workflow(TypedOrderWorkflow.run, order, id=f"typed-{unique}")

    assert receipt == Receipt(
        order_id=order.order_id, total=Decimal("40.00"), placed_at=order.placed_at
    )


@pytest.mark.usefixtures("workers")
def test_waiting_for_a_result_does_not_poll_the_database_in_a_loop(unique):
    handle = client.start_workflow(SleeperWorkflow.run, unique, 3.0, id=f"wait-{unique}")
    with CaptureQueriesContext(connection) as queries:
        assert handle.result(timeout=30) == "woke"
    # One lookup of the run, then a re-check on each wake-up (notification, or every 2 s).
    assert len(queries) <= 8, [q["sql"][:80] for q in queries]


@pytest.mark.usefixtures("workers")
def test_result_timeout_says_the_workflow_is_still_running(unique):
    handle = client.start_workflow(SleeperWorkflow.run, unique, 30.0, id=f"slow-{unique}")
    with pytest.raises(WorkflowResultTimeoutError, match="still running after 0.5 s"):
        handle.result(timeout=0.5)
    handle.terminate("done with it")


def test_list_workflows_is_the_visibility_listing_in_one_query_without_payloads(live_db, unique):
    queue = f"nobody-{unique}"  # no worker serves it: the runs stay RUNNING
    for index, region in enumerate(["eu", "us", "eu"]):
        client.start_workflow(
            SleeperWorkflow.run,
            f"{unique}-{index}",
            1.0,
            id=f"list-{unique}-{index}",
            task_queue=queue,
            search_attributes={"region": region, "batch": unique, "rank": index},
        )
    with CaptureQueriesContext(connection) as queries:
        listed = client.list_workflows(workflow_type="SleeperWorkflow", batch=unique, region="eu")
    assert len(queries) == 1
    assert [run.workflow_id for run in listed] == [f"list-{unique}-2", f"list-{unique}-0"]
    assert all(not hasattr(run, "input") for run in listed)  # summaries carry no payloads
    assert listed[0].task_queue == queue and listed[0].status == "RUNNING"
    # Values compare as text, as in the API's ?search= and the CLI's --search.
    assert [run.workflow_id for run in client.list_workflows(batch=unique, rank=1)] == [
        f"list-{unique}-1"
    ]
    with pytest.raises(InvalidArgumentError, match="Unknown status"):
        client.list_workflows(status="NOPE")
