"""Update stages: start_update returns at ACCEPTED (or COMPLETED); the handle's result() waits."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from durable_workflows import Client
from durable_workflows.client import WorkflowUpdateFailedError, WorkflowUpdateStage
from durable_workflows.exceptions import UnknownHandlerError
from durable_workflows.models import HistoryEvent
from durable_workflows.testing import WorkflowEnvironment
from tests.testapp.workflows import CartWorkflow

pytestmark = pytest.mark.usefixtures("live_db")

client = Client()


def outcomes(workflow_id: str, update_id: str) -> int:
    return HistoryEvent.objects.filter(
        execution__workflow_id=workflow_id,
        event_type="WorkflowExecutionUpdateCompleted",
        attributes__update_id=update_id,
    ).count()


def test_accepted_returns_before_the_handler_and_result_waits_for_it() -> None:
    workflow_id = f"stages-{uuid.uuid4().hex[:12]}"
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(CartWorkflow.run, id=workflow_id)
        update = handle.start_update(
            CartWorkflow.add_doubled, 5, wait_for_stage=WorkflowUpdateStage.ACCEPTED, id="u-1"
        )
        assert update.id == "u-1" and update.name == "add_doubled"
        assert update.result() == 10
        assert outcomes(workflow_id, "u-1") == 1
        # A handle found later by id answers the same.
        assert handle.get_update_handle("u-1").result() == 10
        done = handle.start_update(
            CartWorkflow.add_item, 3, wait_for_stage=WorkflowUpdateStage.COMPLETED
        )
        assert outcomes(workflow_id, done.id) == 1  # finished before start_update returned
        assert done.result() == 13
        with pytest.raises(WorkflowUpdateFailedError):
            handle.start_update(
                CartWorkflow.add_item, -1, wait_for_stage=WorkflowUpdateStage.ACCEPTED
            )
        with pytest.raises(ValueError, match="ADMITTED"):
            handle.start_update(
                CartWorkflow.add_item, 1, wait_for_stage=WorkflowUpdateStage.ADMITTED
            )
        with pytest.raises(UnknownHandlerError):
            handle.get_update_handle("no-such-update")
        handle.signal(CartWorkflow.checkout)
        assert handle.result() == 13


def test_the_async_client_awaits_the_update_result() -> None:
    workflow_id = f"stages-async-{uuid.uuid4().hex[:12]}"

    async def scenario() -> int:
        aclient = await Client.connect()
        handle = await aclient.start_workflow(CartWorkflow.run, id=workflow_id)
        update = await handle.start_update(
            CartWorkflow.add_item, 4, wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
        value: int = await update.result()
        await handle.signal(CartWorkflow.checkout)
        return value

    with WorkflowEnvironment.start_time_skipping():
        assert asyncio.run(scenario()) == 4


def test_update_with_start_starts_once_then_updates_the_running_run() -> None:
    from durable_workflows import WorkflowIDConflictPolicy
    from durable_workflows.client import WithStartWorkflowOperation
    from durable_workflows.models import WorkflowExecution

    workflow_id = f"uws-{uuid.uuid4().hex[:12]}"

    def operation() -> WithStartWorkflowOperation:
        return WithStartWorkflowOperation(
            CartWorkflow.run,
            id=workflow_id,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

    with WorkflowEnvironment.start_time_skipping():
        first = operation()
        assert (
            client.execute_update_with_start_workflow(
                CartWorkflow.add_item, 2, start_workflow_operation=first
            )
            == 2
        )
        second = operation()
        assert (
            client.execute_update_with_start_workflow(
                CartWorkflow.add_item, 5, start_workflow_operation=second
            )
            == 7
        )
        assert first.handle is not None and second.handle is not None
        assert first.handle.run_id == second.handle.run_id
        assert WorkflowExecution.objects.filter(workflow_id=workflow_id).count() == 1
        # A rejected update starts nothing.
        rejected_id = f"uws-rejected-{uuid.uuid4().hex[:12]}"
        with pytest.raises(WorkflowUpdateFailedError):
            client.execute_update_with_start_workflow(
                CartWorkflow.add_item,
                -1,
                start_workflow_operation=WithStartWorkflowOperation(
                    CartWorkflow.run,
                    id=rejected_id,
                    id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                ),
            )
        assert not WorkflowExecution.objects.filter(workflow_id=rejected_id).exists()
        first.handle.signal(CartWorkflow.checkout)
        assert first.handle.result() == 7
