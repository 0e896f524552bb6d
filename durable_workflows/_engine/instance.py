"""One workflow run in memory: the object behind every call in ``durable_workflows.workflow``.

The instance is fed *activations* (batches of history events). It applies them
(resolving the futures that workflow code awaits), runs the deterministic loop
until nothing is ready, and returns the commands the code issued meanwhile.
Each event type has its own ``_apply_<event>`` handler, found through the
explicit table ``EVENT_HANDLERS`` at the end of this module.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from random import Random
from typing import Any

from ..common import ChildWorkflowCancellationType, merge_upserted
from ..exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    ContinueAsNewError,
    FailureError,
    RetryState,
    WorkflowAlreadyStartedError,
)
from .commands import (
    CancelTimer,
    CancelWorkflowExecution,
    Command,
    CompleteWorkflowExecution,
    CompleteWorkflowUpdate,
    ContinueAsNewWorkflowExecution,
    FailWorkflowExecution,
    ModifyWorkflowProperties,
    RecordMarker,
    RequestCancelActivityTask,
    RequestCancelExternalWorkflowExecution,
    ScheduleActivityTask,
    SignalExternalWorkflowExecution,
    StartChildWorkflowExecution,
    StartTimer,
    UpsertWorkflowSearchAttributes,
)
from .converter import DEFAULT_MAX_PAYLOAD_BYTES, Signature, check_size, to_json
from .definitions import (
    HandlerDefinition,
    HandlerUnfinishedPolicy,
    UnfinishedSignalHandlersWarning,
    UnfinishedUpdateHandlersWarning,
    WorkflowDefinition,
)
from .errors import ReadOnlyViolationError, WorkflowInterrupt, WorkflowTaskError
from .events import EventType, HistoryEvent
from .failures import Failure
from .loop import DeterministicEventLoop
from .options import ActivityOptions, ChildWorkflowOptions
from .runtime import ActivityHandle, ChildWorkflowHandle, WorkflowInfo

__all__ = [
    "EVENT_HANDLERS",
    "ActivityHandle",
    "ReadOnlyViolationError",
    "WorkflowInfo",
    "WorkflowInstance",
    "WorkflowTaskError",
]

logger = logging.getLogger("durable_workflows.engine")

PATCH_MARKER = "core_patch"
#: The marker that records a local activity's outcome (Temporal's name for it).
LOCAL_ACTIVITY_MARKER = "core_local_activity"


@dataclass(frozen=True)
class LocalActivityRequest:
    """A local activity the code is waiting for: the worker runs it during the task."""

    seq: int
    activity_type: str
    input: list[Any]
    options: ActivityOptions


#: What workflow code may raise out of a handler or callback without it being lost:
#: its own exceptions, and the engine's interrupts (which are BaseExceptions).
_CODE_ERRORS = (Exception, WorkflowInterrupt)


@dataclass
class _PendingActivity:
    handle: ActivityHandle
    command: ScheduleActivityTask
    result_signature: Signature | None
    scheduled_event_id: int | None = None
    cancel_requested: bool = False


@dataclass(frozen=True)
class _RunningHandler:
    """A signal or update handler whose task has not finished yet."""

    handler: HandlerDefinition
    update_id: str | None = None


@dataclass
class _PendingChild:
    handle: ChildWorkflowHandle
    command: StartChildWorkflowExecution
    result_signature: Signature | None
    #: Resolves when the child has started (or fails if it could not be).
    started: asyncio.Future[None]
    initiated_event_id: int | None = None
    cancel_requested: bool = False


@dataclass
class _PendingExternal:
    """A signal or cancel request to another run, resolved once it is delivered."""

    future: asyncio.Future[None]
    command: SignalExternalWorkflowExecution | RequestCancelExternalWorkflowExecution
    initiated_event_id: int | None = None


@dataclass
class _PendingTimer:
    handle: asyncio.TimerHandle
    command: StartTimer
    started_event_id: int | None = None


class WorkflowInstance:
    """One run being executed; implements :class:`~.runtime.WorkflowRuntime`."""

    def __init__(
        self,
        definition: WorkflowDefinition,
        info: WorkflowInfo,
        *,
        randomness_seed: int = 0,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    ) -> None:
        self.definition = definition
        self._history_length = 0
        self.info = replace(info, history_length=lambda: self._history_length)
        self.max_payload_bytes = max_payload_bytes
        # The loop implements only what workflow code may use; the rest of asyncio's
        # abstract interface is deliberately missing (calling it fails).
        self.loop = DeterministicEventLoop(self)  # type: ignore[abstract]
        self._random = Random(randomness_seed)
        self._now = info.start_time
        self.is_replaying = False
        self.cancel_requested = False
        self.workflow: Any = None
        self._main: asyncio.Task[Any] | None = None
        self._closed = False
        self._commands: list[Command] = []
        self._activity_seq = 0
        self._timer_seq = 0
        self._activities: dict[int, _PendingActivity] = {}
        #: Sequence numbers of the activities whose handles are not done: O(1) to ask.
        self._open_activities: set[int] = set()
        self._activities_by_event: dict[int, _PendingActivity] = {}
        self._timers: dict[int, _PendingTimer] = {}
        self._timers_by_handle: dict[int, _PendingTimer] = {}
        self._timers_by_event: dict[int, _PendingTimer] = {}
        self._conditions: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        #: Signal and update handlers in flight, by a number of their own (signals have no id).
        self._running_handlers: dict[int, _RunningHandler] = {}
        self._handler_seq = 0
        self._patches_seen: set[str] = set()
        self._patches_memo: dict[str, bool] = {}
        self._task_error: BaseException | None = None
        self._handler_failure: BaseException | None = None
        self._continue_as_new: ContinueAsNewError | None = None
        self._child_seq = 0
        self._children: dict[int, _PendingChild] = {}
        self._children_by_event: dict[int, _PendingChild] = {}
        self._external_seq = 0
        self._local_seq = 0
        self._locals: dict[int, tuple[LocalActivityRequest, ActivityHandle, Signature | None]] = {}
        #: Requested and not yet resolved, in request order.
        self._unresolved_locals: list[int] = []
        self._externals: dict[int, _PendingExternal] = {}
        self._externals_by_event: dict[int, _PendingExternal] = {}

    # --- driving ---------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def awaits_activity(self) -> bool:
        """Whether an activity this run scheduled has not reported its outcome yet."""
        return bool(self._open_activities)

    def activate(
        self,
        events: Sequence[HistoryEvent],
        now: datetime,
        *,
        recorded_commands: Sequence[HistoryEvent] = (),
    ) -> list[Command]:
        """Apply ``events``, run the code until it waits, and return the commands it issued.

        Raises:
            WorkflowTaskError: workflow code raised an exception that is not a failure.
        """
        self._now = now
        self.loop.set_time(now.timestamp())
        if events:
            self._history_length = max(self._history_length, events[-1].event_id)
        self._patches_seen = {
            patch_id
            for e in recorded_commands
            if e.event_type is EventType.MARKER_RECORDED
            and (patch_id := (e.attributes.get("details") or {}).get("patch_id")) is not None
        }
        for event in events:
            if event.event_type is EventType.TIMER_FIRED:
                # Fired, even if the code only learns it below: cancelling it now (a signal
                # met the condition first) must not issue CancelTimer for a fired timer.
                self._mark_fired(event)
        handlers_ran = False
        for event in _ordered_for_activation(events):
            if not handlers_ran and _activation_rank(event) == _RESOLUTION_RANK:
                # As Temporal runs its job sets: the code reacts to the start, signals and
                # updates (conditions included) before it sees resolutions, so a condition
                # a signal satisfies wins over a timer that fired later in the history.
                handlers_ran = True
                self._run_until_quiescent()
                if self._closed:
                    break
            EVENT_HANDLERS[event.event_type](self, event)
        self._run_until_quiescent()
        self._resolve_recorded_locals(recorded_commands)
        commands, self._commands = self._commands, []
        return commands

    # --- local activities: run by the worker during the task, recorded as markers ----------

    @property
    def pending_local_activities(self) -> list[LocalActivityRequest]:
        """Local activities the code waits for that have no outcome yet, in request order."""
        return [self._locals[seq][0] for seq in self._unresolved_locals]

    def resolve_local_activity(
        self,
        seq: int,
        *,
        result: Any = None,
        failure: dict[str, Any] | None = None,
        retry_state: str | None = None,
        attempt: int,
    ) -> list[Command]:
        """Give a local activity its outcome; record it as a marker, run the code on, and
        return the commands issued since the last activation (the marker first)."""
        self._resolve_local(
            seq, result=result, failure=failure, retry_state=retry_state, attempt=attempt
        )
        self._run_until_quiescent()
        commands, self._commands = self._commands, []
        return commands

    def _resolve_local(
        self,
        seq: int,
        *,
        result: Any,
        failure: dict[str, Any] | None,
        retry_state: str | None,
        attempt: int,
    ) -> None:
        request, handle, signature = self._locals[seq]
        self._unresolved_locals.remove(seq)
        self._commands.append(
            RecordMarker(
                marker_name=LOCAL_ACTIVITY_MARKER,
                details={
                    "seq": seq,
                    "activity_type": request.activity_type,
                    "activity_id": request.options.activity_id or str(seq),
                    "attempt": attempt,
                    "result": result,
                    "failure": failure,
                    "retry_state": retry_state,
                },
            )
        )
        if handle.done():
            return
        if failure is not None:
            error = ActivityError(
                "Local activity failed",
                activity_type=request.activity_type,
                activity_id=request.options.activity_id or str(seq),
                scheduled_event_id=0,
                attempt=attempt,
                retry_state=RetryState(retry_state) if retry_state else None,
            )
            error.__cause__ = Failure.from_dict(failure).to_exception()
            handle.set_exception(error)
            return
        try:
            handle.set_result(signature.decode_result(result) if signature else result)
        except Exception as exc:
            handle.set_exception(exc)

    def _resolve_recorded_locals(self, recorded: Sequence[HistoryEvent]) -> None:
        """On replay: give local activities the outcomes this task recorded, in order."""
        markers = {
            int(details.get("seq", 0)): details
            for e in recorded
            if e.event_type is EventType.MARKER_RECORDED
            and e.attributes.get("marker_name") == LOCAL_ACTIVITY_MARKER
            and isinstance(details := e.attributes.get("details"), dict)
        }
        while not self._closed and self._unresolved_locals:
            details = markers.get(self._unresolved_locals[0])
            if details is None:
                return  # not recorded: the worker runs it now
            self._resolve_local(
                self._unresolved_locals[0],
                result=details.get("result"),
                failure=details.get("failure"),
                retry_state=details.get("retry_state"),
                attempt=int(details.get("attempt") or 1),
            )
            self._run_until_quiescent()

    def bind(self, command: Command, event: HistoryEvent) -> None:
        """Remember which recorded event a command produced, so later events can find it."""
        if isinstance(command, ScheduleActivityTask):
            pending = self._activities[command.seq]
            pending.scheduled_event_id = event.event_id
            self._activities_by_event[event.event_id] = pending
        elif isinstance(command, StartTimer):
            timer = self._timers[command.seq]
            timer.started_event_id = event.event_id
            self._timers_by_event[event.event_id] = timer
        elif isinstance(command, StartChildWorkflowExecution):
            child = self._children[command.seq]
            child.initiated_event_id = event.event_id
            self._children_by_event[event.event_id] = child
        elif isinstance(
            command, SignalExternalWorkflowExecution | RequestCancelExternalWorkflowExecution
        ):
            external = self._externals[command.seq]
            external.initiated_event_id = event.event_id
            self._externals_by_event[event.event_id] = external

    def _run_until_quiescent(self) -> None:
        while True:
            self.loop.run_ready()
            self._raise_task_error()
            if self._close_if_done():
                return
            if not self._check_conditions():
                return

    def _check_conditions(self) -> bool:
        woke = False
        for entry in list(self._conditions):
            condition, future = entry
            if future.done():
                self._conditions.remove(entry)
                continue
            try:
                satisfied = self.loop.run_callback(condition)
            except _CODE_ERRORS as exc:
                raise WorkflowTaskError(f"wait_condition's function raised {exc!r}") from exc
            if satisfied:
                self._conditions.remove(entry)
                future.set_result(None)
                woke = True
        return woke

    def _raise_task_error(self) -> None:
        if self._task_error is not None:
            error, self._task_error = self._task_error, None
            raise WorkflowTaskError(f"Workflow code raised {error!r}") from error

    def _close_if_done(self) -> bool:
        if self._closed:
            return True
        if self._continue_as_new is not None:
            self._close(self._continue_as_new_command(self._continue_as_new))
            return True
        if self._handler_failure is not None:
            self._fail(self._handler_failure)
            return True
        main = self._main
        if main is None or not main.done():
            return False
        if main.cancelled():
            if self.cancel_requested:
                self._close(CancelWorkflowExecution())
            else:
                self._fail(CancelledError("Workflow code was cancelled"))
            return True
        exc = main.exception()
        if exc is None:
            result = to_json(main.result())
            check_size(result, self.max_payload_bytes, f"The result of {self.definition.name}")
            self._close(CompleteWorkflowExecution(result=result))
            return True
        if isinstance(exc, ContinueAsNewError):
            self._close(self._continue_as_new_command(exc))
            return True
        if isinstance(exc, asyncio.CancelledError | CancelledError) and self.cancel_requested:
            self._close(CancelWorkflowExecution())
            return True
        if isinstance(exc, FailureError | builtins.TimeoutError | asyncio.CancelledError):
            self._fail(exc)
            return True
        raise WorkflowTaskError(f"Workflow code raised {exc!r}") from exc

    def _continue_as_new_command(self, exc: ContinueAsNewError) -> ContinueAsNewWorkflowExecution:
        check_size(exc.input, self.max_payload_bytes, "The arguments of continue_as_new")
        return ContinueAsNewWorkflowExecution(
            workflow_type=exc.workflow_type,
            input=exc.input,
            task_queue=exc.task_queue,
            memo=exc.memo,
            search_attributes=exc.search_attributes,
        )

    def _fail(self, error: BaseException) -> None:
        self._close(FailWorkflowExecution(Failure.from_exception(error).to_dict()))

    def _close(self, command: Command) -> None:
        self._commands.append(command)
        self._closed = True
        if not self.is_replaying:
            self._warn_about_unfinished_handlers()

    def _warn_about_unfinished_handlers(self) -> None:
        """Temporal's warnings for handlers the closing run abandons (unless their policy is
        ``ABANDON``): the fix is ``await workflow.wait_condition(workflow.all_handlers_finished)``
        before returning."""
        warned = [
            running
            for running in self._running_handlers.values()
            if running.handler.unfinished_policy is HandlerUnfinishedPolicy.WARN_AND_ABANDON
        ]
        run = self.info
        where = f"Workflow {self.definition.name} {run.workflow_id!r} (run {run.run_id})"
        fix = (
            "Wait for them before returning with `await workflow.wait_condition("
            "workflow.all_handlers_finished)`, or declare the handler with "
            "unfinished_policy=HandlerUnfinishedPolicy.ABANDON if abandoning it is intended."
        )
        updates = [r for r in warned if r.handler.kind == "update"]
        if updates:
            listed = ", ".join(f"{r.handler.name} (id {r.update_id})" for r in updates)
            warnings.warn(
                UnfinishedUpdateHandlersWarning(
                    f"{where} closed while update handlers were still running: {listed}. "
                    f"Their callers get no result. {fix}"
                ),
                stacklevel=2,
            )
        signals = [r for r in warned if r.handler.kind == "signal"]
        if signals:
            listed = ", ".join(r.handler.name for r in signals)
            warnings.warn(
                UnfinishedSignalHandlersWarning(
                    f"{where} closed while signal handlers were still running: {listed}. "
                    f"Their work was abandoned. {fix}"
                ),
                stacklevel=2,
            )

    def on_unhandled(self, context: dict[str, Any]) -> None:
        message = context.get("message", "")
        if "was destroyed but it is pending" in message:
            return  # an abandoned replay instance being garbage-collected
        if not self.is_replaying:
            logger.warning(
                "Unhandled error in workflow %s (%s): %s",
                self.info.workflow_id,
                self.info.run_id,
                message,
                exc_info=context.get("exception"),
            )

    # --- event handlers ----------------------------------------------------------------

    def _apply_workflow_execution_started(self, event: HistoryEvent) -> None:
        # The run's visibility data as it started: replay then applies the code's upserts
        # in order, so info() reads the same on every replay (the row holds the latest).
        attributes = event.attributes
        self.info = replace(
            self.info,
            search_attributes=dict(
                attributes.get("search_attributes", self.info.search_attributes) or {}
            ),
            memo=dict(attributes.get("memo", self.info.memo) or {}),
        )
        args = self.instantiate(event.attributes.get("input") or [])
        self._main = self.loop.create_task(self._run_main(args), name="workflow.run")

    def instantiate(self, payloads: list[Any]) -> list[Any]:
        """Create the workflow object from the run's input; returns the decoded arguments.

        Raises:
            WorkflowTaskError: the class's ``__init__`` raised.
        """
        args = self.definition.run_signature.decode_args(payloads)
        cls = self.definition.cls
        takes_args = self.definition.init_takes_args
        try:
            self.workflow = self.loop.run_callback(lambda: cls(*args) if takes_args else cls())
        except _CODE_ERRORS as exc:
            raise WorkflowTaskError(f"Creating the workflow raised {exc!r}") from exc
        return args

    async def _run_main(self, args: list[Any]) -> Any:
        # Yield once first: handlers of signals and updates delivered with the start
        # (signal-with-start) run before the run method does, as in Temporal.
        await asyncio.sleep(0)
        return await self.definition.run_fn(self.workflow, *args)

    def _apply_activity_task_completed(self, event: HistoryEvent) -> None:
        pending = self._activity_for(event)
        if pending is None or pending.handle.done():
            return
        result = event.attributes.get("result")
        try:
            value = (
                pending.result_signature.decode_result(result)
                if pending.result_signature
                else result
            )
        except Exception as exc:
            pending.handle.set_exception(exc)
            return
        pending.handle.set_result(value)

    def _apply_activity_task_failed(self, event: HistoryEvent) -> None:
        self._fail_activity(event, "Activity task failed")

    def _apply_activity_task_timed_out(self, event: HistoryEvent) -> None:
        self._fail_activity(event, "Activity task timed out")

    def _apply_activity_task_canceled(self, event: HistoryEvent) -> None:
        self._fail_activity(event, "Activity task cancelled")

    def _fail_activity(self, event: HistoryEvent, message: str) -> None:
        pending = self._activity_for(event)
        if pending is None or pending.handle.done():
            return
        attrs = event.attributes
        retry_state = attrs.get("retry_state")
        error = ActivityError(
            message,
            activity_type=pending.command.activity_type,
            activity_id=pending.command.activity_id,
            scheduled_event_id=pending.scheduled_event_id or 0,
            attempt=int(attrs.get("attempt") or 0),
            retry_state=RetryState(retry_state) if retry_state else None,
        )
        cause = Failure.from_dict(attrs["failure"]) if attrs.get("failure") else None
        if cause is not None:
            error.__cause__ = cause.to_exception()
        error.failure = replace(Failure.from_exception(error), stack_trace=None, cause=cause)
        pending.handle.set_exception(error)

    def _activity_for(self, event: HistoryEvent) -> _PendingActivity | None:
        return self._activities_by_event.get(int(event.attributes.get("scheduled_event_id", 0)))

    def _mark_fired(self, event: HistoryEvent) -> None:
        timer = self._timers_by_event.get(int(event.attributes.get("started_event_id", 0)))
        if timer is not None:
            timer.handle._scheduled = False  # type: ignore[attr-defined]

    def _apply_timer_fired(self, event: HistoryEvent) -> None:
        timer = self._timers_by_event.get(int(event.attributes.get("started_event_id", 0)))
        if timer is None or timer.handle.cancelled():
            return
        timer.handle._scheduled = False  # type: ignore[attr-defined]
        self.loop.schedule_handle(timer.handle)

    def _apply_workflow_execution_signaled(self, event: HistoryEvent) -> None:
        name = event.attributes.get("signal_name", "")
        handler = self.definition.signals.get(name)
        if handler is None:
            if not self.is_replaying:
                logger.warning(
                    "Workflow %s got signal %r but has no handler for it; dropped.",
                    self.info.workflow_id,
                    name,
                )
            return
        self._invoke_handler(handler, event.attributes.get("input") or [])

    def _apply_workflow_execution_update_accepted(self, event: HistoryEvent) -> None:
        attrs = event.attributes
        name = attrs.get("update_name", "")
        handler = self.definition.updates.get(name)
        if handler is None:
            raise WorkflowTaskError(
                f"Update {name!r} was accepted but {self.definition.name} has no handler for it."
            )
        args = handler.signature.decode_args(attrs.get("input") or [])
        update_id = str(attrs.get("update_id"))
        running = self._handler_started(_RunningHandler(handler, update_id))
        self.loop.create_task(self._run_update(handler, update_id, args, running))

    def _handler_started(self, running: _RunningHandler) -> int:
        self._handler_seq += 1
        self._running_handlers[self._handler_seq] = running
        return self._handler_seq

    def all_handlers_finished(self) -> bool:
        return not self._running_handlers

    async def _run_update(
        self, handler: HandlerDefinition, update_id: str, args: list[Any], running: int
    ) -> None:
        try:
            await self._update_body(handler, update_id, args)
        finally:
            self._running_handlers.pop(running, None)

    async def _update_body(
        self, handler: HandlerDefinition, update_id: str, args: list[Any]
    ) -> None:
        try:
            result = handler.fn(self.workflow, *args)
            if handler.is_async:
                result = await result
            payload = to_json(result)
            check_size(payload, self.max_payload_bytes, f"The result of update {handler.name}")
        except FailureError as exc:
            self._commands.append(
                CompleteWorkflowUpdate(
                    update_id=update_id,
                    update_name=handler.name,
                    failure=Failure.from_exception(exc).to_dict(),
                )
            )
        except ContinueAsNewError as exc:
            self._continue_as_new = self._continue_as_new or exc
        except _CODE_ERRORS as exc:
            self._task_error = self._task_error or exc
        else:
            self._commands.append(
                CompleteWorkflowUpdate(
                    update_id=update_id, update_name=handler.name, result=payload
                )
            )

    def call_read_only(self, fn: Callable[[], Any], what: str) -> Any:
        """Run a query handler or update validator: it may read state but issue no commands.

        Raises:
            ReadOnlyViolationError: ``fn`` issued a command or started work.
            WorkflowTaskError: ``fn`` was stopped by the engine (e.g. it tried I/O).
        """
        before = len(self._commands)
        try:
            result = self.loop.run_callback(fn)
        except WorkflowInterrupt as exc:
            raise WorkflowTaskError(f"{what} raised {exc!r}") from exc
        if len(self._commands) != before or self.loop.has_ready():
            del self._commands[before:]
            raise ReadOnlyViolationError(
                f"{what} issued a command or started work; it may only read workflow state."
            )
        return result

    def _apply_workflow_execution_cancel_requested(self, event: HistoryEvent) -> None:
        self.cancel_requested = True
        if self._main is not None and not self._main.done():
            self._main.cancel()

    def _invoke_handler(self, handler: HandlerDefinition, payloads: list[Any]) -> Any:
        args = handler.signature.decode_args(payloads)
        running = self._handler_started(_RunningHandler(handler))
        # Sync handlers run in a task too: the loop starts tasks in creation order, so
        # handlers run in history order whether they are sync or async.
        return self.loop.create_task(self._run_handler(handler, args, running))

    async def _run_handler(self, handler: HandlerDefinition, args: list[Any], running: int) -> Any:
        try:
            result = handler.fn(self.workflow, *args)
            return await result if handler.is_async else result
        except ContinueAsNewError as exc:
            self._continue_as_new = self._continue_as_new or exc
            return None
        except _CODE_ERRORS as exc:
            self._record_handler_error(exc)
            return None
        finally:
            self._running_handlers.pop(running, None)

    def _record_handler_error(self, exc: BaseException) -> None:
        if isinstance(exc, FailureError):
            self._handler_failure = self._handler_failure or exc
        else:
            self._task_error = self._task_error or exc

    def _child_for(self, event: HistoryEvent) -> _PendingChild | None:
        return self._children_by_event.get(int(event.attributes.get("initiated_event_id", 0)))

    def _apply_child_workflow_execution_started(self, event: HistoryEvent) -> None:
        child = self._child_for(event)
        if child is None:
            return
        run_id = str(event.attributes.get("run_id") or "")
        child.handle.run_id = child.handle.first_execution_run_id = run_id
        if not child.started.done():
            child.started.set_result(None)

    def _apply_start_child_workflow_execution_failed(self, event: HistoryEvent) -> None:
        child = self._child_for(event)
        if child is None or child.started.done():
            return
        child.started.set_exception(
            WorkflowAlreadyStartedError(
                f"Child workflow {child.command.workflow_id!r} is already running.",
                workflow_id=child.command.workflow_id,
            )
        )

    def _apply_child_workflow_execution_completed(self, event: HistoryEvent) -> None:
        child = self._child_for(event)
        if child is None or child.handle.done():
            return
        result = event.attributes.get("result")
        try:
            value = (
                child.result_signature.decode_result(result) if child.result_signature else result
            )
        except Exception as exc:
            child.handle.set_exception(exc)
            return
        child.handle.set_result(value)

    def _apply_child_workflow_execution_closed(self, event: HistoryEvent) -> None:
        """Failed, canceled, timed out or terminated: a ChildWorkflowError with the cause."""
        child = self._child_for(event)
        if child is None or child.handle.done():
            return
        command = child.command
        error = ChildWorkflowError(
            f"Child workflow {command.workflow_type} ({command.workflow_id}) "
            f"{_CHILD_CLOSE_WORDS[event.event_type]}",
            workflow_id=command.workflow_id,
            workflow_type=command.workflow_type,
        )
        failure = event.attributes.get("failure")
        if failure:
            error.__cause__ = Failure.from_dict(failure).to_exception()
        child.handle.set_exception(error)

    def _external_for(self, event: HistoryEvent) -> _PendingExternal | None:
        return self._externals_by_event.get(int(event.attributes.get("initiated_event_id", 0)))

    def _apply_external_delivered(self, event: HistoryEvent) -> None:
        external = self._external_for(event)
        if external is not None and not external.future.done():
            external.future.set_result(None)

    def _apply_external_failed(self, event: HistoryEvent) -> None:
        external = self._external_for(event)
        if external is None or external.future.done():
            return
        what = (
            "signal"
            if isinstance(external.command, SignalExternalWorkflowExecution)
            else ("cancel")
        )
        external.future.set_exception(
            ApplicationError(
                f"Unable to {what} external workflow {external.command.workflow_id!r}: "
                f"{event.attributes.get('cause') or 'it was not found'}.",
                type="ExternalWorkflowExecutionNotFound",
            )
        )

    # --- what workflow code calls --------------------------------------------------

    async def start_child_workflow(
        self,
        workflow_type: str,
        args: Sequence[Any],
        options: ChildWorkflowOptions,
        *,
        result_signature: Signature | None,
    ) -> ChildWorkflowHandle:
        self._child_seq += 1
        seq = self._child_seq
        payloads = self._encode_args(args, f"The arguments of child {workflow_type}")
        command = StartChildWorkflowExecution(
            seq=seq, workflow_type=workflow_type, input=payloads, options=options
        )
        child: _PendingChild

        def cancel() -> bool:
            return self._cancel_child(child)

        handle = ChildWorkflowHandle(
            loop=self.loop,
            runtime=self,
            seq=seq,
            workflow_id=options.workflow_id,
            workflow_type=workflow_type,
            on_cancel=cancel,
        )
        child = _PendingChild(
            handle=handle,
            command=command,
            result_signature=result_signature,
            started=self.loop.create_future(),
        )
        self._children[seq] = child
        self._commands.append(command)
        try:
            await child.started
        except asyncio.CancelledError:
            self._cancel_child(child)
            raise
        return handle

    def _cancel_child(self, child: _PendingChild) -> bool:
        """The code cancelled a child's handle: whether the handle is cancelled at once."""
        kind = child.command.options.cancellation_type
        if child.cancel_requested:
            return kind is not ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED
        child.cancel_requested = True
        if child.command in self._commands:
            # Started and cancelled within one task: it never reaches the history.
            self._commands.remove(child.command)
            return True
        if kind is ChildWorkflowCancellationType.ABANDON:
            return True
        self._external_seq += 1
        command = RequestCancelExternalWorkflowExecution(
            seq=self._external_seq,
            workflow_id=child.command.workflow_id,
            run_id=child.handle.run_id,
            child_workflow_only=True,
        )
        self._externals[command.seq] = _PendingExternal(self.loop.create_future(), command)
        self._commands.append(command)
        return kind is ChildWorkflowCancellationType.TRY_CANCEL

    async def signal_external(
        self,
        workflow_id: str,
        run_id: str | None,
        signal_name: str,
        args: Sequence[Any],
        *,
        child_workflow_only: bool = False,
    ) -> None:
        self._external_seq += 1
        payloads = self._encode_args(args, f"The arguments of signal {signal_name}")
        command = SignalExternalWorkflowExecution(
            seq=self._external_seq,
            workflow_id=workflow_id,
            run_id=run_id,
            signal_name=signal_name,
            input=payloads,
            child_workflow_only=child_workflow_only,
        )
        await self._external(command)

    async def cancel_external(self, workflow_id: str, run_id: str | None) -> None:
        self._external_seq += 1
        await self._external(
            RequestCancelExternalWorkflowExecution(
                seq=self._external_seq, workflow_id=workflow_id, run_id=run_id
            )
        )

    async def _external(
        self, command: SignalExternalWorkflowExecution | RequestCancelExternalWorkflowExecution
    ) -> None:
        external = _PendingExternal(self.loop.create_future(), command)
        self._externals[command.seq] = external
        self._commands.append(command)
        await external.future

    def start_activity(
        self,
        activity_type: str,
        args: Sequence[Any],
        options: ActivityOptions,
        *,
        result_signature: Signature | None,
    ) -> ActivityHandle:
        self._activity_seq += 1
        seq = self._activity_seq
        payloads = self._encode_args(args, f"The arguments of activity {activity_type}")
        command = ScheduleActivityTask(
            seq=seq, activity_type=activity_type, input=payloads, options=options
        )
        handle = ActivityHandle(
            loop=self.loop, seq=seq, activity_type=activity_type, activity_id=command.activity_id
        )
        pending = _PendingActivity(
            handle=handle, command=command, result_signature=result_signature
        )
        self._activities[seq] = pending
        self._open_activities.add(seq)
        self._commands.append(command)
        handle.add_done_callback(lambda _h: self._on_activity_handle_done(pending))
        return handle

    def _encode_args(self, args: Sequence[Any], what: str) -> list[Any]:
        """Arguments as JSON-ready payloads, within MAX_PAYLOAD_BYTES (``what`` names them)."""
        payloads = [to_json(a) for a in args]
        check_size(payloads, self.max_payload_bytes, what)
        return payloads

    def start_local_activity(
        self,
        activity_type: str,
        args: Sequence[Any],
        options: ActivityOptions,
        *,
        result_signature: Signature | None,
    ) -> ActivityHandle:
        self._local_seq += 1
        seq = self._local_seq
        payloads = self._encode_args(args, f"The arguments of activity {activity_type}")
        request = LocalActivityRequest(seq, activity_type, payloads, options)
        handle = ActivityHandle(
            loop=self.loop,
            seq=seq,
            activity_type=activity_type,
            activity_id=options.activity_id or str(seq),
        )
        self._locals[seq] = (request, handle, result_signature)
        self._unresolved_locals.append(seq)

        def forget_if_cancelled(done: asyncio.Future[Any]) -> None:
            if done.cancelled() and seq in self._unresolved_locals:
                self._unresolved_locals.remove(seq)  # not run: nothing waits for it

        handle.add_done_callback(forget_if_cancelled)
        return handle

    def _on_activity_handle_done(self, pending: _PendingActivity) -> None:
        self._open_activities.discard(pending.command.seq)
        if not pending.handle.cancelled() or pending.cancel_requested:
            return
        pending.cancel_requested = True
        if pending.command in self._commands:
            # Scheduled and cancelled within one task: it never reaches the history.
            self._commands.remove(pending.command)
        elif pending.scheduled_event_id is not None:
            self._commands.append(
                RequestCancelActivityTask(
                    seq=pending.command.seq, scheduled_event_id=pending.scheduled_event_id
                )
            )

    def start_loop_timer(self, handle: asyncio.TimerHandle, delay: float) -> None:
        self._timer_seq += 1
        seq = self._timer_seq
        command = StartTimer(seq=seq, timer_id=str(seq), duration=float(delay))
        timer = _PendingTimer(handle=handle, command=command)
        handle._scheduled = True  # type: ignore[attr-defined]
        self._timers[seq] = timer
        self._timers_by_handle[id(handle)] = timer
        self._commands.append(command)

    def cancel_loop_timer(self, handle: asyncio.TimerHandle) -> None:
        timer = self._timers_by_handle.get(id(handle))
        if timer is None or not handle._scheduled:  # type: ignore[attr-defined]
            return  # fired already: asyncio.sleep cancels its handle on the way out
        handle._scheduled = False  # type: ignore[attr-defined]
        if timer.command in self._commands:
            self._commands.remove(timer.command)
        else:
            self._commands.append(
                CancelTimer(seq=timer.command.seq, timer_id=timer.command.timer_id)
            )

    async def wait_condition(self, condition: Callable[[], bool], timeout: float | None) -> None:
        future: asyncio.Future[None] = self.loop.create_future()
        self._conditions.append((condition, future))
        if timeout is None:
            await future
        else:
            await asyncio.wait_for(future, timeout)

    def upsert_search_attributes(self, updates: dict[str, Any]) -> None:
        merged = merge_upserted(self.info.search_attributes, updates, empty_list_removes=True)
        check_size(merged, self.max_payload_bytes, "The search attributes")
        self.info = replace(self.info, search_attributes=merged)
        self._commands.append(UpsertWorkflowSearchAttributes(search_attributes=dict(updates)))

    def upsert_memo(self, updates: dict[str, Any]) -> None:
        merged = merge_upserted(self.info.memo, updates, empty_list_removes=False)
        check_size(merged, self.max_payload_bytes, "The memo")
        self.info = replace(self.info, memo=merged)
        self._commands.append(ModifyWorkflowProperties(memo=dict(updates)))

    def patched(self, patch_id: str, *, deprecated: bool = False) -> bool:
        if patch_id in self._patches_memo:
            return self._patches_memo[patch_id]
        if self.is_replaying and patch_id not in self._patches_seen:
            # History recorded before this patch existed: take the old branch.
            use_new = deprecated
        else:
            use_new = True
            if not deprecated or patch_id in self._patches_seen:
                self._commands.append(
                    RecordMarker(
                        marker_name=PATCH_MARKER,
                        details={"patch_id": patch_id, "deprecated": deprecated},
                    )
                )
        self._patches_memo[patch_id] = use_new
        return use_new

    def now(self) -> datetime:
        return self._now.astimezone(UTC)

    def random(self) -> Random:
        return self._random


_CHILD_CLOSE_WORDS = {
    EventType.CHILD_WORKFLOW_EXECUTION_FAILED: "failed",
    EventType.CHILD_WORKFLOW_EXECUTION_CANCELED: "was cancelled",
    EventType.CHILD_WORKFLOW_EXECUTION_TIMED_OUT: "timed out",
    EventType.CHILD_WORKFLOW_EXECUTION_TERMINATED: "was terminated",
}

_ACTIVATION_RANKS = {
    EventType.WORKFLOW_EXECUTION_STARTED: 0,
    EventType.WORKFLOW_EXECUTION_SIGNALED: 1,
    EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED: 1,
}
_RESOLUTION_RANK = 2


def _activation_rank(event: HistoryEvent) -> int:
    return _ACTIVATION_RANKS.get(event.event_type, _RESOLUTION_RANK)


def _ordered_for_activation(events: Sequence[HistoryEvent]) -> list[HistoryEvent]:
    """Start first, then signals and updates, then cancel requests and resolutions."""
    return sorted(events, key=lambda e: (_activation_rank(e), e.event_id))


# --- dispatch ---------------------------------------------------------------------------


def matched_by_replay(instance: WorkflowInstance, event: HistoryEvent) -> None:
    """A command event: replay matches it against the code's commands (see ``replay``)."""


def no_effect(instance: WorkflowInstance, event: HistoryEvent) -> None:
    """The event changes nothing workflow code can observe."""


#: Every event type and what applying it to a run does. Listed in full, so a new event
#: type without an entry fails loudly (and tests/engine checks that none is missing).
EVENT_HANDLERS: Mapping[EventType, Callable[[WorkflowInstance, HistoryEvent], None]] = {
    EventType.WORKFLOW_EXECUTION_STARTED: WorkflowInstance._apply_workflow_execution_started,
    EventType.ACTIVITY_TASK_COMPLETED: WorkflowInstance._apply_activity_task_completed,
    EventType.ACTIVITY_TASK_FAILED: WorkflowInstance._apply_activity_task_failed,
    EventType.ACTIVITY_TASK_TIMED_OUT: WorkflowInstance._apply_activity_task_timed_out,
    EventType.ACTIVITY_TASK_CANCELED: WorkflowInstance._apply_activity_task_canceled,
    EventType.TIMER_FIRED: WorkflowInstance._apply_timer_fired,
    EventType.WORKFLOW_EXECUTION_SIGNALED: WorkflowInstance._apply_workflow_execution_signaled,
    EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED: (
        WorkflowInstance._apply_workflow_execution_update_accepted
    ),
    EventType.WORKFLOW_EXECUTION_CANCEL_REQUESTED: (
        WorkflowInstance._apply_workflow_execution_cancel_requested
    ),
    EventType.CHILD_WORKFLOW_EXECUTION_STARTED: (
        WorkflowInstance._apply_child_workflow_execution_started
    ),
    EventType.START_CHILD_WORKFLOW_EXECUTION_FAILED: (
        WorkflowInstance._apply_start_child_workflow_execution_failed
    ),
    EventType.CHILD_WORKFLOW_EXECUTION_COMPLETED: (
        WorkflowInstance._apply_child_workflow_execution_completed
    ),
    EventType.CHILD_WORKFLOW_EXECUTION_FAILED: (
        WorkflowInstance._apply_child_workflow_execution_closed
    ),
    EventType.CHILD_WORKFLOW_EXECUTION_CANCELED: (
        WorkflowInstance._apply_child_workflow_execution_closed
    ),
    EventType.CHILD_WORKFLOW_EXECUTION_TIMED_OUT: (
        WorkflowInstance._apply_child_workflow_execution_closed
    ),
    EventType.CHILD_WORKFLOW_EXECUTION_TERMINATED: (
        WorkflowInstance._apply_child_workflow_execution_closed
    ),
    EventType.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED: WorkflowInstance._apply_external_delivered,
    EventType.EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED: (
        WorkflowInstance._apply_external_delivered
    ),
    EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: WorkflowInstance._apply_external_failed,
    EventType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: (
        WorkflowInstance._apply_external_failed
    ),
    # A task boundary: replay.split_history groups events by it.
    EventType.WORKFLOW_TASK_COMPLETED: no_effect,
    # An attempt began: the code sees only the activity's outcome.
    EventType.ACTIVITY_TASK_STARTED: no_effect,
    # The store closes the run without running workflow code; no task follows.
    EventType.WORKFLOW_EXECUTION_TIMED_OUT: no_effect,
    EventType.WORKFLOW_EXECUTION_TERMINATED: no_effect,
    # What the code's own commands produced.
    EventType.ACTIVITY_TASK_SCHEDULED: matched_by_replay,
    EventType.ACTIVITY_TASK_CANCEL_REQUESTED: matched_by_replay,
    EventType.TIMER_STARTED: matched_by_replay,
    EventType.TIMER_CANCELED: matched_by_replay,
    EventType.MARKER_RECORDED: matched_by_replay,
    EventType.WORKFLOW_EXECUTION_UPDATE_COMPLETED: matched_by_replay,
    EventType.WORKFLOW_EXECUTION_COMPLETED: matched_by_replay,
    EventType.WORKFLOW_EXECUTION_FAILED: matched_by_replay,
    EventType.WORKFLOW_EXECUTION_CANCELED: matched_by_replay,
    EventType.WORKFLOW_EXECUTION_CONTINUED_AS_NEW: matched_by_replay,
    EventType.START_CHILD_WORKFLOW_EXECUTION_INITIATED: matched_by_replay,
    EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: matched_by_replay,
    EventType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: matched_by_replay,
    EventType.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: matched_by_replay,
    EventType.WORKFLOW_PROPERTIES_MODIFIED: matched_by_replay,
}
