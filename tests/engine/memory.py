"""An in-memory stand-in for the store: drives the engine over a history kept in a list.

It records what ``durable_workflows._store`` records, with the same attributes, so
the engine sees the histories it sees in production:

* a workflow task appends ``WorkflowTaskCompleted`` and then one event per command;
* an activity outcome appends ``ActivityTaskStarted`` and then the closing event
  (``ActivityTaskCompleted`` / ``Failed`` / ``TimedOut`` / ``Canceled``) carrying
  ``scheduled_event_id``, ``started_event_id`` and ``attempt``;
* cancelling an activity that no attempt has started appends ``ActivityTaskCanceled``
  right after ``ActivityTaskCancelRequested``, in the same task, as the store does;
* a fired timer appends ``TimerFired`` with ``timer_id`` and ``started_event_id``.

No database, no broker: a test moves the clock, resolves work, and runs tasks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from durable_workflows import workflow
from durable_workflows._engine import (
    CacheMissError,
    CancelTimer,
    CancelWorkflowExecution,
    Command,
    CompleteWorkflowExecution,
    EventType,
    FailWorkflowExecution,
    HistoryEvent,
    ModifyWorkflowProperties,
    RecordMarker,
    RequestCancelActivityTask,
    RequestCancelExternalWorkflowExecution,
    ScheduleActivityTask,
    SignalExternalWorkflowExecution,
    StartChildWorkflowExecution,
    StartTimer,
    TaskResult,
    UpsertWorkflowSearchAttributes,
    WorkflowDefinition,
    WorkflowInfo,
    continue_workflow_task,
    failure_from_exception,
    run_workflow_task,
    to_json,
)
from durable_workflows._engine.converter import DEFAULT_MAX_PAYLOAD_BYTES
from durable_workflows.exceptions import CancelledError, RetryState

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

#: What the store puts in ActivityTaskScheduled when the command leaves it open.
DEFAULT_START_TO_CLOSE = 600.0
DEFAULT_RETRY_POLICY = {
    "initial_interval": 1.0,
    "backoff_coefficient": 2.0,
    "maximum_interval": None,
    "maximum_attempts": 0,
    "non_retryable_error_types": [],
}


#: How ``run_task`` runs a workflow task: "cold" replays the whole history (a worker that
#: never saw the run), "warm" continues the instance of the previous task (the sticky
#: cache). ``conftest.py`` runs every engine test both ways; both must pass.
MODE = "cold"


class MemoryRun:
    """One workflow run whose history lives in ``self.events``."""

    def __init__(
        self,
        workflow_cls: Any,
        *args: Any,
        seed: int = 1234,
        workflow_id: str = "engine-test-wf",
        start: datetime = T0,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        search_attributes: dict[str, Any] | None = None,
        memo: dict[str, Any] | None = None,
    ) -> None:
        self.definition = as_definition(workflow_cls)
        self.clock = start
        self.max_payload_bytes = max_payload_bytes
        self.info = WorkflowInfo(
            workflow_id=workflow_id,
            run_id=f"{workflow_id}-run",
            workflow_type=self.definition.name,
            task_queue="default",
            start_time=start,
        )
        self.events: list[HistoryEvent] = []
        self.instance: Any = None
        self._cached: tuple[Any, list[Command], int] | None = None
        self._started_attempts: set[int] = set()
        self._open_activities: set[int] = set()
        self._pending_timers: dict[str, int] = {}
        self.append(
            EventType.WORKFLOW_EXECUTION_STARTED,
            {
                "workflow_type": self.definition.name,
                "task_queue": "default",
                "input": to_json(list(args)),
                "execution_timeout": None,
                "randomness_seed": seed,
                "search_attributes": dict(search_attributes or {}),
                "memo": dict(memo or {}),
            },
        )
        #: The run's row as the store keeps it: upserts merged in.
        self.search_attributes: dict[str, Any] = dict(search_attributes or {})
        self.memo: dict[str, Any] = dict(memo or {})

    # --- history -----------------------------------------------------------------------

    def append(self, event_type: EventType, attributes: dict[str, Any]) -> HistoryEvent:
        event = HistoryEvent(len(self.events) + 1, event_type, self.clock, attributes)
        self.events.append(event)
        return event

    def advance(self, seconds: float) -> datetime:
        self.clock += timedelta(seconds=seconds)
        return self.clock

    def of_type(self, event_type: EventType) -> list[HistoryEvent]:
        return [e for e in self.events if e.event_type is event_type]

    def types(self) -> list[str]:
        return [e.event_type.value for e in self.events]

    @property
    def close_event(self) -> HistoryEvent | None:
        last = self.events[-1]
        closing = {
            EventType.WORKFLOW_EXECUTION_COMPLETED,
            EventType.WORKFLOW_EXECUTION_FAILED,
            EventType.WORKFLOW_EXECUTION_CANCELED,
        }
        return last if last.event_type in closing else None

    @property
    def result(self) -> Any:
        event = self.close_event
        assert event is not None and event.event_type is EventType.WORKFLOW_EXECUTION_COMPLETED, (
            f"the run has not completed: {self.types()}"
        )
        return event.attributes["result"]

    @property
    def failure(self) -> dict[str, Any]:
        event = self.close_event
        assert event is not None and event.event_type is EventType.WORKFLOW_EXECUTION_FAILED, (
            f"the run has not failed: {self.types()}"
        )
        return event.attributes["failure"]

    # --- workflow tasks ----------------------------------------------------------------

    def replay(
        self,
        definition: Any = None,
        *,
        events: list[HistoryEvent] | None = None,
        at: datetime | None = None,
    ) -> TaskResult:
        """Run a workflow task over the history (or ``events``) without recording anything."""
        return run_workflow_task(
            as_definition(definition) if definition is not None else self.definition,
            self.info,
            list(self.events if events is None else events),
            at or self.clock,
            max_payload_bytes=self.max_payload_bytes,
        )

    def run_task(self, definition: Any = None) -> list[Command]:
        """Run one workflow task, as the worker does, and record its outcome.

        In the ``warm`` mode (see :data:`MODE`) the task continues the instance kept from
        the previous task, as a worker's sticky cache does; otherwise it replays it all.
        """
        cached, self._cached = self._cached, None
        if MODE == "warm" and definition is None and cached is not None:
            instance, issued, seen = cached
            try:
                result = continue_workflow_task(instance, issued, self.events[seen:], self.clock)
            except CacheMissError:
                result = self.replay(definition)
        else:
            result = self.replay(definition)
        self.instance = result.instance
        seen = len(self.events)
        self.append(EventType.WORKFLOW_TASK_COMPLETED, {})
        for command in result.commands:
            self._record(command)
        if not result.instance.closed:
            self._cached = (result.instance, result.commands, seen)
        return result.commands

    def _record(self, command: Command) -> None:
        if isinstance(command, ScheduleActivityTask):
            options = command.options
            start_to_close = options.start_to_close_timeout
            if start_to_close is None and options.schedule_to_close_timeout is None:
                start_to_close = DEFAULT_START_TO_CLOSE
            event = self.append(
                EventType.ACTIVITY_TASK_SCHEDULED,
                {
                    "activity_id": command.activity_id,
                    "activity_type": command.activity_type,
                    "task_queue": options.task_queue or self.info.task_queue,
                    "input": command.input,
                    "start_to_close_timeout": start_to_close,
                    "schedule_to_close_timeout": options.schedule_to_close_timeout,
                    "schedule_to_start_timeout": options.schedule_to_start_timeout,
                    "heartbeat_timeout": options.heartbeat_timeout,
                    "retry_policy": options.retry_policy or DEFAULT_RETRY_POLICY,
                },
            )
            self._open_activities.add(event.event_id)
        elif isinstance(command, RequestCancelActivityTask):
            scheduled = command.scheduled_event_id
            self.append(EventType.ACTIVITY_TASK_CANCEL_REQUESTED, {"scheduled_event_id": scheduled})
            if scheduled in self._open_activities and scheduled not in self._started_attempts:
                # No attempt is running: the store cancels it on the spot.
                self._open_activities.discard(scheduled)
                self.append(
                    EventType.ACTIVITY_TASK_CANCELED,
                    {
                        "scheduled_event_id": scheduled,
                        "started_event_id": None,
                        "attempt": 1,
                        "failure": failure_from_exception(
                            CancelledError("Activity cancelled before it started")
                        ),
                    },
                )
        elif isinstance(command, StartTimer):
            event = self.append(
                EventType.TIMER_STARTED,
                {"timer_id": command.timer_id, "duration": command.duration},
            )
            self._pending_timers[command.timer_id] = event.event_id
        elif isinstance(command, CancelTimer):
            started = self._pending_timers.pop(command.timer_id, None)
            self.append(
                EventType.TIMER_CANCELED,
                {"timer_id": command.timer_id, "started_event_id": started},
            )
        elif isinstance(command, RecordMarker):
            self.append(
                EventType.MARKER_RECORDED,
                {"marker_name": command.marker_name, "details": command.details},
            )
        elif isinstance(command, CompleteWorkflowExecution):
            self.append(EventType.WORKFLOW_EXECUTION_COMPLETED, {"result": command.result})
        elif isinstance(command, FailWorkflowExecution):
            self.append(EventType.WORKFLOW_EXECUTION_FAILED, {"failure": command.failure})
        elif isinstance(command, CancelWorkflowExecution):
            self.append(EventType.WORKFLOW_EXECUTION_CANCELED, {"details": command.details})
        elif isinstance(command, StartChildWorkflowExecution):
            self.append(
                EventType.START_CHILD_WORKFLOW_EXECUTION_INITIATED,
                {
                    "workflow_id": command.workflow_id,
                    "workflow_type": command.workflow_type,
                    "input": command.input,
                },
            )
        elif isinstance(command, UpsertWorkflowSearchAttributes):
            self.append(
                EventType.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
                {"search_attributes": command.search_attributes},
            )
            for name, value in command.search_attributes.items():
                if value is None or value == []:
                    self.search_attributes.pop(name, None)
                else:
                    self.search_attributes[name] = value
        elif isinstance(command, ModifyWorkflowProperties):
            self.append(EventType.WORKFLOW_PROPERTIES_MODIFIED, {"memo": command.memo})
            for name, value in command.memo.items():
                if value is None:
                    self.memo.pop(name, None)
                else:
                    self.memo[name] = value
        elif isinstance(
            command, SignalExternalWorkflowExecution | RequestCancelExternalWorkflowExecution
        ):
            attributes = command.to_attributes()
            del attributes["seq"]
            self.append(command.event_type, attributes)
        else:
            # Anything newer: record it as the command describes itself.
            self.append(command.event_type, command.to_attributes())

    # --- the outside world ---------------------------------------------------------------

    def scheduled_event_id(self, activity_id: str) -> int:
        matches = [
            e.event_id
            for e in self.of_type(EventType.ACTIVITY_TASK_SCHEDULED)
            if e.attributes["activity_id"] == activity_id
        ]
        assert matches, f"no activity {activity_id!r} was scheduled: {self.types()}"
        return matches[-1]

    def start_activity(self, activity_id: str) -> None:
        """An attempt is running (the store writes no event until it ends)."""
        self._started_attempts.add(self.scheduled_event_id(activity_id))

    def _close_activity(
        self, activity_id: str, event_type: EventType, attempt: int, **attributes: Any
    ) -> HistoryEvent:
        scheduled = self.scheduled_event_id(activity_id)
        assert scheduled in self._open_activities, f"activity {activity_id!r} is not open"
        self._open_activities.discard(scheduled)
        started = self.append(
            EventType.ACTIVITY_TASK_STARTED,
            {
                "scheduled_event_id": scheduled,
                "attempt": attempt,
                "identity": "memory",
                "started_time": self.clock.isoformat(),
                "last_failure": None,
            },
        )
        return self.append(
            event_type,
            {
                "scheduled_event_id": scheduled,
                "started_event_id": started.event_id,
                "attempt": attempt,
                **attributes,
            },
        )

    def complete_activity(self, activity_id: str, result: Any = None, *, attempt: int = 1) -> None:
        self._close_activity(
            activity_id, EventType.ACTIVITY_TASK_COMPLETED, attempt, result=to_json(result)
        )

    def fail_activity(
        self,
        activity_id: str,
        error: BaseException,
        *,
        attempt: int = 1,
        retry_state: RetryState = RetryState.NON_RETRYABLE_FAILURE,
    ) -> None:
        self._close_activity(
            activity_id,
            EventType.ACTIVITY_TASK_FAILED,
            attempt,
            failure=failure_from_exception(error),
            retry_state=retry_state.value,
        )

    def time_out_activity(
        self, activity_id: str, error: BaseException, *, attempt: int = 1
    ) -> None:
        self._close_activity(
            activity_id,
            EventType.ACTIVITY_TASK_TIMED_OUT,
            attempt,
            failure=failure_from_exception(error),
            retry_state=RetryState.TIMEOUT.value,
        )

    def cancel_activity(self, activity_id: str) -> None:
        """The running attempt acknowledged a cancellation request."""
        self._close_activity(
            activity_id,
            EventType.ACTIVITY_TASK_CANCELED,
            1,
            failure=failure_from_exception(CancelledError("Activity cancelled")),
        )

    def fire_timer(self, timer_id: str) -> None:
        started = self._pending_timers.pop(timer_id, None)
        assert started is not None, f"timer {timer_id!r} is not pending"
        self.append(EventType.TIMER_FIRED, {"timer_id": timer_id, "started_event_id": started})

    def initiated_event_id(self, event_type: EventType, workflow_id: str) -> int:
        """The id of the latest ``event_type`` (an ...Initiated event) naming ``workflow_id``."""
        matches = [
            e.event_id
            for e in self.of_type(event_type)
            if e.attributes["workflow_id"] == workflow_id
        ]
        assert matches, f"no {event_type.value} for {workflow_id!r}"
        return matches[-1]

    def child_started(self, workflow_id: str, run_id: str = "child-run") -> None:
        initiated = self.initiated_event_id(
            EventType.START_CHILD_WORKFLOW_EXECUTION_INITIATED, workflow_id
        )
        self.append(
            EventType.CHILD_WORKFLOW_EXECUTION_STARTED,
            {"initiated_event_id": initiated, "workflow_id": workflow_id, "run_id": run_id},
        )

    def child_closed(self, workflow_id: str, event_type: EventType, **attributes: Any) -> None:
        initiated = self.initiated_event_id(
            EventType.START_CHILD_WORKFLOW_EXECUTION_INITIATED, workflow_id
        )
        self.append(
            event_type, {"initiated_event_id": initiated, "workflow_id": workflow_id, **attributes}
        )

    def external_outcome(self, initiated: EventType, outcome: EventType, workflow_id: str) -> None:
        self.append(
            outcome,
            {
                "initiated_event_id": self.initiated_event_id(initiated, workflow_id),
                "workflow_id": workflow_id,
            },
        )

    def signal(self, name: str, *args: Any) -> None:
        self.append(
            EventType.WORKFLOW_EXECUTION_SIGNALED,
            {"signal_name": name, "input": to_json(list(args))},
        )

    def request_cancel(self) -> None:
        self.append(EventType.WORKFLOW_EXECUTION_CANCEL_REQUESTED, {"reason": "test"})


def as_definition(target: Any) -> WorkflowDefinition:
    if isinstance(target, WorkflowDefinition):
        return target
    return workflow.get_definition(target)


def unregistered(workflow_cls: type, name: str) -> WorkflowDefinition:
    """A definition of ``workflow_cls`` under ``name`` that stays out of the registry.

    Tests use it for "the code after a deploy": the same workflow type, new code.
    """
    return WorkflowDefinition.from_class(workflow_cls, name)


def identities(commands: list[Command]) -> list[tuple[Any, ...]]:
    return [c.identity() for c in commands]


def kinds(commands: list[Command]) -> list[str]:
    return [type(c).__name__ for c in commands]
