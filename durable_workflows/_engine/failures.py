"""Exceptions <-> failure dicts, the form in which failures live in histories."""

from __future__ import annotations

import asyncio
import traceback
from typing import Any

from ..exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    FailureError,
    RetryState,
    TerminatedError,
    TimeoutError,
    TimeoutType,
)
from .converter import to_json

_MAX_CAUSE_DEPTH = 8


def failure_from_exception(exc: BaseException, *, _depth: int = 0) -> dict[str, Any]:
    """Describe ``exc`` (and its ``__cause__`` chain) as JSON-ready data."""
    failure: dict[str, Any] = {
        "message": str(exc.message if isinstance(exc, FailureError) else exc),
        # A failure rebuilt from a history keeps the trace of where it was first raised.
        "stack_trace": getattr(exc, "stack_trace", None)
        or "".join(traceback.format_exception(exc, chain=False)),
    }
    if isinstance(exc, ActivityError):
        failure.update(
            kind="ActivityError",
            activity_type=exc.activity_type,
            activity_id=exc.activity_id,
            scheduled_event_id=exc.scheduled_event_id,
            attempt=exc.attempt,
            retry_state=exc.retry_state.value if exc.retry_state else None,
        )
    elif isinstance(exc, ChildWorkflowError):
        failure.update(
            kind="ChildWorkflowError", workflow_id=exc.workflow_id, workflow_type=exc.workflow_type
        )
    elif isinstance(exc, TimeoutError):
        failure.update(
            kind="TimeoutError",
            timeout_type=exc.type.value if exc.type else None,
            last_heartbeat_details=_safe_json(list(exc.last_heartbeat_details)),
        )
    elif isinstance(exc, CancelledError):
        failure.update(kind="CancelledError", details=_safe_json(list(exc.details)))
    elif isinstance(exc, asyncio.CancelledError):
        failure.update(kind="CancelledError", details=[])
    elif isinstance(exc, TerminatedError):
        failure.update(kind="TerminatedError")
    elif isinstance(exc, ApplicationError):
        failure.update(
            kind="ApplicationError",
            type=exc.type,
            non_retryable=exc.non_retryable,
            details=_safe_json(list(exc.details)),
        )
    else:
        failure.update(
            kind="ApplicationError",
            type=type(exc).__name__,
            non_retryable=False,
            details=[],
        )
    cause = exc.__cause__
    if cause is not None and _depth < _MAX_CAUSE_DEPTH:
        failure["cause"] = failure_from_exception(cause, _depth=_depth + 1)
    return failure


def exception_from_failure(failure: dict[str, Any]) -> FailureError:
    """Rebuild the exception described by ``failure`` (with its cause chain)."""
    kind = failure.get("kind")
    message = failure.get("message", "")
    exc: FailureError
    if kind == "ActivityError":
        retry_state = failure.get("retry_state")
        exc = ActivityError(
            message,
            activity_type=failure.get("activity_type", ""),
            activity_id=failure.get("activity_id", ""),
            scheduled_event_id=failure.get("scheduled_event_id", 0),
            attempt=failure.get("attempt", 0),
            retry_state=RetryState(retry_state) if retry_state else None,
        )
    elif kind == "ChildWorkflowError":
        exc = ChildWorkflowError(
            message,
            workflow_id=failure.get("workflow_id", ""),
            workflow_type=failure.get("workflow_type", ""),
        )
    elif kind == "TimeoutError":
        timeout_type = failure.get("timeout_type")
        exc = TimeoutError(
            message,
            type=TimeoutType(timeout_type) if timeout_type else None,
            last_heartbeat_details=failure.get("last_heartbeat_details") or [],
        )
    elif kind == "CancelledError":
        exc = CancelledError(message, *(failure.get("details") or []))
    elif kind == "TerminatedError":
        exc = TerminatedError(message)
    else:
        exc = ApplicationError(
            message,
            *(failure.get("details") or []),
            type=failure.get("type"),
            non_retryable=bool(failure.get("non_retryable")),
        )
    exc.stack_trace = failure.get("stack_trace", "")  # type: ignore[attr-defined]
    if failure.get("cause"):
        exc.__cause__ = exception_from_failure(failure["cause"])
    return exc


def error_type_of(failure: dict[str, Any]) -> str | None:
    """The name ``non_retryable_error_types`` is matched against."""
    return failure.get("type")


def _safe_json(values: list[Any]) -> list[Any]:
    try:
        return to_json(values)
    except Exception:
        return [repr(v) for v in values]
