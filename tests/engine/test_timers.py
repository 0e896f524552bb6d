"""Durable timers: asyncio.sleep, workflow.sleep, wait_condition and wait_for timeouts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from durable_workflows import workflow
from durable_workflows._engine import (
    CancelTimer,
    CompleteWorkflowExecution,
    EventType,
    FailWorkflowExecution,
    StartTimer,
)

from .memory import MemoryRun, kinds


@workflow.defn(name="EngineTestSleeper")
class SleeperWorkflow:
    def __init__(self) -> None:
        self.stage = "start"

    @workflow.run
    async def run(self) -> str:
        self.stage = "first sleep"
        await asyncio.sleep(30)
        self.stage = "second sleep"
        await workflow.sleep(timedelta(minutes=2))
        self.stage = "done"
        return "woke twice"


def test_asyncio_sleep_and_workflow_sleep_start_timers_and_resume_only_when_they_fire():
    run = MemoryRun(SleeperWorkflow)
    assert run.run_task() == [StartTimer(seq=1, timer_id="1", duration=30.0)]
    assert run.instance.workflow.stage == "first sleep"

    run.advance(29)
    assert run.run_task() == []  # nothing happened: still asleep
    assert run.instance.workflow.stage == "first sleep"

    run.advance(1)
    run.fire_timer("1")
    assert run.run_task() == [StartTimer(seq=2, timer_id="2", duration=120.0)]
    assert run.instance.workflow.stage == "second sleep"

    run.advance(120)
    run.fire_timer("2")
    assert run.run_task() == [CompleteWorkflowExecution(result="woke twice")]
    assert run.instance.workflow.stage == "done"


def test_a_fired_timer_that_was_not_the_awaited_one_does_not_resume_the_sleep():
    run = MemoryRun(SleeperWorkflow)
    run.run_task()
    # A TimerFired whose started_event_id matches no timer (e.g. from a corrupt redrive).
    run.append(EventType.TIMER_FIRED, {"timer_id": "9", "started_event_id": 999})
    assert run.run_task() == []
    assert run.instance.workflow.stage == "first sleep"


# --- timers that are cancelled --------------------------------------------------------------


@workflow.defn(name="EngineTestApproval")
class ApprovalWorkflow:
    def __init__(self) -> None:
        self.approved = False

    @workflow.signal
    def approve(self) -> None:
        self.approved = True

    @workflow.run
    async def run(self, timeout: float) -> str:
        try:
            await workflow.wait_condition(lambda: self.approved, timeout=timeout)
        except asyncio.TimeoutError:  # noqa: UP041 - the spelling the API documents
            return "timed out"
        return "approved"


def test_wait_condition_met_in_the_same_task_leaves_no_timer_in_the_commands():
    run = MemoryRun(ApprovalWorkflow, 60)
    run.signal("approve")  # delivered with the start, as signal-with-start does
    assert run.run_task() == [CompleteWorkflowExecution(result="approved")]
    assert run.of_type(EventType.TIMER_STARTED) == []


def test_wait_condition_met_after_its_timer_was_recorded_cancels_the_timer():
    run = MemoryRun(ApprovalWorkflow, 60)
    assert run.run_task() == [StartTimer(seq=1, timer_id="1", duration=60.0)]
    run.advance(10)
    run.signal("approve")
    assert run.run_task() == [
        CancelTimer(seq=1, timer_id="1"),
        CompleteWorkflowExecution(result="approved"),
    ]
    assert run.of_type(EventType.TIMER_CANCELED)[0].attributes == {
        "timer_id": "1",
        "started_event_id": 3,
    }
    run.advance(100)
    assert run.replay().instance.closed  # TimerCanceled matches on replay


def test_wait_condition_raises_timeout_error_when_its_timer_fires_first():
    run = MemoryRun(ApprovalWorkflow, 60)
    run.run_task()
    run.advance(60)
    run.fire_timer("1")
    assert run.run_task() == [CompleteWorkflowExecution(result="timed out")]


def test_a_condition_met_by_a_signal_wins_over_a_timer_fired_later_in_the_same_task():
    run = MemoryRun(ApprovalWorkflow, 60)
    run.run_task()
    run.advance(60)
    run.signal("approve")
    run.fire_timer("1")
    # The code reacts to signals (conditions included) before it sees resolutions, as
    # it would had the worker run between the two events.
    commands = run.run_task()
    assert commands == [CompleteWorkflowExecution(result="approved")]  # no CancelTimer: it fired
    assert run.replay().instance.closed


@workflow.defn(name="EngineTestUncaughtTimeout")
class UncaughtTimeoutWorkflow:
    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: False, timeout=timedelta(seconds=5))
        return "unreachable"


def test_an_uncaught_wait_condition_timeout_fails_the_workflow():
    run = MemoryRun(UncaughtTimeoutWorkflow)
    assert run.run_task() == [StartTimer(seq=1, timer_id="1", duration=5.0)]
    run.advance(5)
    run.fire_timer("1")
    commands = run.run_task()
    assert kinds(commands) == ["FailWorkflowExecution"]
    assert isinstance(commands[0], FailWorkflowExecution)
    assert run.failure["kind"] == "ApplicationError"
    assert run.failure["type"] == "TimeoutError"


@workflow.defn(name="EngineTestWaitFor")
class WaitForWorkflow:
    @workflow.run
    async def run(self) -> str:
        try:
            await asyncio.wait_for(asyncio.sleep(100), timeout=5)
        except TimeoutError:
            return "gave up"
        return "slept"


def test_wait_for_timeout_race_cancels_the_recorded_inner_timer():
    run = MemoryRun(WaitForWorkflow)
    assert run.run_task() == [
        StartTimer(seq=1, timer_id="1", duration=5.0),  # wait_for's deadline
        StartTimer(seq=2, timer_id="2", duration=100.0),  # the sleep
    ]
    run.advance(5)
    run.fire_timer("1")
    assert run.run_task() == [
        CancelTimer(seq=2, timer_id="2"),
        CompleteWorkflowExecution(result="gave up"),
    ]


def test_wait_for_whose_inner_sleep_wins_cancels_the_recorded_deadline_timer():
    run = MemoryRun(WaitForWorkflow)
    run.run_task()
    run.advance(100)
    run.fire_timer("2")
    assert run.run_task() == [
        CancelTimer(seq=1, timer_id="1"),
        CompleteWorkflowExecution(result="slept"),
    ]


@workflow.defn(name="EngineTestSameTaskCancel")
class SameTaskCancelWorkflow:
    @workflow.run
    async def run(self) -> str:
        # The deadline is cancelled in the task that started it: it never reaches history.
        await asyncio.wait_for(workflow.wait_condition(lambda: True), timeout=10)
        sleeper = asyncio.ensure_future(asyncio.sleep(50))
        await asyncio.sleep(0)
        sleeper.cancel()
        await asyncio.sleep(7)
        return "ok"


def test_timers_started_and_cancelled_within_one_task_never_reach_the_commands():
    run = MemoryRun(SameTaskCancelWorkflow)
    # Only the last sleep remains, and it still gets the third timer sequence number.
    assert run.run_task() == [StartTimer(seq=3, timer_id="3", duration=7.0)]
    run.advance(7)
    run.fire_timer("3")
    assert run.run_task() == [CompleteWorkflowExecution(result="ok")]
    assert run.replay().instance.closed


@pytest.mark.parametrize("duration", [0, -1])
def test_a_zero_or_negative_sleep_starts_no_timer(duration):
    @workflow.defn(name=f"EngineTestZeroSleep{duration}")
    class ZeroSleep:
        @workflow.run
        async def run(self) -> str:
            await asyncio.sleep(duration)
            return "no wait"

    run = MemoryRun(ZeroSleep)
    assert run.run_task() == [CompleteWorkflowExecution(result="no wait")]
