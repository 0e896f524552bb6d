"""Hints are sent only after the transaction that made them true commits.

A hint that is lost (broker down, worker killed) costs latency, not correctness:
the tick finds the work in the database and sends the hint again. This module holds
the current :class:`~durable_workflows._transport.Transport` (Celery unless a test
environment installed its own) and is the only caller of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import TypeVar

from django.db import transaction

from ._transport import (
    ACTIVITY_TASK,
    DELIVER_REQUEST,
    FIRE_TIMER,
    WORKFLOW_TASK,
    CeleryTransport,
    Hint,
    Transport,
)

T = TypeVar("T")

_default: Transport = CeleryTransport()
_current: Transport = _default


def install(transport: Transport) -> None:
    """Carry hints and waits through ``transport`` until :func:`uninstall`.

    Raises:
        RuntimeError: another transport than the default is installed already.
    """
    global _current
    if _current is not _default:
        raise RuntimeError("A WorkflowEnvironment is already active in this process.")
    _current = transport


def uninstall(transport: Transport) -> None:
    """Go back to the default transport if ``transport`` is the installed one."""
    global _current
    if _current is transport:
        _current = _default


def _countdown(delay: timedelta | None) -> float | None:
    if delay is None:
        return None
    seconds = delay.total_seconds()
    return seconds if seconds > 0 else None


def _send_on_commit(hint: Hint) -> None:
    # The transport is looked up when the hint leaves, not when it was made.
    transaction.on_commit(lambda: _current.send(hint))


def workflow_task(run_id: str, queue: str, delay: timedelta | None = None) -> None:
    """After commit, ask a worker on ``queue`` to run the pending workflow task of ``run_id``."""
    _send_on_commit(Hint(WORKFLOW_TASK, (run_id,), queue, _countdown(delay)))


def activity_task(
    activity_task_id: int, attempt: int, queue: str, delay: timedelta | None = None
) -> None:
    """After commit, ask a worker on ``queue`` to run ``attempt`` of an activity."""
    _send_on_commit(Hint(ACTIVITY_TASK, (activity_task_id, attempt), queue, _countdown(delay)))


def external_request(request_pk: int, queue: str) -> None:
    """After commit, ask a worker on ``queue`` to deliver a request from one run to another."""
    _send_on_commit(Hint(DELIVER_REQUEST, (request_pk,), queue))


def fire_timer(timer_pk: int, queue: str, delay: timedelta) -> None:
    """After commit, send the countdown message that fires a timer on time (the fast path)."""
    _send_on_commit(Hint(FIRE_TIMER, (timer_pk,), queue, _countdown(delay)))


def wait_for(
    keys: str | Sequence[str], check: Callable[[], T | None], timeout: float | None
) -> T | None:
    """Return ``check()`` as soon as it is not None, or None once ``timeout`` seconds pass.

    ``keys`` are the notifications (``closed:<run id>``, ``update:<id>``) that may make
    ``check()`` change its answer; the transport decides how to wait for them.
    """
    return _current.wait_for([keys] if isinstance(keys, str) else list(keys), check, timeout)


async def start_worker_process(
    command: Sequence[str], env: Mapping[str, str] | None = None
) -> asyncio.subprocess.Process | None:
    """Start a worker process (Temporal's ``Worker``), unless the transport runs work itself."""
    return await _current.start_worker(command, env)


__all__ = [
    "activity_task",
    "fire_timer",
    "install",
    "uninstall",
    "wait_for",
    "workflow_task",
]
