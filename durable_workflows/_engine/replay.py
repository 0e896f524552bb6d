"""Replay: rebuild a run from its history, check determinism, and advance it one task.

A history is a sequence of workflow tasks. Each recorded task is::

    <activation events>  WorkflowTaskCompleted  <command events>

The activation holds everything the code had not yet seen (the start, activity
results, fired timers, signals); the command events are what the code decided.
Events after the last task's commands form the *pending* activation, which the
next workflow task processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..exceptions import DurableWorkflowsError, NondeterminismError
from .commands import COMMAND_EVENT_TYPES, Command, describe_event, mismatch
from .converter import DEFAULT_MAX_PAYLOAD_BYTES
from .definitions import WorkflowDefinition
from .events import EventType, HistoryEvent
from .instance import WorkflowInstance
from .runtime import WorkflowInfo


@dataclass
class RecordedTask:
    activation: list[HistoryEvent]
    completed: HistoryEvent
    commands: list[HistoryEvent] = field(default_factory=list)


@dataclass
class SplitHistory:
    tasks: list[RecordedTask]
    pending: list[HistoryEvent]


def split_history(events: Sequence[HistoryEvent]) -> SplitHistory:
    tasks: list[RecordedTask] = []
    activation: list[HistoryEvent] = []
    for event in events:
        if event.event_type is EventType.WORKFLOW_TASK_COMPLETED:
            tasks.append(RecordedTask(activation=activation, completed=event))
            activation = []
        elif event.event_type in COMMAND_EVENT_TYPES:
            # Command events are only written with their WorkflowTaskCompleted, so they
            # belong to the last task even when the store wrote an outcome between them
            # (ActivityTaskCanceled for an activity cancelled before any attempt started).
            if not tasks:
                raise ValueError(
                    f"Corrupt history: command event {event.event_id} ({event.event_type.value}) "
                    "does not follow a WorkflowTaskCompleted."
                )
            tasks[-1].commands.append(event)
        else:
            activation.append(event)
    return SplitHistory(tasks=tasks, pending=activation)


def new_instance(
    definition: WorkflowDefinition,
    info: WorkflowInfo,
    history: Sequence[HistoryEvent],
    *,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
) -> WorkflowInstance:
    if not history or history[0].event_type is not EventType.WORKFLOW_EXECUTION_STARTED:
        raise ValueError("A history starts with WorkflowExecutionStarted.")
    seed = int(history[0].attributes.get("randomness_seed") or 0)
    return WorkflowInstance(
        definition, info, randomness_seed=seed, max_payload_bytes=max_payload_bytes
    )


def replay_tasks(instance: WorkflowInstance, tasks: Sequence[RecordedTask]) -> None:
    """Run ``instance`` through recorded tasks, raising NondeterminismError on a mismatch."""
    instance.is_replaying = True
    try:
        for number, task in enumerate(tasks, start=1):
            commands = instance.activate(
                task.activation, task.completed.timestamp, recorded_commands=task.commands
            )
            _match(number, task, commands, instance)
    finally:
        instance.is_replaying = False


def _match(
    number: int, task: RecordedTask, commands: list[Command], instance: WorkflowInstance
) -> None:
    recorded = task.commands
    for index in range(max(len(commands), len(recorded))):
        command = commands[index] if index < len(commands) else None
        event = recorded[index] if index < len(recorded) else None
        if command is not None and event is not None:
            difference = mismatch(command, event)
            if difference is None:
                instance.bind(command, event)
                continue
            detail = (
                f"the history has {describe_event(event)} at event {event.event_id}, "
                f"but the code issued {command.describe()} ({difference})"
            )
        elif command is not None:
            detail = f"the code issued {command.describe()}, which the history does not have"
        else:
            assert event is not None
            detail = (
                f"the history has {describe_event(event)} at event {event.event_id}, "
                "which the code no longer issues"
            )
        where = f"workflow task {number} (completed at event {task.completed.event_id})"
        raise NondeterminismError(
            f"Nondeterminism in {instance.definition.name} ({instance.info.workflow_id}), "
            f"{where}: {detail}. Deploy code that matches the history (use workflow.patched() "
            "to change running workflows safely); the run stays RUNNING until then."
        )


@dataclass
class TaskResult:
    commands: list[Command]
    instance: WorkflowInstance


def run_workflow_task(
    definition: WorkflowDefinition,
    info: WorkflowInfo,
    history: Sequence[HistoryEvent],
    now: datetime,
    *,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
) -> TaskResult:
    """Replay ``history`` and process its pending activation at time ``now``.

    Raises:
        NondeterminismError: the code does not match the recorded commands.
        WorkflowTaskError: workflow code raised a non-failure exception.
    """
    split = split_history(history)
    instance = new_instance(definition, info, history, max_payload_bytes=max_payload_bytes)
    replay_tasks(instance, split.tasks)
    commands = instance.activate(split.pending, now) if not instance.closed else []
    return TaskResult(commands=commands, instance=instance)


class CacheMissError(DurableWorkflowsError):
    """The events after a cached instance's last task are not what it expects: replay fully."""


def continue_workflow_task(
    instance: WorkflowInstance,
    issued: Sequence[Command],
    new_events: Sequence[HistoryEvent],
    now: datetime,
) -> TaskResult:
    """Advance an instance kept in memory since it ran the previous task (a sticky cache).

    ``issued`` are the commands that task returned and ``new_events`` every event recorded
    after the last one the instance saw: that task's WorkflowTaskCompleted and command
    events, then the new activation. The commands are bound to their events (and checked
    against them, as replay does), then the activation runs at ``now``. The cost is that
    of the new events, whatever the length of the history.

    Raises:
        CacheMissError: ``new_events`` do not continue from the instance (the caller
            replays from scratch instead; nothing of the instance may be reused).
        WorkflowTaskError: as :func:`run_workflow_task`.
    """
    try:
        split = split_history(new_events)
    except ValueError as exc:
        raise CacheMissError(str(exc)) from exc
    if len(split.tasks) != 1 or split.tasks[0].activation or instance.closed:
        raise CacheMissError("The history does not continue from the cached instance.")
    try:
        _match(0, split.tasks[0], list(issued), instance)
    except NondeterminismError as exc:
        raise CacheMissError(str(exc)) from exc
    commands = instance.activate(split.pending, now) if not instance.closed else []
    return TaskResult(commands=commands, instance=instance)


def replay_for_query(
    definition: WorkflowDefinition,
    info: WorkflowInfo,
    history: Sequence[HistoryEvent],
    *,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
) -> WorkflowInstance:
    """Rebuild the state as of the last completed workflow task (read-only)."""
    split = split_history(history)
    instance = new_instance(definition, info, history, max_payload_bytes=max_payload_bytes)
    if split.tasks:
        replay_tasks(instance, split.tasks)
    else:
        # No task has run yet: the object exists, run() has not begun.
        instance.instantiate(history[0].attributes.get("input") or [])
    return instance
