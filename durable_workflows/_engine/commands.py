"""Commands issued by workflow code; each is recorded as exactly one history event.

``identity()`` is what replay compares against the recorded event: the kind of
command plus the keys Temporal compares (activity type and id, timer sequence,
marker id), never argument values, so changing an argument is not
nondeterminism.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from .events import EventType, HistoryEvent


@dataclass
class Command:
    event_type: ClassVar[EventType]

    def to_attributes(self) -> dict[str, Any]:
        return asdict(self)

    def identity(self) -> tuple[Any, ...]:
        return (self.event_type.value,)

    @classmethod
    def identity_of(cls, event: HistoryEvent) -> tuple[Any, ...]:
        """The identity of the command that produced ``event``."""
        return (event.event_type.value,)

    def describe(self) -> str:
        return _describe(self.identity())


@dataclass
class ScheduleActivityTask(Command):
    event_type = EventType.ACTIVITY_TASK_SCHEDULED

    seq: int
    activity_id: str
    activity_type: str
    task_queue: str | None
    input: list[Any]
    start_to_close_timeout: float | None
    schedule_to_close_timeout: float | None
    schedule_to_start_timeout: float | None
    heartbeat_timeout: float | None
    retry_policy: dict[str, Any] | None

    def identity(self) -> tuple[Any, ...]:
        return (self.event_type.value, self.activity_type, self.activity_id)

    @classmethod
    def identity_of(cls, event: HistoryEvent) -> tuple[Any, ...]:
        a = event.attributes
        return (event.event_type.value, a.get("activity_type"), a.get("activity_id"))


@dataclass
class RequestCancelActivityTask(Command):
    event_type = EventType.ACTIVITY_TASK_CANCEL_REQUESTED

    seq: int
    scheduled_event_id: int

    def identity(self) -> tuple[Any, ...]:
        return (self.event_type.value, self.scheduled_event_id)

    @classmethod
    def identity_of(cls, event: HistoryEvent) -> tuple[Any, ...]:
        return (event.event_type.value, event.attributes.get("scheduled_event_id"))


@dataclass
class StartTimer(Command):
    event_type = EventType.TIMER_STARTED

    seq: int
    timer_id: str
    duration: float

    def identity(self) -> tuple[Any, ...]:
        return (self.event_type.value, self.timer_id)

    @classmethod
    def identity_of(cls, event: HistoryEvent) -> tuple[Any, ...]:
        return (event.event_type.value, event.attributes.get("timer_id"))


@dataclass
class CancelTimer(Command):
    event_type = EventType.TIMER_CANCELED

    seq: int
    timer_id: str

    def identity(self) -> tuple[Any, ...]:
        return (self.event_type.value, self.timer_id)

    @classmethod
    def identity_of(cls, event: HistoryEvent) -> tuple[Any, ...]:
        return (event.event_type.value, event.attributes.get("timer_id"))


@dataclass
class RecordMarker(Command):
    event_type = EventType.MARKER_RECORDED

    marker_name: str
    details: dict[str, Any] = field(default_factory=dict)

    def identity(self) -> tuple[Any, ...]:
        return (self.event_type.value, self.marker_name, self.details.get("patch_id"))

    @classmethod
    def identity_of(cls, event: HistoryEvent) -> tuple[Any, ...]:
        a = event.attributes
        return (
            event.event_type.value,
            a.get("marker_name"),
            (a.get("details") or {}).get("patch_id"),
        )


@dataclass
class CompleteWorkflowUpdate(Command):
    """An accepted update's handler finished: with a result, or with a failure."""

    event_type = EventType.WORKFLOW_EXECUTION_UPDATE_COMPLETED

    update_id: str
    update_name: str
    result: Any = None
    failure: dict[str, Any] | None = None

    def identity(self) -> tuple[Any, ...]:
        return (self.event_type.value, self.update_id)

    @classmethod
    def identity_of(cls, event: HistoryEvent) -> tuple[Any, ...]:
        return (event.event_type.value, event.attributes.get("update_id"))


@dataclass
class CompleteWorkflowExecution(Command):
    event_type = EventType.WORKFLOW_EXECUTION_COMPLETED

    result: Any


@dataclass
class FailWorkflowExecution(Command):
    event_type = EventType.WORKFLOW_EXECUTION_FAILED

    failure: dict[str, Any]


@dataclass
class CancelWorkflowExecution(Command):
    event_type = EventType.WORKFLOW_EXECUTION_CANCELED

    details: list[Any] = field(default_factory=list)


@dataclass
class ContinueAsNewWorkflowExecution(Command):
    event_type = EventType.WORKFLOW_EXECUTION_CONTINUED_AS_NEW

    workflow_type: str
    task_queue: str | None
    input: list[Any]


COMMAND_CLASSES: dict[EventType, type[Command]] = {
    cls.event_type: cls
    for cls in (
        ScheduleActivityTask,
        RequestCancelActivityTask,
        StartTimer,
        CancelTimer,
        RecordMarker,
        CompleteWorkflowUpdate,
        CompleteWorkflowExecution,
        FailWorkflowExecution,
        CancelWorkflowExecution,
        ContinueAsNewWorkflowExecution,
    )
}

CLOSING_COMMANDS = (
    CompleteWorkflowExecution,
    FailWorkflowExecution,
    CancelWorkflowExecution,
    ContinueAsNewWorkflowExecution,
)


def identity_of_event(event: HistoryEvent) -> tuple[Any, ...]:
    return COMMAND_CLASSES[event.event_type].identity_of(event)


def _describe(identity: tuple[Any, ...]) -> str:
    kind, *keys = identity
    return f"{kind}({', '.join(repr(k) for k in keys)})" if keys else kind


def describe_event(event: HistoryEvent) -> str:
    return _describe(identity_of_event(event))
