"""Composition on real Celery worker processes: close policies, long continue-as-new chains."""

from __future__ import annotations

import time

import pytest

from durable_workflows import Client
from durable_workflows.models import HistoryEvent, WorkflowExecution, WorkflowStatus
from tests.helpers import wait_until
from tests.testapp.workflows import CounterChainWorkflow, WaitingParentWorkflow

pytestmark = pytest.mark.usefixtures("workers")

client = Client()


def status_of(workflow_id: str) -> str:
    return (
        WorkflowExecution.objects.filter(workflow_id=workflow_id)
        .values_list("status", flat=True)
        .get()
    )


@pytest.mark.parametrize(
    ("policy", "child_ends"),
    [("TERMINATE", WorkflowStatus.TERMINATED), ("ABANDON", WorkflowStatus.RUNNING)],
)
def test_terminating_a_parent_applies_its_close_policy_to_the_child(
    unique: str, policy: str, child_ends: str
) -> None:
    parent_id, child_id = f"parent-{unique}", f"child-{unique}"
    parent = client.start_workflow(WaitingParentWorkflow.run, child_id, policy, id=parent_id)
    wait_until(
        lambda: WorkflowExecution.objects.filter(workflow_id=child_id).exists(),
        what="the child to start",
    )
    parent.terminate(reason="test")
    if child_ends == WorkflowStatus.TERMINATED:
        wait_until(lambda: status_of(child_id) == child_ends, timeout=30, what="child terminated")
    else:
        # Give a delivery the time it would take, then check nothing was sent.
        wait_until(lambda: status_of(parent_id) == WorkflowStatus.TERMINATED, what="parent")
        time.sleep(2)
        assert status_of(child_id) == WorkflowStatus.RUNNING
        client.get_workflow_handle(child_id).terminate(reason="cleanup")


def test_a_counter_continued_as_new_a_thousand_times_keeps_each_history_short(
    unique: str,
) -> None:
    workflow_id = f"counter-{unique}"
    handle = client.start_workflow(CounterChainWorkflow.run, 1000, 0, id=workflow_id)
    assert handle.result(timeout=600) == 1000
    runs = WorkflowExecution.objects.filter(workflow_id=workflow_id)
    assert runs.count() == 1001
    assert runs.filter(status=WorkflowStatus.CONTINUED_AS_NEW).count() == 1000
    longest = max(runs.values_list("history_length", flat=True))
    assert longest <= 4  # started, task completed, continued (or completed)
    assert HistoryEvent.objects.filter(execution__in=runs).count() <= 4 * 1001
