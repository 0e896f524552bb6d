"""One activity attempt: claim it, run the user's code outside a transaction, record the outcome."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import DatabaseError, close_old_connections, transaction

from . import _clock, _registry, _store, _task_tokens
from ._engine import Failure, check_size, to_json
from ._store import PendingWorkflowTask
from .activity import ActivityContext, Info, _CompleteAsyncError, reset_context, use_context
from .activity import logger as activity_logger
from .conf import dw_settings
from .exceptions import CancelledError
from .models import ActivityTask

logger = logging.getLogger("durable_workflows.activities")

T = TypeVar("T")

#: Heartbeats are written at most this often when no heartbeat timeout is set.
DEFAULT_HEARTBEAT_THROTTLE_SECONDS = 30.0

# Heartbeats may come from async activities, on a thread with a running event
# loop, where Django forbids ORM calls; they are written from this thread instead.
_heartbeat_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="durable-heartbeat")


def identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


@dataclass(frozen=True)
class AttemptDone:
    """An attempt whose outcome is recorded: the workflow task it made due, if any."""

    next_task: PendingWorkflowTask | None
    #: The queue the attempt was taken from: this worker serves it.
    task_queue: str


def run_attempt(activity_task_id: int, attempt: int) -> AttemptDone | None:
    """Claim ``attempt`` of an activity, if it is still the one to run, and run it."""
    activity = _store.claim_attempt(activity_task_id, attempt, identity(), _clock.now())
    if activity is None:
        return None
    return run_claimed(activity)


def run_claimed(activity: ActivityTask) -> AttemptDone:
    """Run an attempt this worker has claimed (its row says STARTED, by this worker).

    The outcome commits on its own; the workflow task it makes due is deferred and
    returned, for the caller to run here (``_chain``) or hint.
    """
    heartbeater = _Heartbeater(activity)
    context = ActivityContext(
        info=_info(activity), heartbeat=heartbeater.heartbeat, is_cancelled=heartbeater.is_cancelled
    )
    token = use_context(context)
    next_task: PendingWorkflowTask | None = None
    atomic = _is_atomic(activity)
    try:
        if atomic:
            next_task = _run_and_complete_atomically(activity, heartbeater)
        else:
            payload = _run(activity)
    except _SupersededError:
        pass  # its writes rolled back with the completion that was refused
    except _CommitFailedError as exc:
        # The body succeeded but its transaction could not commit (a deadlock, a lost
        # connection): nothing of it persists. Not the activity's failure: the attempt stays
        # STARTED and its timeout retries it, as for a worker that died.
        logger.warning(
            "Could not commit atomic activity %s: %s", activity.activity_type, exc.__cause__
        )
    except _CompleteAsyncError:
        # The outcome comes from outside (the task token): record none. The attempt stays
        # STARTED with its deadlines, so one that no one completes times out as any other.
        heartbeater.flush()
        heartbeater.stop()
    except (Exception, asyncio.CancelledError) as exc:  # an async activity may end cancelled
        if not isinstance(exc, asyncio.CancelledError | CancelledError):
            # Temporal's record, tagged as its SDK tags it, so log filters written for it match.
            activity_logger.warning(
                "Completing activity as failed",
                exc_info=exc,
                extra={"__temporal_error_identifier": "ActivityFailure"},
            )
        heartbeater.flush()  # the next attempt resumes from the latest details
        heartbeater.stop()
        next_task = _store.fail_attempt(
            activity.pk,
            activity.attempt,
            Failure.from_exception(exc),
            _clock.now(),
            execution_id=activity.execution_id,
            defer_workflow_task=True,
        )
    else:
        if not atomic:
            heartbeater.stop()
            next_task = _store.complete_attempt(
                activity, payload, _clock.now(), defer_workflow_task=True
            )
    finally:
        heartbeater.stop()
        reset_context(token)
    return AttemptDone(next_task, activity.task_queue)


class _SupersededError(Exception):
    """An atomic attempt finished but is no longer current: roll its writes back."""


class _CommitFailedError(Exception):
    """An atomic attempt's body returned, but its transaction failed to record or commit."""


def _is_atomic(activity: ActivityTask) -> bool:
    try:
        return _registry.get_activity(activity.activity_type, activity.task_queue).atomic
    except Exception:
        return False  # _run reports the lookup's error as the attempt's failure


def _run_and_complete_atomically(
    activity: ActivityTask, heartbeater: _Heartbeater
) -> PendingWorkflowTask | None:
    """The body and the completion in one transaction (``@activity.defn(atomic=True)``).

    The body's ORM writes and ActivityTaskCompleted commit together or not at all: if the
    body raises, if the attempt was superseded meanwhile, or if the worker dies before the
    commit, nothing of the body persists. The run's lock is taken after the body.
    """
    body_returned = False
    try:
        with transaction.atomic():
            payload = _run(activity)
            body_returned = True
            heartbeater.stop()
            completion = _store.record_completion(
                activity, payload, _clock.now(), defer_workflow_task=True
            )
            if completion is None:
                raise _SupersededError
    except DatabaseError as exc:
        if not body_returned:
            raise  # the body's own database error: the attempt's failure
        raise _CommitFailedError from exc
    return completion.next_task


def _run(activity: ActivityTask) -> Any:
    definition = _registry.get_activity(activity.activity_type, activity.task_queue)
    if not definition.runnable:
        owner = definition.fn.__qualname__.rsplit(".", 1)[0]
        raise RuntimeError(
            f"Activity {definition.name!r} is a method of {owner}"
            " and no instance of it is registered in this worker process: create the worker "
            "with Worker(activities=[instance.method]) in the process that runs it."
        )
    args = definition.signature.decode_args(activity.input)
    value = asyncio.run(definition.fn(*args)) if definition.is_async else definition.fn(*args)
    payload = to_json(value)
    check_size(payload, dw_settings.MAX_PAYLOAD_BYTES, f"The result of activity {definition.name}")
    return payload


def _info(activity: ActivityTask) -> Info:
    execution = activity.execution
    return Info(
        activity_id=activity.activity_id,
        activity_type=activity.activity_type,
        attempt=activity.attempt,
        workflow_id=execution.workflow_id,
        workflow_run_id=str(execution.run_id),
        workflow_type=execution.workflow_type,
        task_queue=activity.task_queue,
        scheduled_time=activity.scheduled_time,
        started_time=activity.started_time or _clock.now(),
        heartbeat_details=tuple(activity.heartbeat_details or ()),
        heartbeat_timeout=activity.heartbeat_timeout,
        start_to_close_timeout=activity.start_to_close_timeout,
        task_token=_task_tokens.issue(activity.pk, activity.attempt),
    )


def _with_fresh_connection(fn: Callable[[], T]) -> T:
    close_old_connections()
    return fn()


class _Heartbeater:
    """Throttled heartbeat writes: the first at once, then at most every 0.8 x heartbeat_timeout.

    Details that arrive inside the throttle window are not dropped: a timer writes the
    latest of them when the window ends (as Temporal's SDK does). Without it, an activity
    heartbeating every 0.5 s against a 1 s timeout would see its writes spaced up to
    0.8 + 0.5 s apart, and be timed out while alive.
    """

    def __init__(self, activity: ActivityTask) -> None:
        self._activity_id = activity.pk
        self._attempt = activity.attempt
        timeout = activity.heartbeat_timeout
        self._interval = 0.8 * timeout if timeout else DEFAULT_HEARTBEAT_THROTTLE_SECONDS
        self._last_write = -self._interval
        self._pending: list[Any] | None = None
        self._cancelled = activity.cancel_requested
        self._lock = threading.Lock()
        self._trailing: threading.Timer | None = None
        self._stopped = False

    def heartbeat(self, details: Sequence[Any]) -> None:
        if self._cancelled:
            # Learned on an earlier heartbeat and not acted on: stop the activity here, as
            # Temporal's heartbeat does (is_cancelled() lets it clean up first).
            raise CancelledError("Activity cancelled: cancellation was requested")
        with self._lock:
            self._pending = to_json(list(details))
            wait = self._last_write + self._interval - time.monotonic()
            if wait > 0:
                if self._trailing is None and not self._stopped:
                    self._trailing = threading.Timer(wait, self._flush_trailing)
                    self._trailing.daemon = True
                    self._trailing.start()
                return
        self.flush()

    def _flush_trailing(self) -> None:
        with self._lock:
            self._trailing = None
        self.flush()

    def flush(self) -> None:
        with self._lock:
            details, self._pending = self._pending, None
            if details is None or self._stopped:
                return
            self._last_write = time.monotonic()
            # Submitted under the lock, so the single writer thread stores details in the
            # order they were taken: a trailing write never overwrites a newer one.
            written = _heartbeat_writer.submit(
                _with_fresh_connection,
                lambda: _store.record_heartbeat(
                    self._activity_id, self._attempt, details, _clock.now()
                ),
            )
        self._cancelled = written.result() or self._cancelled

    def stop(self) -> None:
        """Write nothing more for this attempt: its outcome is being recorded."""
        with self._lock:
            self._stopped = True
            if self._trailing is not None:
                self._trailing.cancel()
                self._trailing = None

    def is_cancelled(self) -> bool:
        return self._cancelled
