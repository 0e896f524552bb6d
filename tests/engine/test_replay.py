"""Replay: the same history always gives the same decisions; a different decision is caught."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

import pytest

from durable_workflows import activity, workflow
from durable_workflows._engine import (
    CompleteWorkflowExecution,
    EventType,
    RecordMarker,
    ScheduleActivityTask,
    StartTimer,
)
from durable_workflows.exceptions import NondeterminismError

from .memory import T0, MemoryRun, identities, kinds, unregistered

TIMEOUT = timedelta(seconds=30)


@activity.defn(name="EngineTestStep")
def step(label: str) -> str:
    return label.upper()


@activity.defn(name="EngineTestOtherStep")
def other_step(label: str) -> str:
    return label


# --- replay from scratch ----------------------------------------------------------------


@workflow.defn(name="EngineTestMixed")
class MixedWorkflow:
    @workflow.run
    async def run(self, name: str) -> dict[str, object]:
        first, second = await asyncio.gather(
            workflow.execute_activity(step, f"{name}-a", start_to_close_timeout=TIMEOUT),
            workflow.execute_activity(step, f"{name}-b", start_to_close_timeout=TIMEOUT),
        )
        await asyncio.sleep(60)
        token = str(workflow.uuid4())
        third = await workflow.execute_activity(step, token, start_to_close_timeout=TIMEOUT)
        return {"results": [first, second, third], "token": token, "at": workflow.now()}


def drive_mixed(run: MemoryRun) -> list[list[dict[str, object]]]:
    """Run MixedWorkflow to completion; return each task's commands as recorded data."""
    recorded = [[c.to_attributes() for c in run.run_task()]]
    run.advance(1)
    run.complete_activity("1", "X-A")
    run.complete_activity("2", "X-B")
    recorded.append([c.to_attributes() for c in run.run_task()])
    run.advance(60)
    run.fire_timer("1")
    recorded.append([c.to_attributes() for c in run.run_task()])
    run.advance(2)
    run.complete_activity("3", "T")
    recorded.append([c.to_attributes() for c in run.run_task()])
    return recorded


def test_replay_from_scratch_reproduces_every_recorded_task_exactly():
    run = MemoryRun(MixedWorkflow, "x")
    recorded = drive_mixed(run)
    assert run.result["results"] == ["X-A", "X-B", "T"]

    task_boundaries = [
        i for i, e in enumerate(run.events) if e.event_type is EventType.WORKFLOW_TASK_COMPLETED
    ]
    assert len(task_boundaries) == len(recorded) == 4
    for number, index in enumerate(task_boundaries):
        # The history as the worker saw it just before this task, replayed at that task's time.
        replayed = run.replay(events=run.events[:index], at=run.events[index].timestamp)
        assert [c.to_attributes() for c in replayed.commands] == recorded[number], number


def test_replaying_a_closed_history_issues_no_commands_and_rebuilds_the_state():
    run = MemoryRun(MixedWorkflow, "x")
    drive_mixed(run)
    run.advance(3600)
    replayed = run.replay()
    assert replayed.commands == []
    assert replayed.instance.closed


def test_the_same_history_twice_gives_equal_commands():
    run = MemoryRun(MixedWorkflow, "x")
    run.run_task()
    run.complete_activity("1", "A")
    run.complete_activity("2", "B")
    first = [c.to_attributes() for c in run.replay().commands]
    second = [c.to_attributes() for c in run.replay().commands]
    assert first == second == [StartTimer(seq=1, timer_id="1", duration=60.0).to_attributes()]


# --- gather ---------------------------------------------------------------------------


@workflow.defn(name="EngineTestGather")
class GatherWorkflow:
    @workflow.run
    async def run(self, labels: list[str]) -> list[str]:
        return list(
            await asyncio.gather(
                *(
                    workflow.execute_activity(step, label, start_to_close_timeout=TIMEOUT)
                    for label in labels
                )
            )
        )


def test_gather_schedules_every_activity_in_one_task_and_returns_results_in_call_order():
    run = MemoryRun(GatherWorkflow, ["a", "b", "c"])
    commands = run.run_task()
    assert kinds(commands) == ["ScheduleActivityTask"] * 3
    assert [(c.activity_id, c.input) for c in commands] == [
        ("1", ["a"]),
        ("2", ["b"]),
        ("3", ["c"]),
    ]

    # Results arrive in reverse order, over two tasks.
    run.complete_activity("3", "C")
    assert run.run_task() == []
    run.complete_activity("2", "B")
    run.complete_activity("1", "A")
    assert kinds(run.run_task()) == ["CompleteWorkflowExecution"]
    assert run.result == ["A", "B", "C"]


# --- nondeterminism -------------------------------------------------------------------


@workflow.defn(name="EngineTestTwoSteps")
class TwoStepsWorkflow:
    @workflow.run
    async def run(self, label: str) -> str:
        a = await workflow.execute_activity(step, label, start_to_close_timeout=TIMEOUT)
        b = await workflow.execute_activity(other_step, a, start_to_close_timeout=TIMEOUT)
        return a + b


class TwoStepsSwapped:
    """TwoStepsWorkflow after a bad deploy: the steps' order is swapped."""

    @workflow.run
    async def run(self, label: str) -> str:
        b = await workflow.execute_activity(other_step, label, start_to_close_timeout=TIMEOUT)
        a = await workflow.execute_activity(step, b, start_to_close_timeout=TIMEOUT)
        return a + b


class TwoStepsNewArguments:
    """TwoStepsWorkflow after a harmless deploy: other argument values, same steps."""

    @workflow.run
    async def run(self, label: str) -> str:
        a = await workflow.execute_activity(step, label + "!", start_to_close_timeout=TIMEOUT)
        b = await workflow.execute_activity(
            other_step, a * 2, start_to_close_timeout=timedelta(minutes=5)
        )
        return a + b


class TwoStepsWithTimer:
    """TwoStepsWorkflow after a bad deploy: a sleep where the first activity was."""

    @workflow.run
    async def run(self, label: str) -> str:
        await asyncio.sleep(5)
        return label


class TwoStepsOneMore:
    """TwoStepsWorkflow after a bad deploy: one more activity in the first task."""

    @workflow.run
    async def run(self, label: str) -> str:
        a, _ = await asyncio.gather(
            workflow.execute_activity(step, label, start_to_close_timeout=TIMEOUT),
            workflow.execute_activity(step, label, start_to_close_timeout=TIMEOUT),
        )
        return a


class TwoStepsNone:
    """TwoStepsWorkflow after a bad deploy: waits for a signal instead of the first step."""

    @workflow.run
    async def run(self, label: str) -> str:
        await workflow.wait_condition(lambda: False)
        return label


def recorded_two_steps() -> MemoryRun:
    run = MemoryRun(TwoStepsWorkflow, "go")
    run.run_task()
    run.complete_activity("1", "GO")
    return run


def test_changing_the_activity_type_between_tasks_is_nondeterminism_naming_event_and_command():
    run = recorded_two_steps()
    with pytest.raises(NondeterminismError) as caught:
        run.run_task(unregistered(TwoStepsSwapped, "EngineTestTwoSteps"))
    message = str(caught.value)
    assert "EngineTestTwoSteps" in message
    assert "workflow task 1" in message
    assert "the history has ActivityTaskScheduled('EngineTestStep', '1') at event 3" in message
    assert "the code issued ActivityTaskScheduled('EngineTestOtherStep', '1')" in message
    assert "workflow.patched()" in message


def test_a_timer_where_history_has_an_activity_is_nondeterminism():
    run = recorded_two_steps()
    with pytest.raises(NondeterminismError) as caught:
        run.replay(unregistered(TwoStepsWithTimer, "EngineTestTwoSteps"))
    assert "ActivityTaskScheduled('EngineTestStep', '1') at event 3" in str(caught.value)
    assert "the code issued TimerStarted('1')" in str(caught.value)


def test_an_extra_command_or_a_missing_command_is_nondeterminism():
    run = recorded_two_steps()
    with pytest.raises(
        NondeterminismError,
        match=r"ActivityTaskScheduled\('EngineTestStep', '2'\), "
        "which the history does not have",
    ):
        run.replay(unregistered(TwoStepsOneMore, "EngineTestTwoSteps"))
    with pytest.raises(NondeterminismError, match=r"at event 3, which the code no longer issues"):
        run.replay(unregistered(TwoStepsNone, "EngineTestTwoSteps"))


def test_swapping_the_order_of_gathered_activities_is_nondeterminism():
    class GatherSwapped:
        @workflow.run
        async def run(self, labels: list[str]) -> list[str]:
            b, a = await asyncio.gather(
                workflow.execute_activity(other_step, labels[1], start_to_close_timeout=TIMEOUT),
                workflow.execute_activity(step, labels[0], start_to_close_timeout=TIMEOUT),
            )
            return [a, b]

    run = MemoryRun(GatherWorkflow, ["a", "b"])
    run.run_task()
    with pytest.raises(NondeterminismError, match="EngineTestOtherStep"):
        run.replay(unregistered(GatherSwapped, "EngineTestGather"))


def test_changing_only_argument_values_and_options_is_not_nondeterminism():
    run = recorded_two_steps()
    new_code = unregistered(TwoStepsNewArguments, "EngineTestTwoSteps")
    commands = run.run_task(new_code)
    assert identities(commands) == [("ActivityTaskScheduled", "EngineTestOtherStep", "2")]
    # The new code's own arguments go into the new command; the recorded one is kept.
    assert commands[0].input == ["GOGO"]
    assert commands[0].options.start_to_close_timeout == 300.0
    assert run.of_type(EventType.ACTIVITY_TASK_SCHEDULED)[0].attributes["input"] == ["go"]
    run.complete_activity("2", "x")
    run.run_task(new_code)
    assert run.result == "GOx"


# --- time, randomness, logging ------------------------------------------------------------


@workflow.defn(name="EngineTestClock")
class ClockWorkflow:
    def __init__(self) -> None:
        self.seen: list[tuple[object, float]] = []

    def look(self) -> None:
        self.seen.append((workflow.now(), workflow.time()))

    @workflow.run
    async def run(self) -> list[str]:
        self.look()
        await workflow.execute_activity("EngineTestNoop", start_to_close_timeout=TIMEOUT)
        self.look()
        await asyncio.sleep(10)
        self.look()
        return [now.isoformat() for now, _ in self.seen]


def test_now_and_time_are_the_time_of_the_task_that_is_replayed():
    run = MemoryRun(ClockWorkflow)
    run.run_task()  # at T0
    run.advance(5)
    run.complete_activity("1")
    run.advance(2)
    run.run_task()  # at T0 + 7 s
    run.advance(10)
    run.fire_timer("1")
    run.advance(3)
    run.run_task()  # at T0 + 20 s
    expected = [T0, T0 + timedelta(seconds=7), T0 + timedelta(seconds=20)]
    assert run.result == [t.isoformat() for t in expected]

    run.advance(86_400)
    replayed = run.replay()  # a day later, from scratch
    seen = replayed.instance.workflow.seen
    assert [now for now, _ in seen] == expected
    assert [t for _, t in seen] == [now.timestamp() for now in expected]
    assert all(now.utcoffset() == timedelta(0) for now, _ in seen)


@workflow.defn(name="EngineTestRandom")
class RandomWorkflow:
    def __init__(self) -> None:
        self.draws: list[object] = []

    @workflow.run
    async def run(self) -> list[object]:
        self.draws += [workflow.random().random(), str(workflow.uuid4())]
        await workflow.execute_activity("EngineTestNoop", start_to_close_timeout=TIMEOUT)
        self.draws += [workflow.random().randint(0, 10**9), str(workflow.uuid4())]
        return self.draws


def random_draws(seed: int) -> list[object]:
    """The run's draws; checks that the second task's replay redrew the first task's."""
    run = MemoryRun(RandomWorkflow, seed=seed)
    run.run_task()
    first_task = list(run.instance.workflow.draws)
    run.complete_activity("1")
    run.run_task()
    assert run.result[:2] == first_task
    return run.result


def test_random_and_uuid4_are_identical_across_replays_and_runs_with_the_same_seed():
    result = random_draws(seed=99)
    again = random_draws(seed=99)
    assert result == again
    assert uuid.UUID(result[1]).version == 4
    assert uuid.UUID(result[3]).version == 4
    assert result[1] != result[3]


def test_random_and_uuid4_differ_between_different_seeds():
    one = random_draws(seed=1)
    two = random_draws(seed=2)
    assert one[0] != two[0]
    assert one[1] != two[1]
    assert one[3] != two[3]


@workflow.defn(name="EngineTestLogging")
class LoggingWorkflow:
    @workflow.run
    async def run(self) -> str:
        workflow.logger.info("before the activity")
        await workflow.execute_activity("EngineTestNoop", start_to_close_timeout=TIMEOUT)
        workflow.logger.info("after the activity, replaying=%s", workflow.unsafe.is_replaying())
        return "done"


def test_workflow_logger_is_silent_while_replaying(caplog):
    caplog.set_level(logging.INFO, logger="durable_workflows.workflow")
    run = MemoryRun(LoggingWorkflow)
    run.run_task()
    run.complete_activity("1")
    run.run_task()  # replays "before the activity", then logs the new line
    run.replay()  # replays everything, logs nothing
    messages = [r.getMessage() for r in caplog.records if r.name == "durable_workflows.workflow"]
    assert messages == [
        "before the activity (EngineTestLogging engine-test-wf)",
        "after the activity, replaying=False (EngineTestLogging engine-test-wf)",
    ]
    assert caplog.records[0].workflow_id == "engine-test-wf"


# --- versioning -------------------------------------------------------------------------


class PatchV1:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(step, "old", start_to_close_timeout=TIMEOUT)


class PatchV2:
    @workflow.run
    async def run(self) -> str:
        if workflow.patched("use-other-step"):
            return await workflow.execute_activity(
                other_step, "new", start_to_close_timeout=TIMEOUT
            )
        return await workflow.execute_activity(step, "old", start_to_close_timeout=TIMEOUT)


class PatchV3:
    @workflow.run
    async def run(self) -> str:
        workflow.deprecate_patch("use-other-step")
        return await workflow.execute_activity(other_step, "new", start_to_close_timeout=TIMEOUT)


V1 = unregistered(PatchV1, "EngineTestPatch")
V2 = unregistered(PatchV2, "EngineTestPatch")
V3 = unregistered(PatchV3, "EngineTestPatch")


def test_patched_is_true_for_a_new_run_and_records_a_marker():
    run = MemoryRun(V2)
    commands = run.run_task()
    assert commands[0] == RecordMarker(
        marker_name="core_patch", details={"patch_id": "use-other-step", "deprecated": False}
    )
    assert isinstance(commands[1], ScheduleActivityTask)
    assert commands[1].activity_type == "EngineTestOtherStep"
    run.complete_activity("1", "n")
    assert run.run_task() == [CompleteWorkflowExecution(result="n")]
    # And the marker makes replay take the new branch again.
    assert run.replay().instance.closed


def test_patched_is_false_when_replaying_a_history_recorded_before_the_patch():
    run = MemoryRun(V1)
    run.run_task()
    run.complete_activity("1", "o")
    commands = run.run_task(V2)  # the deploy happened while the activity ran
    assert commands == [CompleteWorkflowExecution(result="o")]
    assert run.of_type(EventType.MARKER_RECORDED) == []


def test_deprecate_patch_replays_histories_with_the_marker_and_records_none_for_new_runs():
    patched_run = MemoryRun(V2)
    patched_run.run_task()
    patched_run.complete_activity("1", "n")
    assert patched_run.run_task(V3) == [CompleteWorkflowExecution(result="n")]

    new_run = MemoryRun(V3)
    assert kinds(new_run.run_task()) == ["ScheduleActivityTask"]


def test_an_instance_awaits_an_activity_only_while_one_is_out():
    run = MemoryRun(TwoStepsWorkflow, "x")
    run.run_task()
    assert run.instance.awaits_activity  # the first step is out
    run.complete_activity("1", "a")
    run.run_task()
    assert run.instance.awaits_activity  # the second step is out
    run.complete_activity("2", "b")
    run.run_task()
    assert not run.instance.awaits_activity and run.close_event is not None
