"""Continue-as-new, child workflows and requests between workflows, end to end on the
database (in the test environment: the worker path, in this process, time skipped)."""

from __future__ import annotations

import itertools
import uuid

import pytest

from durable_workflows import Client
from durable_workflows._engine import EventType
from durable_workflows.exceptions import WorkflowFailureError
from durable_workflows.models import WorkflowExecution, WorkflowStatus
from durable_workflows.testing import WorkflowEnvironment
from tests.helpers import events_of, types_of
from tests.testapp.workflows import (
    CartWorkflow,
    ContinuedInfoWorkflow,
    CountdownWorkflow,
    ParentWorkflow,
    RenewingWorkflow,
    SignallerWorkflow,
)

pytestmark = pytest.mark.usefixtures("live_db")

client = Client()


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def runs_of(workflow_id: str) -> list[WorkflowExecution]:
    return list(WorkflowExecution.objects.filter(workflow_id=workflow_id).order_by("id"))


# --- continue-as-new ------------------------------------------------------------------------


def test_continue_as_new_chains_runs_and_result_follows_to_the_last() -> None:
    workflow_id = new_id("countdown")
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(
            CountdownWorkflow.run, 3, [], id=workflow_id, memo={"owner": "ada"}
        )
        seen = handle.result()
    runs = runs_of(workflow_id)
    assert [str(r.run_id) for r in runs] == seen
    assert [r.status for r in runs] == [WorkflowStatus.CONTINUED_AS_NEW] * 3 + [
        WorkflowStatus.COMPLETED
    ]
    for previous, following in itertools.pairwise(runs):
        assert following.continued_run_id == previous.run_id
        assert following.memo == {"owner": "ada"}  # carried over
        closing = events_of(client.get_workflow_handle(workflow_id, run_id=str(previous.run_id)))
        assert closing[-1].event_type is EventType.WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        assert closing[-1].attributes["input"][0] == 3 - runs.index(previous) - 1
    # A handle on the first run follows the chain too.
    first = client.get_workflow_handle(workflow_id, run_id=str(runs[0].run_id))
    assert first.result() == seen


def test_the_new_run_knows_the_run_it_continued() -> None:
    workflow_id = new_id("continued")
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(ContinuedInfoWorkflow.run, True, id=workflow_id)
        info = handle.result()
    first, second = runs_of(workflow_id)
    assert info["continued_run_id"] == str(first.run_id)
    assert info["history_length"] == 1  # as of its first task: only the start event
    start = events_of(client.get_workflow_handle(workflow_id, run_id=str(second.run_id)))[0]
    assert start.attributes["continued_execution_run_id"] == str(first.run_id)


def test_the_start_handle_signals_whichever_run_continued_the_chain() -> None:
    workflow_id = new_id("renewing")
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(RenewingWorkflow.run, 0, id=workflow_id)
        handle.signal(RenewingWorkflow.renew_now)
        handle.signal(RenewingWorkflow.renew_now)  # reaches the second run
        handle.signal(RenewingWorkflow.stop_now)  # and this the third
        assert handle.result() == 2
    assert handle.run_id == handle.first_execution_run_id == str(runs_of(workflow_id)[0].run_id)
    assert len(runs_of(workflow_id)) == 3


# --- child workflows -------------------------------------------------------------------------


def test_a_child_runs_and_its_result_reaches_the_parent() -> None:
    parent_id, child_id = new_id("parent"), new_id("child")
    with WorkflowEnvironment.start_time_skipping():
        assert client.execute_workflow(ParentWorkflow.run, "double", child_id, id=parent_id) == 42
    parent = runs_of(parent_id)[0]
    (child,) = runs_of(child_id)
    assert child.parent_run_id == parent.run_id
    assert child.parent_workflow_id == parent_id
    assert child.status == WorkflowStatus.COMPLETED
    history = events_of(client.get_workflow_handle(parent_id))
    assert "StartChildWorkflowExecutionInitiated" in types_of(history)
    assert "ChildWorkflowExecutionStarted" in types_of(history)
    completed = [e for e in history if e.event_type is EventType.CHILD_WORKFLOW_EXECUTION_COMPLETED]
    assert completed[0].attributes["result"] == 42
    assert completed[0].attributes["run_id"] == str(child.run_id)


def test_a_failed_child_raises_child_workflow_error_with_the_cause() -> None:
    with WorkflowEnvironment.start_time_skipping():
        outcome = client.execute_workflow(
            ParentWorkflow.run, "fail", new_id("child"), id=new_id("parent")
        )
    assert outcome == "ChildWorkflowError: ApplicationError: boom"


def test_a_parent_signals_its_child_through_the_handle() -> None:
    child_id = new_id("child-cart")
    with WorkflowEnvironment.start_time_skipping():
        assert client.execute_workflow(ParentWorkflow.run, "signal", child_id, id=new_id("p")) == 0
    history = events_of(client.get_workflow_handle(child_id))
    assert "WorkflowExecutionSignaled" in types_of(history)


def test_cancelling_a_child_waits_for_it_to_close_cancelled() -> None:
    child_id = new_id("child-sleep")
    with WorkflowEnvironment.start_time_skipping():
        outcome = client.execute_workflow(ParentWorkflow.run, "cancel", child_id, id=new_id("p"))
    assert outcome == "cancelled: CancelledError"
    assert runs_of(child_id)[0].status == WorkflowStatus.CANCELED


@pytest.mark.parametrize(
    ("kind", "child_status"),
    [
        ("terminate-on-close", WorkflowStatus.TERMINATED),
        ("abandon-on-close", WorkflowStatus.RUNNING),
    ],
)
def test_the_parent_close_policy_applies_to_running_children(kind: str, child_status: str) -> None:
    child_id = new_id("child-policy")
    with WorkflowEnvironment.start_time_skipping() as env:
        assert client.execute_workflow(ParentWorkflow.run, kind, child_id, id=new_id("p")) == "left"
        env.sleep(1)
    assert runs_of(child_id)[0].status == child_status
    if child_status == WorkflowStatus.RUNNING:
        client.get_workflow_handle(child_id).terminate(reason="test cleanup")


def test_a_child_id_already_running_fails_the_second_start() -> None:
    with WorkflowEnvironment.start_time_skipping():
        outcome = client.execute_workflow(
            ParentWorkflow.run, "duplicate", new_id("child-dup"), id=new_id("p")
        )
    assert outcome == "already started"


# --- external handles ----------------------------------------------------------------------


def test_an_external_signal_is_delivered_once_and_acknowledged() -> None:
    target_id = new_id("cart-target")
    with WorkflowEnvironment.start_time_skipping():
        target = client.start_workflow(CartWorkflow.run, id=target_id)
        signaller = client.start_workflow(
            SignallerWorkflow.run, target_id, "signal", id=new_id("signaller")
        )
        assert signaller.result() == "delivered"
        assert target.result() == 0
    signals = [
        e for e in events_of(target) if e.event_type is EventType.WORKFLOW_EXECUTION_SIGNALED
    ]
    assert len(signals) == 1
    assert "ExternalWorkflowExecutionSignaled" in types_of(events_of(signaller))


def test_an_external_cancel_reaches_the_target() -> None:
    target_id = new_id("cart-cancel")
    with WorkflowEnvironment.start_time_skipping():
        target = client.start_workflow(CartWorkflow.run, id=target_id)
        assert (
            client.execute_workflow(
                SignallerWorkflow.run, target_id, "cancel", id=new_id("canceller")
            )
            == "delivered"
        )
        with pytest.raises(WorkflowFailureError):
            target.result()
    assert runs_of(target_id)[0].status == WorkflowStatus.CANCELED


def test_signalling_a_workflow_that_is_not_running_fails_in_the_sender() -> None:
    with WorkflowEnvironment.start_time_skipping():
        outcome = client.execute_workflow(
            SignallerWorkflow.run, new_id("nobody"), "signal", id=new_id("signaller")
        )
    assert outcome == "failed: ExternalWorkflowExecutionNotFound"
