"""Failures as they live in histories: a typed value, its dict form, and exceptions.

A :class:`Failure` describes what went wrong (an application error, an activity
that finally failed, a timeout, a cancellation, a termination) and what caused
it. Histories store it as a JSON dict whose shape is fixed by the histories
already recorded: ``to_dict()`` writes exactly that shape and ``from_dict()``
reads it back, so ``Failure.from_dict(d).to_dict() == d`` for every dict the
package writes.
"""

from __future__ import annotations

import asyncio
import enum
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, replace
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


class FailureKind(enum.StrEnum):
    """Which exception a failure rebuilds as; stored as ``"kind"``."""

    APPLICATION = "ApplicationError"
    ACTIVITY = "ActivityError"
    CHILD_WORKFLOW = "ChildWorkflowError"
    TIMEOUT = "TimeoutError"
    CANCELLED = "CancelledError"
    TERMINATED = "TerminatedError"


@dataclass(frozen=True)
class Failure:
    """One failure and its cause chain.

    ``kind``, ``message``, ``stack_trace`` and ``cause`` apply to every kind; the
    other fields belong to the kinds named beside them and are ignored otherwise.
    ``stack_trace`` is None for failures the store declares without an exception
    (a termination, a run's execution timeout).
    """

    kind: FailureKind
    message: str
    stack_trace: str | None = None
    cause: Failure | None = None
    # APPLICATION
    type: str | None = None
    non_retryable: bool = False
    # APPLICATION and CANCELLED
    details: tuple[Any, ...] = ()
    # ACTIVITY
    activity_type: str | None = None
    activity_id: str | None = None
    scheduled_event_id: int | None = None
    attempt: int | None = None
    retry_state: RetryState | None = None
    # CHILD_WORKFLOW
    workflow_id: str | None = None
    workflow_type: str | None = None
    # TIMEOUT (``last_heartbeat_details`` is None when not recorded at all)
    timeout_type: TimeoutType | None = None
    last_heartbeat_details: tuple[Any, ...] | None = None

    # --- named constructors for failures declared without a raised exception ------------

    @classmethod
    def terminated(cls, reason: str) -> Failure:
        """The failure of a run closed by ``terminate(reason)``."""
        return cls(FailureKind.TERMINATED, reason or "Terminated")

    @classmethod
    def workflow_timed_out(cls) -> Failure:
        """The failure of a run closed because its execution timeout passed."""
        return cls(FailureKind.TIMEOUT, "Workflow execution timed out")

    @classmethod
    def activity_timed_out(
        cls,
        timeout_type: TimeoutType,
        *,
        last_heartbeat_details: Sequence[Any] = (),
        cause: Failure | None = None,
    ) -> Failure:
        """An activity attempt (or the activity) ran past ``timeout_type``.

        Args:
            timeout_type: The deadline that passed.
            last_heartbeat_details: What the attempt last reported.
            cause: The previous attempt's failure, if any.
        """
        label = timeout_type.value.lower().replace("_", "-")
        error = TimeoutError(
            f"Activity {label} timeout",
            type=timeout_type,
            last_heartbeat_details=last_heartbeat_details,
        )
        return replace(cls.from_exception(error), cause=cause)

    @classmethod
    def cancelled(cls, message: str) -> Failure:
        """A cancellation, e.g. of an activity that never started."""
        return cls.from_exception(CancelledError(message))

    # --- exceptions ----------------------------------------------------------------------

    @classmethod
    def from_exception(cls, exc: BaseException) -> Failure:
        """Describe ``exc`` and its ``__cause__`` chain.

        A :class:`FailureError` keeps its kind and fields; any other exception
        becomes an application failure whose ``type`` is its class name.
        """
        return _from_exception(exc, depth=0)

    def to_exception(self) -> FailureError:
        """Rebuild the exception this failure describes, with its cause chain."""
        exc = self._exception()
        exc.stack_trace = self.stack_trace or ""
        exc.failure = self
        if self.cause is not None:
            exc.__cause__ = self.cause.to_exception()
        return exc

    def _exception(self) -> FailureError:
        if self.kind is FailureKind.ACTIVITY:
            return ActivityError(
                self.message,
                activity_type=self.activity_type or "",
                activity_id=self.activity_id or "",
                scheduled_event_id=self.scheduled_event_id or 0,
                attempt=self.attempt or 0,
                retry_state=self.retry_state,
            )
        if self.kind is FailureKind.CHILD_WORKFLOW:
            return ChildWorkflowError(
                self.message,
                workflow_id=self.workflow_id or "",
                workflow_type=self.workflow_type or "",
            )
        if self.kind is FailureKind.TIMEOUT:
            return TimeoutError(
                self.message,
                type=self.timeout_type,
                last_heartbeat_details=list(self.last_heartbeat_details or ()),
            )
        if self.kind is FailureKind.CANCELLED:
            return CancelledError(self.message, *self.details)
        if self.kind is FailureKind.TERMINATED:
            return TerminatedError(self.message)
        return ApplicationError(
            self.message, *self.details, type=self.type, non_retryable=self.non_retryable
        )

    # --- the stored form -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict stored in histories and on executions."""
        data: dict[str, Any] = {"message": self.message}
        if self.stack_trace is not None:
            data["stack_trace"] = self.stack_trace
        data["kind"] = self.kind.value
        data.update(self._kind_fields())
        if self.cause is not None:
            data["cause"] = self.cause.to_dict()
        return data

    def _kind_fields(self) -> dict[str, Any]:
        if self.kind is FailureKind.ACTIVITY:
            return {
                "activity_type": self.activity_type,
                "activity_id": self.activity_id,
                "scheduled_event_id": self.scheduled_event_id,
                "attempt": self.attempt,
                "retry_state": self.retry_state.value if self.retry_state else None,
            }
        if self.kind is FailureKind.CHILD_WORKFLOW:
            return {"workflow_id": self.workflow_id, "workflow_type": self.workflow_type}
        if self.kind is FailureKind.TIMEOUT:
            fields: dict[str, Any] = {
                "timeout_type": self.timeout_type.value if self.timeout_type else None
            }
            if self.last_heartbeat_details is not None:
                fields["last_heartbeat_details"] = list(self.last_heartbeat_details)
            return fields
        if self.kind is FailureKind.CANCELLED:
            return {"details": list(self.details)}
        if self.kind is FailureKind.TERMINATED:
            return {}
        return {
            "type": self.type,
            "non_retryable": self.non_retryable,
            "details": list(self.details),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Failure:
        """Read a stored failure; an unknown or missing kind reads as an application failure."""
        retry_state = data.get("retry_state")
        timeout_type = data.get("timeout_type")
        heartbeat = data.get("last_heartbeat_details")
        cause = data.get("cause")
        return cls(
            kind=_kind_of(data.get("kind")),
            message=data.get("message", ""),
            stack_trace=data.get("stack_trace"),
            cause=cls.from_dict(cause) if cause else None,
            type=data.get("type"),
            non_retryable=bool(data.get("non_retryable")),
            details=tuple(data.get("details") or ()),
            activity_type=data.get("activity_type"),
            activity_id=data.get("activity_id"),
            scheduled_event_id=data.get("scheduled_event_id"),
            attempt=data.get("attempt"),
            retry_state=RetryState(retry_state) if retry_state else None,
            workflow_id=data.get("workflow_id"),
            workflow_type=data.get("workflow_type"),
            timeout_type=TimeoutType(timeout_type) if timeout_type else None,
            last_heartbeat_details=tuple(heartbeat) if heartbeat is not None else None,
        )


def _kind_of(value: Any) -> FailureKind:
    try:
        return FailureKind(value)
    except ValueError:
        return FailureKind.APPLICATION


def _from_exception(exc: BaseException, *, depth: int) -> Failure:
    message = str(exc.message if isinstance(exc, FailureError) else exc)
    # A failure rebuilt from a history keeps the trace of where it was first raised.
    stack_trace = getattr(exc, "stack_trace", None) or "".join(
        traceback.format_exception(exc, chain=False)
    )
    failure = _described(exc, message, stack_trace)
    if exc.__cause__ is not None and depth < _MAX_CAUSE_DEPTH:
        failure = replace(failure, cause=_from_exception(exc.__cause__, depth=depth + 1))
    return failure


def _described(exc: BaseException, message: str, stack_trace: str) -> Failure:
    if isinstance(exc, ActivityError):
        return Failure(
            FailureKind.ACTIVITY,
            message,
            stack_trace,
            activity_type=exc.activity_type,
            activity_id=exc.activity_id,
            scheduled_event_id=exc.scheduled_event_id,
            attempt=exc.attempt,
            retry_state=exc.retry_state,
        )
    if isinstance(exc, ChildWorkflowError):
        return Failure(
            FailureKind.CHILD_WORKFLOW,
            message,
            stack_trace,
            workflow_id=exc.workflow_id,
            workflow_type=exc.workflow_type,
        )
    if isinstance(exc, TimeoutError):
        return Failure(
            FailureKind.TIMEOUT,
            message,
            stack_trace,
            timeout_type=exc.type,
            last_heartbeat_details=_safe_json(exc.last_heartbeat_details),
        )
    if isinstance(exc, CancelledError):
        return Failure(FailureKind.CANCELLED, message, stack_trace, details=_safe_json(exc.details))
    if isinstance(exc, asyncio.CancelledError):
        return Failure(FailureKind.CANCELLED, message, stack_trace)
    if isinstance(exc, TerminatedError):
        return Failure(FailureKind.TERMINATED, message, stack_trace)
    if isinstance(exc, ApplicationError):
        return Failure(
            FailureKind.APPLICATION,
            message,
            stack_trace,
            type=exc.type,
            non_retryable=exc.non_retryable,
            details=_safe_json(exc.details),
        )
    return Failure(FailureKind.APPLICATION, message, stack_trace, type=type(exc).__name__)


def _safe_json(values: Sequence[Any]) -> tuple[Any, ...]:
    try:
        return tuple(to_json(list(values)))
    except Exception:
        return tuple(repr(v) for v in values)


# --- the dict-based names callers outside the engine still use ---------------------------


def failure_from_exception(exc: BaseException) -> dict[str, Any]:
    """``Failure.from_exception(exc).to_dict()``."""
    return Failure.from_exception(exc).to_dict()


def exception_from_failure(failure: dict[str, Any]) -> FailureError:
    """``Failure.from_dict(failure).to_exception()``."""
    return Failure.from_dict(failure).to_exception()
