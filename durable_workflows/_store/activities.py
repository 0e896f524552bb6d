"""Activity attempts: claiming, outcomes, retries with durable backoff, timeouts, heartbeats.

Attempts do not each write events (as in Temporal). The row carries the current
attempt; only the final outcome appends ActivityTaskStarted plus
ActivityTaskCompleted / Failed / TimedOut / Canceled, carrying the attempt count.
An outcome is accepted only from the attempt the row says is current, so a
timed-out attempt that finishes late cannot overwrite a newer one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from .. import _dispatch
from .._engine import EventType, Failure, FailureKind
from ..common import RetryPolicy
from ..conf import dw_settings
from ..exceptions import RetryState, TimeoutType
from ..models import ActivityStatus, ActivityTask, WorkflowExecution
from . import slots
from .history import HistoryWriter, PendingWorkflowTask, lock_execution

logger = logging.getLogger("durable_workflows.activities")


def _plus(start: datetime | None, seconds: float | None) -> datetime | None:
    if start is None or seconds is None:
        return None
    return start + timedelta(seconds=seconds)


def _earliest(*deadlines: datetime | None) -> datetime | None:
    present = [d for d in deadlines if d is not None]
    return min(present) if present else None


def scheduled_deadline(activity: ActivityTask) -> datetime | None:
    """When a waiting attempt times out: schedule-to-start or schedule-to-close."""
    return _earliest(
        _plus(activity.attempt_scheduled_time, activity.schedule_to_start_timeout),
        _plus(activity.scheduled_time, activity.schedule_to_close_timeout),
    )


def started_deadline(activity: ActivityTask) -> datetime | None:
    """When a running attempt times out: start-to-close, heartbeat or schedule-to-close."""
    last_sign_of_life = activity.last_heartbeat_time or activity.started_time
    return _earliest(
        _plus(activity.started_time, activity.start_to_close_timeout),
        _plus(last_sign_of_life, activity.heartbeat_timeout),
        _plus(activity.scheduled_time, activity.schedule_to_close_timeout),
    )


def _expired_timeout(activity: ActivityTask, now: datetime) -> TimeoutType | None:
    def passed(deadline: datetime | None) -> bool:
        return deadline is not None and deadline <= now

    if passed(_plus(activity.scheduled_time, activity.schedule_to_close_timeout)):
        return TimeoutType.SCHEDULE_TO_CLOSE
    if activity.status == ActivityStatus.SCHEDULED:
        if passed(_plus(activity.attempt_scheduled_time, activity.schedule_to_start_timeout)):
            return TimeoutType.SCHEDULE_TO_START
        return None
    if passed(_plus(activity.started_time, activity.start_to_close_timeout)):
        return TimeoutType.START_TO_CLOSE
    if passed(
        _plus(activity.last_heartbeat_time or activity.started_time, activity.heartbeat_timeout)
    ):
        return TimeoutType.HEARTBEAT
    return None


# --- claiming an attempt ------------------------------------------------------------------


def claim_attempt(
    activity_task_id: int, attempt: int, identity: str, now: datetime
) -> ActivityTask | None:
    """Mark ``attempt`` as started by this worker, or return None if the hint is stale.

    The row comes back with its execution, so running the attempt reads nothing more.
    """
    with transaction.atomic():
        activity = (
            ActivityTask.objects.select_for_update(of=("self",))
            .select_related("execution")
            .filter(pk=activity_task_id)
            .first()
        )
        if (
            activity is None
            or activity.status != ActivityStatus.SCHEDULED
            or activity.attempt != attempt
            or not activity.execution.is_running
        ):
            return None
        if activity.dispatch_after > now + timedelta(seconds=1):
            return None  # an early duplicate; the hint for the backoff's end is on its way
        if activity.limit_key and not activity.holds_slot:
            return None  # waiting for a concurrency slot: its hint comes with the slot
        later = slots.admit_start(activity, now)
        if later is not None:  # over its rate limit: wait for the window, durably
            slots.delay_until(activity, later, now)
            activity.save(update_fields=["dispatch_after", "dispatched_at"])
            return None
        activity.status = ActivityStatus.STARTED
        activity.started_time = now
        activity.last_heartbeat_time = None
        activity.worker_identity = identity[:255]
        activity.timeout_at = started_deadline(activity)
        activity.save(
            update_fields=[
                "status",
                "started_time",
                "last_heartbeat_time",
                "worker_identity",
                "timeout_at",
            ]
        )
        return activity


# --- outcomes -------------------------------------------------------------------------------


@dataclass
class _Locked:
    writer: HistoryWriter
    activity: ActivityTask


def _execution_id_of(activity_task_id: int) -> int | None:
    return (
        ActivityTask.objects.filter(pk=activity_task_id)
        .values_list("execution_id", flat=True)
        .first()
    )


def _lock_current_attempt(
    activity_task_id: int,
    attempt: int,
    now: datetime,
    execution_id: int | None,
    defer_workflow_task: bool,
) -> _Locked | None:
    """Lock execution then activity (always in that order) if ``attempt`` is still current."""
    if execution_id is None:
        execution_id = _execution_id_of(activity_task_id)
        if execution_id is None:
            return None
    execution = lock_execution(pk=execution_id)
    activity = ActivityTask.objects.select_for_update().filter(pk=activity_task_id).first()
    if execution is None or activity is None:
        return None
    if activity.status != ActivityStatus.STARTED or activity.attempt != attempt:
        _log_stale(attempt, activity, execution)
        return None
    if not execution.is_running:
        _log_closed_run(activity, execution)
        return None
    activity.execution = execution
    writer = HistoryWriter(execution, now, defer_workflow_task=defer_workflow_task)
    return _Locked(writer, activity)


def _log_stale(attempt: int, current: ActivityTask, execution: WorkflowExecution) -> None:
    logger.warning(
        "Dropping the outcome of %s attempt %s of workflow %s: that attempt is no longer "
        "current (now attempt %s, %s).",
        current.activity_type,
        attempt,
        execution.workflow_id,
        current.attempt,
        current.status,
    )


def _log_closed_run(activity: ActivityTask, execution: WorkflowExecution) -> None:
    logger.info(
        "Dropping the outcome of %s attempt %s: workflow %s is %s.",
        activity.activity_type,
        activity.attempt,
        execution.workflow_id,
        execution.status,
    )


def _append_started(writer: HistoryWriter, activity: ActivityTask) -> int | None:
    if activity.started_time is None:
        return None
    return writer.append(
        EventType.ACTIVITY_TASK_STARTED,
        {
            "scheduled_event_id": activity.scheduled_event_id,
            "attempt": activity.attempt,
            "identity": activity.worker_identity,
            "started_time": activity.started_time.isoformat(),
            "last_failure": activity.last_failure,
        },
    )


def _append_outcome(
    writer: HistoryWriter, activity: ActivityTask, event_type: EventType, attributes: dict[str, Any]
) -> None:
    started_event_id = _append_started(writer, activity)
    writer.append(
        event_type,
        {
            "scheduled_event_id": activity.scheduled_event_id,
            "started_event_id": started_event_id,
            "attempt": activity.attempt,
            **attributes,
        },
    )
    writer.request_workflow_task()


def _close_activity(
    locked: _Locked, status: ActivityStatus, event_type: EventType, attributes: dict[str, Any]
) -> PendingWorkflowTask | None:
    writer, activity = locked.writer, locked.activity
    _append_outcome(writer, activity, event_type, attributes)
    activity.status = status
    activity.timeout_at = None
    released = activity.holds_slot
    activity.holds_slot = False
    activity.save(update_fields=["status", "timeout_at", "last_failure", "holds_slot"])
    if released:
        slots.hand_over([activity.limit_key], writer.now)
    return writer.save()


def complete_attempt(
    activity: ActivityTask, result: Any, now: datetime, *, defer_workflow_task: bool = False
) -> PendingWorkflowTask | None:
    """Record the result of the attempt ``activity`` (as its worker claimed it).

    Dropped with a log line if that attempt is no longer current (it timed out and was
    retried, or the run closed). With ``defer_workflow_task`` the workflow task this
    makes pending is returned, not hinted.
    """
    with transaction.atomic():
        completion = record_completion(
            activity, result, now, defer_workflow_task=defer_workflow_task
        )
    return completion.next_task if completion is not None else None


@dataclass(frozen=True)
class Completion:
    """A completion that was recorded, and the workflow task it made pending (if deferred)."""

    next_task: PendingWorkflowTask | None


def record_completion(
    activity: ActivityTask, result: Any, now: datetime, *, defer_workflow_task: bool = False
) -> Completion | None:
    """Record the attempt's result in the caller's transaction; None if it is stale.

    The run's lock is taken here, so a caller that wrote before (an atomic activity's body)
    holds it only from this point to its commit. A caller that must not keep its own
    writes when the result is dropped rolls back on None.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_completion() must run inside transaction.atomic().")
    execution = lock_execution(pk=activity.execution_id)
    if execution is None:
        return None
    if not execution.is_running:
        _log_closed_run(activity, execution)
        return None
    # The check that the attempt is current and its close, in one statement: the
    # worker holds the row as its claim wrote it, so nothing needs reading back.
    closed = ActivityTask.objects.filter(
        pk=activity.pk, attempt=activity.attempt, status=ActivityStatus.STARTED
    ).update(status=ActivityStatus.COMPLETED, timeout_at=None, holds_slot=False)
    if not closed:
        current = ActivityTask.objects.filter(pk=activity.pk).first()
        if current is not None:
            _log_stale(activity.attempt, current, execution)
        return None
    activity.status, activity.timeout_at, activity.execution = (
        ActivityStatus.COMPLETED,
        None,
        execution,
    )
    writer = HistoryWriter(execution, now, defer_workflow_task=defer_workflow_task)
    _append_outcome(writer, activity, EventType.ACTIVITY_TASK_COMPLETED, {"result": result})
    if activity.holds_slot:
        activity.holds_slot = False
        slots.hand_over([activity.limit_key], now)
    return Completion(writer.save())


def release_claim(activity: ActivityTask, now: datetime) -> None:
    """Give back an attempt this worker claimed but will not run: hint the broker instead."""
    with transaction.atomic():
        lock_execution(pk=activity.execution_id)
        released = ActivityTask.objects.filter(
            pk=activity.pk, attempt=activity.attempt, status=ActivityStatus.STARTED
        ).update(
            status=ActivityStatus.SCHEDULED,
            started_time=None,
            worker_identity="",
            dispatched_at=now,
            timeout_at=scheduled_deadline(activity),
        )
        if released:
            _dispatch.activity_task(activity.pk, activity.attempt, activity.task_queue)


def fail_attempt(
    activity_task_id: int,
    attempt: int,
    failure: Failure,
    now: datetime,
    *,
    execution_id: int | None = None,
    defer_workflow_task: bool = False,
) -> PendingWorkflowTask | None:
    """Record that ``attempt`` raised: retry per policy, or fail the activity for good.

    Arguments and return value as :func:`complete_attempt`.
    """
    with transaction.atomic():
        locked = _lock_current_attempt(
            activity_task_id, attempt, now, execution_id, defer_workflow_task
        )
        if locked is None:
            return None
        if locked.activity.cancel_requested and failure.kind is FailureKind.CANCELLED:
            return _close_activity(
                locked,
                ActivityStatus.CANCELED,
                EventType.ACTIVITY_TASK_CANCELED,
                {"failure": failure.to_dict()},
            )
        return _after_failed_attempt(locked, failure, now, timeout_type=None)


def _retry_state(
    activity: ActivityTask,
    policy: RetryPolicy,
    failure: Failure,
    now: datetime,
    timeout_type: TimeoutType | None,
) -> RetryState | None:
    """None to retry; otherwise why not."""
    if timeout_type in (TimeoutType.SCHEDULE_TO_CLOSE, TimeoutType.SCHEDULE_TO_START):
        return RetryState.TIMEOUT
    if failure.non_retryable or failure.type in policy.non_retryable_error_types:
        return RetryState.NON_RETRYABLE_FAILURE
    if activity.cancel_requested:
        return RetryState.CANCEL_REQUESTED
    if policy.maximum_attempts and activity.attempt >= policy.maximum_attempts:
        return RetryState.MAXIMUM_ATTEMPTS_REACHED
    overall = _plus(activity.scheduled_time, activity.schedule_to_close_timeout)
    if overall is not None and now + policy.retry_delay(activity.attempt) >= overall:
        return RetryState.TIMEOUT
    return None


def _after_failed_attempt(
    locked: _Locked, failure: Failure, now: datetime, timeout_type: TimeoutType | None
) -> PendingWorkflowTask | None:
    activity = locked.activity
    policy = RetryPolicy.from_dict(activity.retry_policy)
    retry_state = _retry_state(activity, policy, failure, now, timeout_type)
    if retry_state is None:
        delay = policy.retry_delay(activity.attempt)
        activity.attempt += 1
        activity.status = ActivityStatus.SCHEDULED
        activity.last_failure = failure.to_dict()
        activity.started_time = None
        activity.attempt_scheduled_time = now + delay
        activity.dispatch_after = now + delay
        activity.timeout_at = scheduled_deadline(activity)
        fast = delay <= dw_settings.COUNTDOWN_FAST_PATH_MAX
        # A countdown hint is due at the end of the backoff; without one the tick sends it.
        activity.dispatched_at = now + delay if fast else None
        activity.save()
        if fast:
            _dispatch.activity_task(activity.pk, activity.attempt, activity.task_queue, delay)
        return None
    activity.last_failure = failure.to_dict()
    event_type = (
        EventType.ACTIVITY_TASK_TIMED_OUT if timeout_type else EventType.ACTIVITY_TASK_FAILED
    )
    status = ActivityStatus.TIMED_OUT if timeout_type else ActivityStatus.FAILED
    return _close_activity(
        locked,
        status,
        event_type,
        {"failure": activity.last_failure, "retry_state": retry_state.value},
    )


# --- timeouts (the tick) --------------------------------------------------------------------


def time_out(activity_task_id: int, now: datetime) -> bool:
    """Apply whichever deadline of the activity has passed; False if none has (or it is busy)."""
    with transaction.atomic():
        execution_id = _execution_id_of(activity_task_id)
        if execution_id is None:
            return False
        execution = lock_execution(pk=execution_id, skip_locked=True)
        if execution is None or not execution.is_running:
            return False
        activity = ActivityTask.objects.select_for_update().filter(pk=activity_task_id).first()
        if activity is None or not activity.is_open:
            return False
        timeout_type = _expired_timeout(activity, now)
        if timeout_type is None:
            activity.timeout_at = (
                scheduled_deadline(activity)
                if activity.status == ActivityStatus.SCHEDULED
                else started_deadline(activity)
            )
            activity.save(update_fields=["timeout_at"])
            return False
        activity.execution = execution
        failure = Failure.activity_timed_out(
            timeout_type,
            last_heartbeat_details=activity.heartbeat_details or [],
            cause=Failure.from_dict(activity.last_failure) if activity.last_failure else None,
        )
        _after_failed_attempt(
            _Locked(HistoryWriter(execution, now), activity), failure, now, timeout_type
        )
        return True


# --- heartbeats and cancellation --------------------------------------------------------------


def record_heartbeat(
    activity_task_id: int, attempt: int, details: list[Any], now: datetime
) -> bool:
    """Store heartbeat details and push the heartbeat deadline; returns cancel_requested."""
    with transaction.atomic():
        activity = ActivityTask.objects.select_for_update().filter(pk=activity_task_id).first()
        if (
            activity is None
            or activity.status != ActivityStatus.STARTED
            or activity.attempt != attempt
        ):
            # Stale or closed (e.g. the workflow ended): tell the attempt to stop.
            return True
        activity.heartbeat_details = details
        activity.last_heartbeat_time = now
        activity.timeout_at = started_deadline(activity)
        activity.save(update_fields=["heartbeat_details", "last_heartbeat_time", "timeout_at"])
        return activity.cancel_requested


def cancel_requested(writer: HistoryWriter, scheduled_event_id: int) -> None:
    """The workflow asked to cancel an activity: cancel it now if no attempt is running."""
    activity = (
        ActivityTask.objects.select_for_update()
        .filter(execution=writer.execution, scheduled_event_id=scheduled_event_id)
        .first()
    )
    if activity is None or not activity.is_open:
        return
    activity.cancel_requested = True
    if activity.status == ActivityStatus.SCHEDULED:
        failure = Failure.cancelled("Activity cancelled before it started").to_dict()
        writer.append(
            EventType.ACTIVITY_TASK_CANCELED,
            {
                "scheduled_event_id": activity.scheduled_event_id,
                "started_event_id": None,
                "attempt": activity.attempt,
                "failure": failure,
            },
        )
        activity.status = ActivityStatus.CANCELED
        activity.timeout_at = None
        writer.request_workflow_task()
    released = activity.holds_slot and activity.status == ActivityStatus.CANCELED
    if released:
        activity.holds_slot = False
    activity.save()
    if released:
        slots.hand_over([activity.limit_key], writer.now)
