"""The engine's vocabulary is declared once: every event is handled, every command identified."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from datetime import timedelta

import pytest

from durable_workflows import workflow
from durable_workflows._engine import (
    COMMAND_EVENT_TYPES,
    ActivityOptions,
    EventType,
    ScheduleActivityTask,
    split_history,
)
from durable_workflows._engine.commands import COMMAND_CLASSES, identity_of_event, mismatch
from durable_workflows._engine.instance import EVENT_HANDLERS, matched_by_replay
from durable_workflows.exceptions import NondeterminismError

from .memory import MemoryRun, kinds, unregistered

TIMEOUT = timedelta(seconds=30)


# --- events -----------------------------------------------------------------------------


def test_every_event_type_has_a_handler_or_an_explicit_no_handling_entry():
    missing = sorted(t.value for t in EventType if t not in EVENT_HANDLERS)
    assert missing == [], f"EVENT_HANDLERS has no entry for {missing}"


def test_command_events_are_left_to_replay_matching_and_no_other_event_is():
    matched = {t for t, handler in EVENT_HANDLERS.items() if handler is matched_by_replay}
    assert matched == COMMAND_EVENT_TYPES


# --- commands ---------------------------------------------------------------------------


def test_each_command_class_produces_its_own_event_type():
    assert set(COMMAND_CLASSES) == COMMAND_EVENT_TYPES
    for event_type, cls in COMMAND_CLASSES.items():
        assert cls.recorded_as.event_type is event_type


@pytest.mark.parametrize("cls", list(COMMAND_CLASSES.values()), ids=lambda c: c.__name__)
def test_identity_fields_are_attributes_of_the_command(cls):
    field_names = {f.name for f in dataclasses.fields(cls)}
    for key in cls.recorded_as.keys:
        assert key.name in field_names or isinstance(getattr(cls, key.name, None), property)


@workflow.defn(name="EngineTestEveryCommand")
class EveryCommandWorkflow:
    def __init__(self) -> None:
        self.go = False

    @workflow.update
    def proceed(self) -> str:
        self.go = True
        return "ok"

    @workflow.run
    async def run(self) -> str:
        workflow.patched("every-command")
        workflow.upsert_search_attributes({"Stage": "booking"})
        workflow.upsert_memo({"note": "booking"})
        handle = workflow.start_activity(
            "EngineTestBook", start_to_close_timeout=TIMEOUT, activity_id="book"
        )
        child = asyncio.ensure_future(
            workflow.start_child_workflow("EngineTestChild", id="child-1")
        )
        self.requests = [
            asyncio.ensure_future(workflow.get_external_workflow_handle("other").signal("poke")),
            asyncio.ensure_future(workflow.get_external_workflow_handle("another").cancel()),
        ]
        await workflow.wait_condition(lambda: self.go, timeout=timedelta(hours=1))
        child.cancel()
        handle.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await handle
        return "done"


def test_a_command_and_the_event_recorded_for_it_have_the_same_identity():
    run = MemoryRun(EveryCommandWorkflow)
    issued = [run.run_task()]
    run.start_activity("book")
    run.append(
        EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        {"update_id": "u-1", "update_name": "proceed", "input": []},
    )
    issued.append(run.run_task())
    assert {kind for task in issued for kind in kinds(task)} == {
        cls.__name__ for cls in COMMAND_CLASSES.values()
    } - {"FailWorkflowExecution", "CancelWorkflowExecution", "ContinueAsNewWorkflowExecution"}

    recorded = split_history(run.events).tasks
    for commands, task in zip(issued, recorded, strict=True):
        assert len(commands) == len(task.commands)
        for command, event in zip(commands, task.commands, strict=True):
            assert mismatch(command, event) is None
            assert command.identity() == identity_of_event(event)
    assert run.replay().instance.closed


# --- nondeterminism names what differs -------------------------------------------------------


class _Book:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(
            "EngineTestBook", start_to_close_timeout=TIMEOUT, activity_id="book"
        )


class _BookUnderAnotherId:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(
            "EngineTestBook", start_to_close_timeout=TIMEOUT, activity_id="reserve"
        )


class _Charge:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(
            "EngineTestCharge", start_to_close_timeout=TIMEOUT, activity_id="book"
        )


class _Sleep:
    @workflow.run
    async def run(self) -> None:
        await asyncio.sleep(5)


class _PatchedOneAndTwo:
    @workflow.run
    async def run(self) -> None:
        workflow.patched("one")
        workflow.patched("two")


class _PatchedTwoOnly:
    @workflow.run
    async def run(self) -> None:
        workflow.patched("two")


@pytest.mark.parametrize(
    ("recorded", "deployed", "expected"),
    [
        (_Book, _BookUnderAnotherId, "(activity_id differs: 'book' in the history, 'reserve'"),
        (_Book, _Charge, "(activity_type differs: 'EngineTestBook' in the history"),
        (_Book, _Sleep, "(the kind of command differs)"),
        (_PatchedOneAndTwo, _PatchedTwoOnly, "(patch_id differs: 'one' in the history, 'two'"),
    ],
    ids=["activity id", "activity type", "kind", "patch id"],
)
def test_nondeterminism_names_the_field_that_differs(recorded, deployed, expected):
    run = MemoryRun(unregistered(recorded, "EngineTestVocabulary"))
    run.run_task()
    with pytest.raises(NondeterminismError) as caught:
        run.replay(unregistered(deployed, "EngineTestVocabulary"))
    assert expected in str(caught.value)


# --- activity options ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "start_to_close_timeout",
        "schedule_to_close_timeout",
        "schedule_to_start_timeout",
        "heartbeat_timeout",
    ],
)
@pytest.mark.parametrize("value", [0.0, -1.0])
def test_activity_options_refuse_a_timeout_that_is_not_positive(name, value):
    with pytest.raises(ValueError, match=f"{name} must be positive"):
        ActivityOptions(**{name: value})


@workflow.defn(name="EngineTestOptions")
class OptionsWorkflow:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(
            "EngineTestBook",
            task_queue="slow",
            start_to_close_timeout=timedelta(minutes=1),
            heartbeat_timeout=timedelta(seconds=5),
        )


def test_the_schedule_command_carries_the_options_the_code_passed_in_seconds():
    (command,) = MemoryRun(OptionsWorkflow).run_task()
    assert isinstance(command, ScheduleActivityTask)
    assert command.options == ActivityOptions(
        task_queue="slow", start_to_close_timeout=60.0, heartbeat_timeout=5.0
    )
    assert command.activity_id == "1"  # none was given: its sequence number
    assert (command.options.task_queue, command.options.start_to_close_timeout) == ("slow", 60.0)
