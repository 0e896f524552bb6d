"""One workflow run in memory: the object behind every call in ``durable_workflows.workflow``.

The instance is fed *activations* (batches of history events). It applies them
(resolving the futures that workflow code awaits), runs the deterministic loop
until nothing is ready, and returns the commands the code issued meanwhile.
Each event type has its own ``_apply_<event>`` handler.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..exceptions import ActivityError, CancelledError, FailureError, RetryState
from .commands import (
    CancelTimer,
    CancelWorkflowExecution,
    Command,
    CompleteWorkflowExecution,
    CompleteWorkflowUpdate,
    FailWorkflowExecution,
    RecordMarker,
    RequestCancelActivityTask,
    ScheduleActivityTask,
    StartTimer,
)
from .converter import DEFAULT_MAX_PAYLOAD_BYTES, Signature, check_size, to_json
from .definitions import HandlerDefinition, WorkflowDefinition
from .events import EventType, HistoryEvent
from .failures import exception_from_failure, failure_from_exception
from .loop import DeterministicEventLoop

logger = logging.getLogger("durable_workflows.engine")

PATCH_MARKER = "core_patch"


class ReadOnlyViolationError(Exception):
    """A query handler or update validator tried to issue a command."""


class WorkflowTaskError(Exception):
    """Workflow code raised an exception that fails the *task*, not the workflow.

    ``__cause__`` is the user's exception. The task is retried; the run stays RUNNING.
    """


@dataclass(frozen=True)
class WorkflowInfo:
    """What ``workflow.info()`` returns."""

    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    start_time: datetime
    attempt: int = 1
    execution_timeout: float | None = None
    search_attributes: dict[str, Any] = field(default_factory=dict)
    memo: dict[str, Any] = field(default_factory=dict)


class ActivityHandle(asyncio.Future[Any]):
    """What ``workflow.start_activity`` returns: await it for the result, or ``cancel()`` it."""

    def __init__(
        self, *, loop: asyncio.AbstractEventLoop, seq: int, activity_type: str, activity_id: str
    ) -> None:
        super().__init__(loop=loop)
        self.seq = seq
        self.activity_type = activity_type
        self.activity_id = activity_id


@dataclass
class _PendingActivity:
    handle: ActivityHandle
    command: ScheduleActivityTask
    result_signature: Signature | None
    scheduled_event_id: int | None = None
    cancel_requested: bool = False


@dataclass
class _PendingTimer:
    handle: asyncio.TimerHandle
    command: StartTimer
    started_event_id: int | None = None


class WorkflowInstance:
    def __init__(
        self,
        definition: WorkflowDefinition,
        info: WorkflowInfo,
        *,
        randomness_seed: int = 0,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    ) -> None:
        self.definition = definition
        self.info = info
        self.max_payload_bytes = max_payload_bytes
        self.loop = DeterministicEventLoop(self)
        self.random = random.Random(randomness_seed)
        self.now = info.start_time
        self.is_replaying = False
        self.cancel_requested = False
        self.workflow: Any = None
        self._main: asyncio.Task[Any] | None = None
        self._closed = False
        self._commands: list[Command] = []
        self._activity_seq = 0
        self._timer_seq = 0
        self._activities: dict[int, _PendingActivity] = {}
        self._activities_by_event: dict[int, _PendingActivity] = {}
        self._timers: dict[int, _PendingTimer] = {}
        self._timers_by_handle: dict[int, _PendingTimer] = {}
        self._timers_by_event: dict[int, _PendingTimer] = {}
        self._conditions: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self._patches_seen: set[str] = set()
        self._patches_memo: dict[str, bool] = {}
        self._recorded_commands_ahead: Sequence[HistoryEvent] = ()
        self._task_error: BaseException | None = None
        self._handler_failure: BaseException | None = None

    # --- driving ---------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

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
        self.now = now
        self.loop.set_time(now.timestamp())
        self._recorded_commands_ahead = recorded_commands
        self._patches_seen = {
            (e.attributes.get("details") or {}).get("patch_id")
            for e in recorded_commands
            if e.event_type is EventType.MARKER_RECORDED
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
            handler = getattr(self, "_apply_" + _snake(event.event_type.value), None)
            if handler is not None:
                handler(event)
        self._run_until_quiescent()
        commands, self._commands = self._commands, []
        return commands

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
            except Exception as exc:
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
        if self._handler_failure is not None:
            self._close(FailWorkflowExecution(failure_from_exception(self._handler_failure)))
            return True
        main = self._main
        if main is None or not main.done():
            return False
        if main.cancelled():
            if self.cancel_requested:
                self._close(CancelWorkflowExecution())
            else:
                self._close(
                    FailWorkflowExecution(
                        failure_from_exception(CancelledError("Workflow code was cancelled"))
                    )
                )
            return True
        exc = main.exception()
        if exc is None:
            result = to_json(main.result())
            check_size(result, self.max_payload_bytes, f"The result of {self.definition.name}")
            self._close(CompleteWorkflowExecution(result=result))
            return True
        if isinstance(exc, asyncio.CancelledError | CancelledError) and self.cancel_requested:
            self._close(CancelWorkflowExecution())
            return True
        if isinstance(exc, FailureError | builtins.TimeoutError | asyncio.CancelledError):
            self._close(FailWorkflowExecution(failure_from_exception(exc)))
            return True
        raise WorkflowTaskError(f"Workflow code raised {exc!r}") from exc

    def _close(self, command: Command) -> None:
        self._commands.append(command)
        self._closed = True

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
        args = self.definition.run_signature.decode_args(event.attributes.get("input") or [])

        def create() -> None:
            cls = self.definition.cls
            self.workflow = cls(*args) if self.definition.init_takes_args else cls()
            self._main = self.loop.create_task(self._run_main(args), name="workflow.run")

        try:
            self.loop.run_callback(create)
        except Exception as exc:
            raise WorkflowTaskError(f"Creating the workflow raised {exc!r}") from exc

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
        if attrs.get("failure"):
            error.__cause__ = exception_from_failure(attrs["failure"])
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
        self.loop.create_task(self._run_update(handler, str(attrs.get("update_id")), args))

    async def _run_update(
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
                    failure=failure_from_exception(exc),
                )
            )
        except Exception as exc:
            self._task_error = self._task_error or exc
        else:
            self._commands.append(
                CompleteWorkflowUpdate(
                    update_id=update_id, update_name=handler.name, result=payload
                )
            )

    def call_read_only(self, fn: Callable[[], Any], what: str) -> Any:
        """Run a query handler or update validator: it may read state but issue no commands."""
        before = len(self._commands)
        result = self.loop.run_callback(fn)
        if len(self._commands) != before or self.loop._ready:
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
        # Sync handlers run in a task too: the loop starts tasks in creation order, so
        # handlers run in history order whether they are sync or async.
        return self.loop.create_task(self._run_handler(handler, args))

    async def _run_handler(self, handler: HandlerDefinition, args: list[Any]) -> Any:
        try:
            result = handler.fn(self.workflow, *args)
            return await result if handler.is_async else result
        except Exception as exc:
            self._record_handler_error(exc)
            return None

    def _record_handler_error(self, exc: BaseException) -> None:
        if isinstance(exc, FailureError):
            self._handler_failure = self._handler_failure or exc
        else:
            self._task_error = self._task_error or exc

    # --- what workflow code calls --------------------------------------------------

    def start_activity(
        self,
        activity_type: str,
        args: Sequence[Any],
        *,
        result_signature: Signature | None,
        task_queue: str | None,
        start_to_close_timeout: float | None,
        schedule_to_close_timeout: float | None,
        schedule_to_start_timeout: float | None,
        heartbeat_timeout: float | None,
        retry_policy: dict[str, Any] | None,
        activity_id: str | None,
    ) -> ActivityHandle:
        self._activity_seq += 1
        seq = self._activity_seq
        payloads = [to_json(a) for a in args]
        check_size(payloads, self.max_payload_bytes, f"The arguments of activity {activity_type}")
        command = ScheduleActivityTask(
            seq=seq,
            activity_id=activity_id or str(seq),
            activity_type=activity_type,
            task_queue=task_queue,
            input=payloads,
            start_to_close_timeout=start_to_close_timeout,
            schedule_to_close_timeout=schedule_to_close_timeout,
            schedule_to_start_timeout=schedule_to_start_timeout,
            heartbeat_timeout=heartbeat_timeout,
            retry_policy=retry_policy,
        )
        handle = ActivityHandle(
            loop=self.loop, seq=seq, activity_type=activity_type, activity_id=command.activity_id
        )
        pending = _PendingActivity(
            handle=handle, command=command, result_signature=result_signature
        )
        self._activities[seq] = pending
        self._commands.append(command)
        handle.add_done_callback(lambda _h: self._on_activity_handle_done(pending))
        return handle

    def _on_activity_handle_done(self, pending: _PendingActivity) -> None:
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

    def uuid4(self) -> uuid.UUID:
        return uuid.UUID(int=self.random.getrandbits(128), version=4)

    def utc_now(self) -> datetime:
        return self.now.astimezone(UTC)


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


def _snake(name: str) -> str:
    out = []
    for char in name:
        if char.isupper() and out:
            out.append("_")
        out.append(char.lower())
    return "".join(out)
