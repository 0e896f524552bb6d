"""Signals reach handlers in history order; a cancel request surfaces where the code waits."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from durable_workflows import workflow
from durable_workflows._engine import (
    CancelTimer,
    CancelWorkflowExecution,
    CompleteWorkflowExecution,
    EventType,
    RequestCancelActivityTask,
    StartTimer,
)

from .memory import MemoryRun, identities, kinds

TIMEOUT = timedelta(seconds=30)


@workflow.defn(name="EngineTestInbox")
class InboxWorkflow:
    def __init__(self) -> None:
        self.received: list[str] = []

    @workflow.signal
    def add(self, item: str) -> None:
        self.received.append(item)

    @workflow.signal(name="add_async")
    async def add_async(self, item: str) -> None:
        self.received.append(item)
        await asyncio.sleep(0)

    @workflow.run
    async def run(self, expected: int) -> list[str]:
        await workflow.wait_condition(lambda: len(self.received) >= expected)
        return self.received


def test_sync_and_async_signal_handlers_run_in_history_order():
    run = MemoryRun(InboxWorkflow, 4)
    run.run_task()
    run.signal("add", "one")
    run.signal("add_async", "two")
    run.signal("add", "three")
    run.signal("add_async", "four")
    assert run.run_task() == [CompleteWorkflowExecution(result=["one", "two", "three", "four"])]


def test_signals_across_tasks_are_replayed_in_history_order_and_wake_wait_condition():
    run = MemoryRun(InboxWorkflow, 3)
    assert run.run_task() == []
    run.signal("add_async", "a")
    assert run.run_task() == []  # woken, condition still false: waits again
    assert run.instance.workflow.received == ["a"]
    run.signal("add", "b")
    run.signal("add_async", "c")
    assert run.run_task() == [CompleteWorkflowExecution(result=["a", "b", "c"])]
    assert run.replay().instance.workflow.received == ["a", "b", "c"]


def test_a_signal_delivered_with_the_start_reaches_its_handler():
    run = MemoryRun(InboxWorkflow, 1)
    run.signal("add", "early")
    assert run.run_task() == [CompleteWorkflowExecution(result=["early"])]


@workflow.defn(name="EngineTestEarlyBird")
class EarlyBirdWorkflow:
    def __init__(self) -> None:
        self.log: list[str] = []

    @workflow.signal
    def sync_signal(self, tag: str) -> None:
        self.log.append(f"sync {tag}")

    @workflow.signal
    async def async_signal(self, tag: str) -> None:
        self.log.append(f"async {tag}")

    @workflow.run
    async def run(self) -> list[str]:
        self.log.append("run")
        return self.log


def test_handlers_of_signals_delivered_with_the_start_run_before_the_run_method():
    run = MemoryRun(EarlyBirdWorkflow)
    run.signal("async_signal", "1")
    run.signal("sync_signal", "2")
    assert run.run_task() == [CompleteWorkflowExecution(result=["async 1", "sync 2", "run"])]


def test_a_signal_without_a_handler_is_dropped():
    run = MemoryRun(InboxWorkflow, 1)
    run.run_task()
    run.signal("no_such_signal", "x")
    assert run.run_task() == []
    run.signal("add", "y")
    assert run.run_task() == [CompleteWorkflowExecution(result=["y"])]


# --- cancellation ---------------------------------------------------------------------------


@workflow.defn(name="EngineTestCancellable")
class CancellableWorkflow:
    @workflow.run
    async def run(self) -> str:
        await workflow.execute_activity("EngineTestBook", start_to_close_timeout=TIMEOUT)
        return "booked"


def test_an_uncaught_cancel_request_cancels_the_awaited_activity_and_the_workflow():
    run = MemoryRun(CancellableWorkflow)
    run.run_task()
    run.start_activity("1")
    run.request_cancel()
    assert run.run_task() == [
        RequestCancelActivityTask(seq=1, scheduled_event_id=3),
        CancelWorkflowExecution(),
    ]
    assert run.types()[-1] == EventType.WORKFLOW_EXECUTION_CANCELED.value
    assert run.replay().instance.closed


@workflow.defn(name="EngineTestSleepCancelled")
class SleepCancelledWorkflow:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(timedelta(days=30))
        return "woke"


def test_a_cancel_request_during_a_sleep_cancels_the_timer_and_the_workflow():
    run = MemoryRun(SleepCancelledWorkflow)
    assert run.run_task() == [StartTimer(seq=1, timer_id="1", duration=30 * 86_400.0)]
    run.request_cancel()
    assert run.run_task() == [CancelTimer(seq=1, timer_id="1"), CancelWorkflowExecution()]


def test_a_cancel_request_delivered_with_the_start_cancels_the_workflow_in_its_first_task():
    run = MemoryRun(SleepCancelledWorkflow)
    run.request_cancel()
    # The timer the code started was cancelled in the same task: it never reaches history.
    assert run.run_task() == [CancelWorkflowExecution()]


@workflow.defn(name="EngineTestCompensating")
class CompensatingWorkflow:
    def __init__(self) -> None:
        self.steps: list[str] = []

    @workflow.run
    async def run(self, reraise: bool) -> list[str]:
        try:
            await workflow.execute_activity("EngineTestBook", start_to_close_timeout=TIMEOUT)
            self.steps.append("booked")
        except asyncio.CancelledError:
            self.steps.append("cancelled")
            await workflow.execute_activity("EngineTestUnbook", start_to_close_timeout=TIMEOUT)
            self.steps.append("unbooked")
            if reraise:
                raise
        return self.steps


def test_a_caught_cancel_request_lets_the_workflow_run_compensation_activities_then_cancel():
    run = MemoryRun(CompensatingWorkflow, True)
    run.run_task()
    run.start_activity("1")
    run.request_cancel()
    commands = run.run_task()
    assert kinds(commands) == ["RequestCancelActivityTask", "ScheduleActivityTask"]
    assert identities(commands)[1] == ("ActivityTaskScheduled", "EngineTestUnbook", "2")
    run.cancel_activity("1")  # the attempt saw the cancellation
    assert run.run_task() == []
    run.complete_activity("2")
    assert run.run_task() == [CancelWorkflowExecution()]
    assert run.replay().instance.workflow.steps == ["cancelled", "unbooked"]


def test_a_caught_cancel_request_may_complete_the_workflow_normally():
    run = MemoryRun(CompensatingWorkflow, False)
    run.run_task()
    run.start_activity("1")
    run.request_cancel()
    run.run_task()
    run.complete_activity("2")
    assert run.run_task() == [CompleteWorkflowExecution(result=["cancelled", "unbooked"])]


def test_compensation_replays_when_the_store_cancels_an_unstarted_activity_within_the_task():
    # No attempt of "EngineTestBook" has started, so the store writes ActivityTaskCanceled
    # right after ActivityTaskCancelRequested, before the compensation's ActivityTaskScheduled.
    run = MemoryRun(CompensatingWorkflow, True)
    run.run_task()
    run.request_cancel()
    run.run_task()
    assert run.types()[-4:] == [
        "WorkflowTaskCompleted",
        "ActivityTaskCancelRequested",
        "ActivityTaskCanceled",
        "ActivityTaskScheduled",
    ]
    run.complete_activity("2")
    assert run.run_task() == [CancelWorkflowExecution()]
    assert run.replay().instance.workflow.steps == ["cancelled", "unbooked"]


@workflow.defn(name="EngineTestCancelsOwnActivity")
class CancelsOwnActivityWorkflow:
    @workflow.run
    async def run(self, wait_first: bool) -> str:
        handle = workflow.start_activity("EngineTestBook", start_to_close_timeout=TIMEOUT)
        if wait_first:
            await workflow.sleep(5)
        handle.cancel()
        try:
            await handle
        except asyncio.CancelledError:
            return "activity cancelled"
        return "activity finished"


def test_cancelling_a_recorded_activity_handle_requests_cancellation_of_the_activity_only():
    run = MemoryRun(CancelsOwnActivityWorkflow, True)
    assert kinds(run.run_task()) == ["ScheduleActivityTask", "StartTimer"]
    run.start_activity("1")
    run.fire_timer("1")
    assert run.run_task() == [
        RequestCancelActivityTask(seq=1, scheduled_event_id=3),
        CompleteWorkflowExecution(result="activity cancelled"),
    ]
    assert run.replay().instance.closed


def test_an_activity_scheduled_and_cancelled_in_one_task_never_reaches_the_history():
    run = MemoryRun(CancelsOwnActivityWorkflow, False)
    assert run.run_task() == [CompleteWorkflowExecution(result="activity cancelled")]
    assert run.of_type(EventType.ACTIVITY_TASK_SCHEDULED) == []
