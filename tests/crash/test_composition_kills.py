"""Composition on real workers, with workers killed (kill -9) at the steps that matter."""

from __future__ import annotations

from pathlib import Path

import pytest

from durable_workflows import Client
from durable_workflows._engine import EventType
from durable_workflows.models import WorkflowExecution, WorkflowStatus
from tests.helpers import assert_well_formed, events_of, types_of, wait_until
from tests.procs import worker_pool
from tests.testapp.models import SideEffect
from tests.testapp.workflows import (
    CartWorkflow,
    ChildRunnerWorkflow,
    LocalStepsWorkflow,
    SignallerWorkflow,
)

pytestmark = pytest.mark.usefixtures("workers")

client = Client()


@pytest.mark.crash
def test_a_child_survives_its_worker_killed_mid_activity(worker_env, pause_dir, unique, doomed):
    queue, child_id = f"q-{unique}", f"child-{unique}"
    gates = Path(pause_dir) / f"gates-{unique}"
    gates.mkdir()
    (gates / "release-2").touch()  # attempt 2 runs through; attempt 1 blocks until killed
    parent = client.start_workflow(
        ChildRunnerWorkflow.run,
        child_id,
        "gated_attempt",
        [unique, str(gates)],
        {"start_to_close": 3, "retry": {"initial_interval": 0.5}},
        id=f"parent-{unique}",
        task_queue=queue,
    )
    wait_until(lambda: SideEffect.count(unique, "started") == 1, what="the child's attempt 1")
    doomed.kill9()
    with worker_pool(worker_env, queue, f"survivor-{unique}"):
        assert parent.result(timeout=90) == "attempt-2"

    (child,) = WorkflowExecution.objects.filter(workflow_id=child_id)  # started once
    assert child.status == WorkflowStatus.COMPLETED
    parent_events = events_of(parent)
    assert_well_formed(parent_events)
    assert_well_formed(events_of(client.get_workflow_handle(child_id)))
    kinds = types_of(parent_events)
    assert kinds.count("StartChildWorkflowExecutionInitiated") == 1
    assert kinds.count("ChildWorkflowExecutionStarted") == 1
    assert kinds.count("ChildWorkflowExecutionCompleted") == 1
    assert SideEffect.count(unique, "finished") == 1


@pytest.mark.crash
def test_an_external_signal_is_delivered_once_when_its_sender_dies_before_delivering(
    worker_env, pause_dir, unique, doomed
):
    queue, target_id = f"q-{unique}", f"target-{unique}"
    target = client.start_workflow(CartWorkflow.run, id=target_id)  # on the session workers
    held = Path(pause_dir) / "deliver-requests"
    held.touch()
    try:
        sender = client.start_workflow(
            SignallerWorkflow.run, target_id, "signal", id=f"sender-{unique}", task_queue=queue
        )
        wait_until(
            (Path(pause_dir) / "deliver-requests.held").exists,
            timeout=30,
            what="the delivery to be held in the sender's worker",
        )
        doomed.kill9()
    finally:
        held.unlink()
    # The request row is PENDING; the tick resends its hint to the survivor.
    with worker_pool(worker_env, queue, f"survivor-{unique}"):
        assert sender.result(timeout=60) == "delivered"
    assert target.result(timeout=30) == 0
    signals = [
        e for e in events_of(target) if e.event_type is EventType.WORKFLOW_EXECUTION_SIGNALED
    ]
    assert len(signals) == 1
    assert types_of(events_of(sender)).count("ExternalWorkflowExecutionSignaled") == 1


@pytest.mark.crash
def test_a_recorded_local_activity_is_not_run_again_after_a_kill(worker_env, unique, doomed):
    queue, key = f"q-{unique}", f"local-{unique}"
    handle = client.start_workflow(LocalStepsWorkflow.run, key, 0, 1, id=key, task_queue=queue)
    # The first local activity ran and its marker committed; the run sleeps 5 s.
    wait_until(lambda: "MarkerRecorded" in types_of(events_of(handle)), what="the first marker")
    doomed.kill9()
    with worker_pool(worker_env, queue, f"survivor-{unique}"):
        assert handle.result(timeout=60) == ["local-1 done", 1]
    assert SideEffect.count(key, "local-1") == 1


@pytest.mark.crash
def test_a_child_started_but_not_yet_run_survives_the_kill(worker_env, pause_dir, unique, doomed):
    queue, child_id = f"q-{unique}", f"child-{unique}"
    gates = Path(pause_dir) / f"gates-{unique}"
    gates.mkdir()
    (gates / "release-1").touch()
    held = Path(pause_dir) / f"workflow-{child_id}"
    held.touch()  # the child's first workflow task is held in the doomed worker
    try:
        parent = client.start_workflow(
            ChildRunnerWorkflow.run,
            child_id,
            "gated_attempt",
            [unique, str(gates)],
            {"start_to_close": 10},
            id=f"parent-{unique}",
            task_queue=queue,
        )
        wait_until(
            (Path(pause_dir) / f"workflow-{child_id}.held").exists,
            timeout=30,
            what="the child's first task to be held",
        )
        doomed.kill9()
    finally:
        held.unlink()
    with worker_pool(worker_env, queue, f"survivor-{unique}"):
        assert parent.result(timeout=60) == "attempt-1"
    assert WorkflowExecution.objects.filter(workflow_id=child_id).count() == 1
    assert_well_formed(events_of(parent))
    assert types_of(events_of(parent)).count("ChildWorkflowExecutionStarted") == 1


@pytest.mark.crash
def test_a_closed_childs_report_survives_the_parents_worker_killed(
    worker_env, pause_dir, unique, doomed
):
    queue, child_id, parent_id = f"q-{unique}", f"child-{unique}", f"parent-{unique}"
    gates = Path(pause_dir) / f"gates-{unique}"
    gates.mkdir()
    parent = client.start_workflow(
        ChildRunnerWorkflow.run,
        child_id,
        "gated_attempt",
        [unique, str(gates)],
        {"start_to_close": 30},
        id=parent_id,
        task_queue=queue,
    )
    wait_until(lambda: SideEffect.count(unique, "started") == 1, what="the child's activity")
    held = Path(pause_dir) / f"workflow-{parent_id}"
    held.touch()  # the parent's next task (the child's close) is held, then its worker dies
    try:
        (gates / "release-1").touch()
        wait_until(
            (Path(pause_dir) / f"workflow-{parent_id}.held").exists,
            timeout=30,
            what="the parent's task after the child closed to be held",
        )
        assert (
            WorkflowExecution.objects.get(workflow_id=child_id).status == WorkflowStatus.COMPLETED
        )
        doomed.kill9()
    finally:
        held.unlink()
    with worker_pool(worker_env, queue, f"survivor-{unique}"):
        assert parent.result(timeout=60) == "attempt-1"
    kinds = types_of(events_of(parent))
    assert kinds.count("ChildWorkflowExecutionCompleted") == 1
    assert_well_formed(events_of(parent))
