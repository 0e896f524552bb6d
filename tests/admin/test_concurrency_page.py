"""The admin's page of concurrency keys: slots in use and attempts waiting, per key."""

from __future__ import annotations

import uuid

from django.test import Client as HttpClient

from durable_workflows import Client
from durable_workflows._clock import now
from durable_workflows.models import ActivityStatus, ActivityTask, WorkflowExecution
from durable_workflows.testing import WorkflowEnvironment
from tests.testapp.workflows import CartWorkflow

from .conftest import CHANGELIST, make_user

client = Client()


def limited_row(execution: WorkflowExecution, event_id: int, key: str, *, holds: bool) -> None:
    # Rows as the store writes them for an activity.Concurrency(limit=1) activity: one
    # holding the key's slot (started), one waiting for it.
    moment = now()
    ActivityTask.objects.create(
        execution=execution,
        scheduled_event_id=event_id,
        activity_id=str(event_id),
        activity_type="call_crm",
        task_queue="nowhere",
        status=ActivityStatus.STARTED if holds else ActivityStatus.SCHEDULED,
        scheduled_time=moment,
        attempt_scheduled_time=moment,
        dispatch_after=moment,
        limit_key=key,
        concurrency_limit=1,
        holds_slot=holds,
    )


def test_the_page_lists_each_key_with_its_slots_and_waiters(live_db) -> None:
    workflow_id = f"limits-{uuid.uuid4().hex[:10]}"
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(CartWorkflow.run, id=workflow_id)
    execution = WorkflowExecution.objects.get(workflow_id=workflow_id)
    key = f"call_crm:{uuid.uuid4().hex[:8]}"
    limited_row(execution, 100, key, holds=True)
    limited_row(execution, 101, key, holds=False)
    try:
        http = HttpClient()
        http.force_login(make_user("view_workflowexecution"))
        page = http.get(f"{CHANGELIST}concurrency/")
        assert page.status_code == 200
        html = page.content.decode()
        row = html[html.index(key) :].split("</tr>")[0]
        assert "<td>1</td><td>1</td><td>1</td>" in row  # limit 1, 1 in use, 1 waiting
        nobody = HttpClient()
        nobody.force_login(make_user())
        assert nobody.get(f"{CHANGELIST}concurrency/").status_code == 403
    finally:
        handle.terminate(reason="test over")
