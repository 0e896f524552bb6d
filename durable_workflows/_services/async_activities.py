"""Async activity completion: settling an attempt from outside its worker, by task token.

An activity that called ``activity.raise_complete_async()`` is left STARTED. Whoever holds
its task token completes it, fails it, heartbeats it or reports its cancellation here;
the client's async activity handle and the HTTP API call these. Outcomes are recorded by
the same store functions the worker uses, so the workflow task wakes up the same way.

The token names one attempt. Each call locks the run's row (the lock every change of an
attempt's state takes first), checks that the attempt is still the current one and
started, and records under that lock: once the attempt is over (settled, timed out,
superseded by a retry, or its run closed) a call is refused with
:class:`AsyncActivityAlreadyCompletedError` and records nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import transaction

from .. import _clock, _store, _task_tokens
from .._engine import Failure, check_size
from ..conf import dw_settings
from ..exceptions import (
    ActivityNotCancelRequestedError,
    AsyncActivityAlreadyCompletedError,
    CancelledError,
)
from ..models import ActivityStatus, ActivityTask
from .arguments import encode_payload


def check_task_token(task_token: bytes | str) -> None:
    """Refuse a token this project did not sign, before anything else is looked at.

    Raises:
        InvalidTaskTokenError: it is not one.
    """
    _task_tokens.read(task_token)


@contextmanager
def _current_attempt(task_token: bytes | str) -> Iterator[ActivityTask]:
    """A transaction holding the run's row lock, and the attempt the token names.

    Raises:
        InvalidTaskTokenError: a token this project did not issue.
        AsyncActivityAlreadyCompletedError: that attempt is over.
    """
    activity_task_id, attempt = _task_tokens.read(task_token)
    with transaction.atomic():
        execution_id = (
            ActivityTask.objects.filter(pk=activity_task_id)
            .values_list("execution_id", flat=True)
            .first()
        )
        execution = None if execution_id is None else _store.lock_execution(pk=execution_id)
        activity = (
            None if execution is None else ActivityTask.objects.filter(pk=activity_task_id).first()
        )
        if execution is None or activity is None:
            raise AsyncActivityAlreadyCompletedError(
                "The activity of this task token no longer exists (its run was deleted)."
            )
        if not execution.is_running:
            raise AsyncActivityAlreadyCompletedError(
                f"The workflow of activity {activity.activity_type!r} is {execution.status}."
            )
        if activity.attempt != attempt:
            raise AsyncActivityAlreadyCompletedError(
                f"This task token names attempt {attempt} of activity {activity.activity_type!r},"
                f" which is over: the activity is at attempt {activity.attempt} "
                f"({activity.status}). Use the token of the current attempt."
            )
        if activity.status != ActivityStatus.STARTED:
            raise AsyncActivityAlreadyCompletedError(
                f"Attempt {attempt} of activity {activity.activity_type!r} is over: the "
                f"activity is {activity.status}."
            )
        activity.execution = execution
        yield activity


def _status_of(activity_task_id: int) -> str:
    status: str = (
        ActivityTask.objects.filter(pk=activity_task_id).values_list("status", flat=True).get()
    )
    return status


def complete_activity(task_token: bytes | str, result: Any) -> str:
    """Record ``result`` as the outcome of the attempt, and wake its workflow.

    Returns:
        The activity's status afterwards (``COMPLETED``).

    Raises:
        InvalidTaskTokenError, AsyncActivityAlreadyCompletedError.
        PayloadError: ``result`` is not JSON-serializable, too deep or too large.
    """
    payload = encode_payload(result, "The result of the activity")
    with _current_attempt(task_token) as activity:
        _store.complete_attempt(activity, payload, _clock.now())
        return _status_of(activity.pk)


def fail_activity(
    task_token: bytes | str, error: BaseException, last_heartbeat_details: Sequence[Any] = ()
) -> str:
    """Record that the attempt failed with ``error``: it is retried per its retry policy,
    or the activity fails (the workflow sees ``ActivityError`` with ``error`` as cause).

    Args:
        task_token: The attempt's token.
        error: What went wrong; an ``ApplicationError`` keeps its type, details and
            ``non_retryable`` flag, any other exception becomes one named after its class.
        last_heartbeat_details: Stored first, as by a heartbeat, so a retry resumes from them.

    Returns:
        The activity's status afterwards: ``SCHEDULED`` (to be retried) or ``FAILED``
        (``CANCELED`` for a cancellation that was requested).

    Raises:
        InvalidTaskTokenError, AsyncActivityAlreadyCompletedError.
        PayloadError: the failure or the details cannot be stored.
    """
    failure = Failure.from_exception(error)
    check_size(failure.to_dict(), dw_settings.MAX_PAYLOAD_BYTES, "The activity's failure")
    details = _details(last_heartbeat_details, "The last heartbeat details")
    with _current_attempt(task_token) as activity:
        now = _clock.now()
        if details:
            _store.record_heartbeat(activity.pk, activity.attempt, details, now)
        _store.fail_attempt(
            activity.pk, activity.attempt, failure, now, execution_id=activity.execution_id
        )
        return _status_of(activity.pk)


def heartbeat_activity(task_token: bytes | str, details: Sequence[Any] = ()) -> bool:
    """Record progress: store ``details`` and push the attempt's heartbeat deadline.

    Returns:
        Whether cancellation of the activity has been requested (then stop, and call
        :func:`report_activity_cancellation`).

    Raises:
        InvalidTaskTokenError, AsyncActivityAlreadyCompletedError.
        PayloadError: the details cannot be stored.
    """
    payload = _details(details, "The heartbeat details")
    with _current_attempt(task_token) as activity:
        return _store.record_heartbeat(activity.pk, activity.attempt, payload, _clock.now())


def report_activity_cancellation(task_token: bytes | str, details: Sequence[Any] = ()) -> str:
    """Record that the attempt stopped because its cancellation was requested: the
    activity closes CANCELED (the workflow sees ``ActivityError`` caused by
    ``CancelledError``).

    Returns:
        The activity's status afterwards (``CANCELED``).

    Raises:
        InvalidTaskTokenError, AsyncActivityAlreadyCompletedError.
        ActivityNotCancelRequestedError: no one asked to cancel the activity.
        PayloadError: the details cannot be stored.
    """
    payload = _details(details, "The cancellation details")
    with _current_attempt(task_token) as activity:
        if not activity.cancel_requested:
            raise ActivityNotCancelRequestedError(
                f"Cancellation of activity {activity.activity_type!r} was not requested; "
                "complete or fail it instead."
            )
        failure = Failure.from_exception(CancelledError("Activity cancelled", *payload))
        _store.fail_attempt(
            activity.pk, activity.attempt, failure, _clock.now(), execution_id=activity.execution_id
        )
        return _status_of(activity.pk)


def _details(details: Sequence[Any], what: str) -> list[Any]:
    payload: list[Any] = encode_payload(list(details), what)
    return payload
