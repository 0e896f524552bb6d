"""id_conflict_policy: what a start does when a run of the id is already running."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client as HttpClient

from durable_workflows import Client, WorkflowIDConflictPolicy
from durable_workflows.exceptions import WorkflowAlreadyStartedError
from durable_workflows.models import WorkflowExecution, WorkflowStatus
from durable_workflows.testing import WorkflowEnvironment
from tests.testapp.workflows import CartWorkflow

pytestmark = pytest.mark.usefixtures("live_db")

client = Client()


def statuses(workflow_id: str) -> list[str]:
    return list(
        WorkflowExecution.objects.filter(workflow_id=workflow_id)
        .order_by("id")
        .values_list("status", flat=True)
    )


def test_each_policy_when_the_id_is_running() -> None:
    workflow_id = f"conflict-{uuid.uuid4().hex[:12]}"
    with WorkflowEnvironment.start_time_skipping():
        first = client.start_workflow(CartWorkflow.run, id=workflow_id)
        with pytest.raises(WorkflowAlreadyStartedError):
            client.start_workflow(CartWorkflow.run, id=workflow_id)
        same = client.start_workflow(
            CartWorkflow.run,
            id=workflow_id,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        assert same.run_id == first.run_id
        assert statuses(workflow_id) == [WorkflowStatus.RUNNING]
        replaced = client.start_workflow(
            CartWorkflow.run,
            id=workflow_id,
            id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
        )
        assert replaced.run_id != first.run_id
        assert statuses(workflow_id) == [WorkflowStatus.TERMINATED, WorkflowStatus.RUNNING]
        replaced.signal(CartWorkflow.checkout)
        assert replaced.result() == 0


def test_the_api_takes_the_policy(admin_client: HttpClient) -> None:
    workflow_id = f"conflict-api-{uuid.uuid4().hex[:12]}"
    body = {"workflow_type": "CartWorkflow", "workflow_id": workflow_id, "args": []}
    with WorkflowEnvironment.start_time_skipping():
        first = admin_client.post("/api/workflows/", body, content_type="application/json")
        assert first.status_code == 201
        refused = admin_client.post("/api/workflows/", body, content_type="application/json")
        assert refused.status_code == 409
        reused = admin_client.post(
            "/api/workflows/",
            {**body, "id_conflict_policy": "USE_EXISTING"},
            content_type="application/json",
        )
        assert reused.status_code == 201
        assert reused.json()["run_id"] == first.json()["run_id"]
        bad = admin_client.post(
            "/api/workflows/",
            {**body, "id_conflict_policy": "SOMETIMES"},
            content_type="application/json",
        )
        assert bad.status_code == 400
        client.get_workflow_handle(workflow_id).terminate(reason="cleanup")
