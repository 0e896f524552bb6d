"""Commands issued by workflow code; each is recorded as exactly one history event.

Each command class declares, once, how it is recorded (:class:`RecordedAs`): the
event type it produces and the fields that identify it, each with the event
attribute it is recorded under. Replay compares a command with a recorded event
through that declaration only: the kind of command plus the keys Temporal
compares (activity type and id, timer sequence, marker name and patch id),
never argument values, so changing an argument is not nondeterminism.

Payloads (``input``, ``result``, ``failure``) are carried in their JSON-ready form.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from .events import EventType, HistoryEvent
from .options import ActivityOptions, ChildWorkflowOptions


@dataclass(frozen=True)
class IdentityKey:
    """A command field that identifies the command, and where its event records it."""

    name: str
    #: Path into the event's attributes (``"details.patch_id"`` reads a nested key).
    attribute: str

    def of_command(self, command: Command) -> Any:
        return getattr(command, self.name)

    def of_event(self, event: HistoryEvent) -> Any:
        value: Any = event.attributes
        for part in self.attribute.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value


class RecordedAs:
    """The event a command produces, and its identity: ``field=event attribute`` pairs."""

    def __init__(self, event_type: EventType, **identity: str) -> None:
        self.event_type = event_type
        self.keys = tuple(IdentityKey(name, attribute) for name, attribute in identity.items())


@dataclass
class Command:
    """A decision of workflow code, recorded as one event (see ``recorded_as``)."""

    recorded_as: ClassVar[RecordedAs]

    @property
    def event_type(self) -> EventType:
        return self.recorded_as.event_type

    def to_attributes(self) -> dict[str, Any]:
        return asdict(self)

    def identity(self) -> tuple[Any, ...]:
        """The kind and identifying values replay compares (see :class:`RecordedAs`)."""
        return (self.event_type.value, *(key.of_command(self) for key in self.recorded_as.keys))

    @classmethod
    def identity_of(cls, event: HistoryEvent) -> tuple[Any, ...]:
        """The identity of the command of this class that produced ``event``."""
        return (event.event_type.value, *(key.of_event(event) for key in cls.recorded_as.keys))

    def describe(self) -> str:
        return _describe(self.identity())


@dataclass
class ScheduleActivityTask(Command):
    recorded_as = RecordedAs(
        EventType.ACTIVITY_TASK_SCHEDULED,
        activity_type="activity_type",
        activity_id="activity_id",
    )

    seq: int
    activity_type: str
    input: list[Any]
    options: ActivityOptions

    @property
    def activity_id(self) -> str:
        return self.options.activity_id or str(self.seq)


@dataclass
class RequestCancelActivityTask(Command):
    recorded_as = RecordedAs(
        EventType.ACTIVITY_TASK_CANCEL_REQUESTED, scheduled_event_id="scheduled_event_id"
    )

    seq: int
    scheduled_event_id: int


@dataclass
class StartTimer(Command):
    recorded_as = RecordedAs(EventType.TIMER_STARTED, timer_id="timer_id")

    seq: int
    timer_id: str
    duration: float


@dataclass
class CancelTimer(Command):
    recorded_as = RecordedAs(EventType.TIMER_CANCELED, timer_id="timer_id")

    seq: int
    timer_id: str


@dataclass
class RecordMarker(Command):
    recorded_as = RecordedAs(
        EventType.MARKER_RECORDED, marker_name="marker_name", patch_id="details.patch_id"
    )

    marker_name: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def patch_id(self) -> str | None:
        return self.details.get("patch_id")


@dataclass
class CompleteWorkflowUpdate(Command):
    """An accepted update's handler finished: with a result, or with a failure."""

    recorded_as = RecordedAs(EventType.WORKFLOW_EXECUTION_UPDATE_COMPLETED, update_id="update_id")

    update_id: str
    update_name: str
    result: Any = None
    failure: dict[str, Any] | None = None


@dataclass
class CompleteWorkflowExecution(Command):
    recorded_as = RecordedAs(EventType.WORKFLOW_EXECUTION_COMPLETED)

    result: Any


@dataclass
class FailWorkflowExecution(Command):
    recorded_as = RecordedAs(EventType.WORKFLOW_EXECUTION_FAILED)

    failure: dict[str, Any]


@dataclass
class CancelWorkflowExecution(Command):
    recorded_as = RecordedAs(EventType.WORKFLOW_EXECUTION_CANCELED)

    details: list[Any] = field(default_factory=list)


@dataclass
class ContinueAsNewWorkflowExecution(Command):
    """Close this run and start a new one with the same workflow id.

    ``task_queue``, ``memo`` and ``search_attributes`` None: the closing run's.
    """

    recorded_as = RecordedAs(EventType.WORKFLOW_EXECUTION_CONTINUED_AS_NEW)

    workflow_type: str
    input: list[Any]
    task_queue: str | None = None
    memo: dict[str, Any] | None = None
    search_attributes: dict[str, Any] | None = None


@dataclass
class StartChildWorkflowExecution(Command):
    recorded_as = RecordedAs(
        EventType.START_CHILD_WORKFLOW_EXECUTION_INITIATED,
        workflow_id="workflow_id",
        workflow_type="workflow_type",
    )

    seq: int
    workflow_type: str
    input: list[Any]
    options: ChildWorkflowOptions

    @property
    def workflow_id(self) -> str:
        return self.options.workflow_id


@dataclass
class SignalExternalWorkflowExecution(Command):
    """Signal another run (a child, or any workflow by id); delivered exactly once."""

    recorded_as = RecordedAs(
        EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        workflow_id="workflow_id",
        signal_name="signal_name",
    )

    seq: int
    workflow_id: str
    run_id: str | None
    signal_name: str
    input: list[Any]
    child_workflow_only: bool = False


@dataclass
class RequestCancelExternalWorkflowExecution(Command):
    """Ask another run (a child, or any workflow by id) to cancel; delivered exactly once."""

    recorded_as = RecordedAs(
        EventType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        workflow_id="workflow_id",
    )

    seq: int
    workflow_id: str
    run_id: str | None
    child_workflow_only: bool = False


@dataclass
class UpsertWorkflowSearchAttributes(Command):
    """Merge into the run's search attributes; a key whose value is None is removed.

    Replay compares the kind only (as Temporal does), so changing a value is not
    nondeterminism.
    """

    recorded_as = RecordedAs(EventType.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)

    search_attributes: dict[str, Any]


@dataclass
class ModifyWorkflowProperties(Command):
    """Merge into the run's memo (JSON-ready values); a key whose value is None is removed."""

    recorded_as = RecordedAs(EventType.WORKFLOW_PROPERTIES_MODIFIED)

    memo: dict[str, Any]


COMMAND_CLASSES: dict[EventType, type[Command]] = {
    cls.recorded_as.event_type: cls
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
        StartChildWorkflowExecution,
        SignalExternalWorkflowExecution,
        RequestCancelExternalWorkflowExecution,
        UpsertWorkflowSearchAttributes,
        ModifyWorkflowProperties,
    )
}

#: Events written as the direct result of a command issued by workflow code. They
#: follow the WorkflowTaskCompleted of the task that issued them, and replay
#: matches the code's commands against them one by one.
COMMAND_EVENT_TYPES = frozenset(COMMAND_CLASSES)

CLOSING_COMMANDS = (
    CompleteWorkflowExecution,
    FailWorkflowExecution,
    CancelWorkflowExecution,
    ContinueAsNewWorkflowExecution,
)


def identity_of_event(event: HistoryEvent) -> tuple[Any, ...]:
    return COMMAND_CLASSES[event.event_type].identity_of(event)


def mismatch(command: Command, event: HistoryEvent) -> str | None:
    """None if ``command`` is the one recorded as ``event``; otherwise what differs."""
    if command.event_type is not event.event_type:
        return "the kind of command differs"
    for key in command.recorded_as.keys:
        in_code, in_history = key.of_command(command), key.of_event(event)
        if in_code != in_history:
            return f"{key.name} differs: {in_history!r} in the history, {in_code!r} in the code"
    return None


def _describe(identity: tuple[Any, ...]) -> str:
    kind, *keys = identity
    return f"{kind}({', '.join(repr(k) for k in keys)})" if keys else str(kind)


def describe_event(event: HistoryEvent) -> str:
    return _describe(identity_of_event(event))
