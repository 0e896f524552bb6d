"""The seeds' guarantees, against PostgreSQL and real worker processes.

Killed workers are in tests/crash.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from durable_workflows import Client
from durable_workflows._engine import EventType
from durable_workflows.exceptions import (
    ActivityError,
    ApplicationError,
    WorkflowFailureError,
)
from durable_workflows.models import WorkflowExecution
from example_project.app.workflows import GreetingWorkflow, OrderWorkflow
from tests import procs
from tests.helpers import assert_well_formed, types_of, wait_until
from tests.testapp.models import SideEffect
from tests.testapp.workflows import (
    BuggyWorkflow,
    DeployChangesOrderWorkflow,
    FlakyWorkflow,
    GatherWorkflow,
)

pytestmark = pytest.mark.usefixtures("workers")

client = Client()


def test_greeting_history_is_exactly_the_seed_happy_path(unique):
    handle = client.start_workflow(GreetingWorkflow.run, "David", id=f"greeting-{unique}")

    assert handle.result(timeout=30) == "Hello, David!"
    assert types_of(handle.fetch_history().events) == [
        "WorkflowExecutionStarted",
        "WorkflowTaskCompleted",
        "ActivityTaskScheduled",
        "ActivityTaskStarted",
        "ActivityTaskCompleted",
        "WorkflowTaskCompleted",
        "WorkflowExecutionCompleted",
    ]


def test_order_workflow_runs_its_four_steps(unique):
    result = client.execute_workflow(
        OrderWorkflow.run, f"order-{unique}", 99.99, id=f"order-{unique}"
    )

    assert result == f"Order order-{unique}: Charged $99.99"
    history = client.get_workflow_handle(f"order-{unique}").fetch_history().events
    scheduled = [
        e.attributes["activity_type"]
        for e in history
        if e.event_type is EventType.ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled == ["charge_card", "update_inventory", "send_confirmation_email", "ship_order"]
    assert history[2].attributes["retry_policy"]["maximum_attempts"] == 3


def test_gathered_activities_run_concurrently_and_results_keep_their_order(unique):
    handle = client.start_workflow(GatherWorkflow.run, unique, 5, id=f"gather-{unique}")

    assert handle.result(timeout=30) == [f"step-{i} done" for i in range(5)]
    events = handle.fetch_history().events
    assert_well_formed(events)
    # All five were scheduled by the first workflow task, before any completed.
    assert types_of(events)[2:7] == ["ActivityTaskScheduled"] * 5


def test_activity_retried_until_it_succeeds_records_one_completion_with_attempt_count(unique):
    handle = client.start_workflow(FlakyWorkflow.run, unique, 2, 5, id=f"flaky-{unique}")

    assert handle.result(timeout=30) == 3
    events = handle.fetch_history().events
    completed = [e for e in events if e.event_type is EventType.ACTIVITY_TASK_COMPLETED]
    assert len(completed) == 1 and completed[0].attributes["attempt"] == 3
    assert SideEffect.count(unique, "flaky") == 3
    assert "ActivityTaskFailed" not in types_of(events)


def test_activity_out_of_attempts_fails_the_workflow_with_activity_error(unique):
    handle = client.start_workflow(FlakyWorkflow.run, unique, 5, 2, id=f"flaky-{unique}")

    with pytest.raises(WorkflowFailureError) as raised:
        handle.result(timeout=30)

    assert raised.value.status == "FAILED"
    activity_error = raised.value.cause
    assert isinstance(activity_error, ActivityError)
    assert activity_error.retry_state.value == "MAXIMUM_ATTEMPTS_REACHED"
    assert isinstance(activity_error.cause, ApplicationError)
    assert activity_error.cause.type == "FlakyError"
    assert SideEffect.count(unique, "flaky") == 2
    failed = [
        e for e in handle.fetch_history().events if e.event_type is EventType.ACTIVITY_TASK_FAILED
    ]
    assert len(failed) == 1 and failed[0].attributes["attempt"] == 2


def test_two_hundred_workflows_from_four_threads_all_complete_well_formed(unique):
    errors: list[BaseException] = []
    handles = []
    lock = threading.Lock()

    def start(thread: int) -> None:
        try:
            for i in range(50):
                handle = client.start_workflow(
                    GreetingWorkflow.run, f"n{thread}-{i}", id=f"many-{unique}-{thread}-{i}"
                )
                with lock:
                    handles.append((handle, f"Hello, n{thread}-{i}!"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert len(handles) == 200
    for handle, expected in handles:
        assert handle.result(timeout=120) == expected
        events = handle.fetch_history().events
        assert_well_formed(events)
        assert types_of(events)[-1] == "WorkflowExecutionCompleted"


def test_status_is_stored_on_the_execution_row(unique):
    handle = client.start_workflow(GreetingWorkflow.run, "Row", id=f"row-{unique}")
    handle.result(timeout=30)
    row = WorkflowExecution.objects.get(workflow_id=f"row-{unique}")
    assert row.status == "COMPLETED"
    assert row.result == "Hello, Row!"
    assert row.history_length == 7
    assert row.close_time >= row.start_time


def test_nondeterminism_fails_the_task_keeps_the_run_and_recovers_with_restored_code(
    pause_dir, unique
):
    flag = Path(pause_dir) / f"new-code-{unique}"
    gate = Path(pause_dir) / f"gate-{unique}"
    handle = client.start_workflow(
        DeployChangesOrderWorkflow.run, unique, str(flag), str(gate), id=f"nondet-{unique}"
    )
    wait_until(
        lambda: any(a.status == "STARTED" for a in handle.describe().pending_activities),
        what="the gate activity to start",
    )
    flag.touch()  # a deploy changes what the code does first
    gate.touch()  # the gate completes: the next workflow task replays on the new code

    failure = wait_until(lambda: handle.describe().task_failure, what="the task failure")
    assert failure["type"] == "NondeterminismError"
    assert "ActivityTaskScheduled('wait_for_file', '1')" in failure["message"]
    assert "ActivityTaskScheduled('record', '1')" in failure["message"]
    description = handle.describe()
    assert description.status == "RUNNING"
    recorded = types_of(handle.fetch_history().events)
    assert recorded[-1] == "ActivityTaskCompleted"  # nothing written by the failed task

    flag.unlink()  # roll the deploy back
    assert handle.result(timeout=30) == "restored"
    assert handle.describe().task_failure is None
    assert SideEffect.count(unique, "new-first-step") == 0
    assert SideEffect.count(unique, "after-gate") == 1


def test_a_bug_in_workflow_code_fails_the_task_not_the_workflow(pause_dir, unique):
    fix = Path(pause_dir) / f"fix-{unique}"
    handle = client.start_workflow(BuggyWorkflow.run, str(fix), id=f"buggy-{unique}")
    failure = wait_until(lambda: handle.describe().task_failure, what="the task failure")
    assert failure["type"] == "WorkflowTaskError"
    assert "KeyError" in failure["message"] and "a bug in workflow code" in failure["message"]
    assert handle.describe().status == "RUNNING"
    assert types_of(handle.fetch_history().events) == ["WorkflowExecutionStarted"]

    fix.touch()  # "deploy the fix"
    assert handle.result(timeout=30) == "fixed"


def test_duplicate_hints_write_no_duplicate_events(worker_env, unique):
    from durable_workflows import tasks
    from durable_workflows.models import ActivityTask

    queue = f"dup-{unique}"
    handles = [
        client.start_workflow(
            GatherWorkflow.run, f"{unique}-{i}", 3, id=f"dup-{unique}-{i}", task_queue=queue
        )
        for i in range(10)
    ]
    # Every start hint is delivered three times, and every activity hint three times,
    # to two competing workers.
    for handle in handles:
        for _ in range(2):
            tasks.workflow_task.apply_async(args=[handle.run_id], queue=queue)
    workers = [procs.start_worker(worker_env, [queue], f"dup-{unique}-{n}") for n in (1, 2)]
    try:
        duplicated: set[int] = set()
        deadline_handles = list(handles)
        while deadline_handles:
            for activity in ActivityTask.objects.filter(
                execution__workflow_id__startswith=f"dup-{unique}"
            ):
                if activity.pk not in duplicated:
                    duplicated.add(activity.pk)
                    for _ in range(2):
                        tasks.activity_task.apply_async(args=[activity.pk, 1], queue=queue)
            deadline_handles = [h for h in deadline_handles if h.describe().status == "RUNNING"]
        results = [h.result(timeout=60) for h in handles]
        histories = [h.fetch_history().events for h in handles]
        # Late duplicates of everything, after completion.
        for handle in handles:
            tasks.workflow_task.apply_async(args=[handle.run_id], queue=queue)
        for pk in duplicated:
            tasks.activity_task.apply_async(args=[pk, 1], queue=queue)
        wait_until(
            lambda: (
                sum(w.log().count("succeeded") for w in workers)
                # Start hints x3, activity hints x2 (the workflow task kept the three
                # activities for its own worker: eager execution, no message), then the
                # late duplicates. The workflow task after the activities is run by the
                # worker that recorded the last outcome (continued in place): no message.
                >= 10 * 3 + 30 * 2 + 10 + 30
            ),
            timeout=60,
            what="every hint to be consumed",
        )
    finally:
        for worker in workers:
            worker.stop()

    assert len(duplicated) == 30
    for i, (result, events) in enumerate(zip(results, histories, strict=True)):
        assert result == [f"step-{n} done" for n in range(3)]
        assert_well_formed(events)
        assert types_of(events).count("ActivityTaskCompleted") == 3
        assert SideEffect.count(f"{unique}-{i}", "step-0") == 1
    assert [h.fetch_history().events for h in handles] == histories
