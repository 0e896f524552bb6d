"""Defining activities and talking to the worker from inside one.

An activity is an ordinary function (sync or ``async``) decorated with
:func:`defn`. It runs in a Celery worker, may do any I/O, and is retried by its
``RetryPolicy`` when it raises. Activities are at-least-once: make them
idempotent, or use ``info().attempt`` and heartbeat details to resume.

An activity may also hand its outcome to someone else: it passes ``info().task_token``
on (to a third party's webhook, a queue, a person) and calls
:func:`raise_complete_async`; whoever holds the token later completes, fails or
heartbeats the attempt through ``Client().get_async_activity_handle(task_token=...)``
or the HTTP API (``POST activities/<token>/complete/``).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn, TypeVar, overload

from . import _registry
from ._engine import ActivityDefinition
from ._engine.definitions import ACTIVITY_ATTR, Concurrency, RateLimit

__all__ = [
    "Concurrency",
    "Info",
    "RateLimit",
    "defn",
    "heartbeat",
    "in_activity",
    "info",
    "is_cancelled",
    "logger",
    "raise_complete_async",
]

FnT = TypeVar("FnT", bound=Callable[..., Any])


@dataclass(frozen=True)
class Info:
    """What ``activity.info()`` returns."""

    activity_id: str
    activity_type: str
    attempt: int
    workflow_id: str
    workflow_run_id: str
    workflow_type: str
    task_queue: str
    scheduled_time: datetime
    started_time: datetime
    heartbeat_details: Sequence[Any] = field(default_factory=tuple)
    heartbeat_timeout: float | None = None
    start_to_close_timeout: float | None = None
    #: True inside a local activity (``workflow.execute_local_activity``).
    is_local: bool = False
    #: Names this attempt, signed with the project's SECRET_KEY (URL-safe ASCII): what
    #: ``Client().get_async_activity_handle(task_token=...)`` and the HTTP API take.
    task_token: bytes = b""


@dataclass
class ActivityContext:
    """Set by the worker around one attempt; the functions below read it."""

    info: Info
    heartbeat: Callable[[Sequence[Any]], None]
    is_cancelled: Callable[[], bool]


_context: contextvars.ContextVar[ActivityContext] = contextvars.ContextVar(
    "durable_workflows_activity"
)


@overload
def defn(fn: FnT) -> FnT: ...
@overload
def defn(
    *,
    name: str | None = None,
    atomic: bool = False,
    concurrency: Concurrency | None = None,
    rate_limit: RateLimit | None = None,
) -> Callable[[FnT], FnT]: ...
def defn(
    fn: FnT | None = None,
    *,
    name: str | None = None,
    atomic: bool = False,
    concurrency: Concurrency | None = None,
    rate_limit: RateLimit | None = None,
) -> FnT | Callable[[FnT], FnT]:
    """Declare an activity and register it under ``name`` (default: the function's name).

    With ``atomic=True`` (synchronous activities, default database only) the body runs in
    a database transaction that also records the attempt's completion: its ORM writes
    persist if and only if the completion does, so they happen exactly once even when a
    worker dies or the attempt was timed out and retried elsewhere. The run's row lock is
    taken after the body, just before commit, not while it runs.

    With ``concurrency=Concurrency(limit, key=None)`` at most ``limit`` attempts of it run
    at once across all workers (per value of its parameter ``key``); the others wait,
    holding no worker, and start in scheduling order as slots free. With
    ``rate_limit=RateLimit(limit, period, key=None)`` at most ``limit`` attempts start per
    ``period`` (per value of ``key``); the others are delayed, durably, until the window
    has room.

    Raises:
        WorkflowDefinitionError: ``atomic=True`` on an async function, or a Concurrency
            key that names no parameter. (Database routers
            with atomic activities are refused by the system check ``durable_workflows.E003``:
            the body's writes must go to the default database.)
    """

    def decorate(function: FnT) -> FnT:
        definition = ActivityDefinition.from_function(
            function, name, atomic=atomic, concurrency=concurrency, rate_limit=rate_limit
        )
        setattr(function, ACTIVITY_ATTR, definition)
        _registry.register_activity(definition)
        return function

    return decorate(fn) if fn is not None else decorate


def _current() -> ActivityContext:
    try:
        return _context.get()
    except LookupError:
        raise RuntimeError(
            "This function can only be called from inside an activity run by a worker."
        ) from None


def in_activity() -> bool:
    return _context.get(None) is not None


def info() -> Info:
    """Identity, attempt number and last heartbeat details of the running attempt."""
    return _current().info


def heartbeat(*details: Any) -> None:
    """Report progress: records ``details`` (seen by a retry) and resets the heartbeat timeout."""
    _current().heartbeat(details)


def is_cancelled() -> bool:
    """True once cancellation of this activity has been requested (learned on heartbeat)."""
    return _current().is_cancelled()


class _CompleteAsyncError(BaseException):
    """Raised by :func:`raise_complete_async`; the worker records no outcome for the attempt.

    A ``BaseException`` (as Temporal's), so ``except Exception`` in the activity does not
    swallow it.
    """


def raise_complete_async() -> NoReturn:
    """End this attempt without completing it: its outcome will come from outside.

    The worker records nothing; the attempt stays started, and its start-to-close,
    heartbeat and schedule-to-close timeouts still apply (an attempt no one completes
    times out and is retried per its retry policy). Whoever holds ``info().task_token``
    completes, fails, heartbeats or reports the cancellation of the attempt with
    ``Client().get_async_activity_handle(task_token=...)`` or over HTTP.

    Raises:
        RuntimeError: called outside an activity.
    """
    _current()
    raise _CompleteAsyncError()


class _ActivityLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        context = _context.get(None)
        if context is not None:
            extra = dict(kwargs.get("extra") or {})
            extra.setdefault("activity_id", context.info.activity_id)
            extra.setdefault("workflow_id", context.info.workflow_id)
            kwargs["extra"] = extra
            msg = f"{msg} ({context.info.activity_type} attempt {context.info.attempt})"
        return msg, kwargs


logger = _ActivityLogger(logging.getLogger("durable_workflows.activity"), {})


def use_context(context: ActivityContext) -> contextvars.Token[ActivityContext]:
    return _context.set(context)


def reset_context(token: contextvars.Token[ActivityContext]) -> None:
    _context.reset(token)
