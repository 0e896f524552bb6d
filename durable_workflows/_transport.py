"""The seam to the broker: how hints travel and how a caller waits for the database.

A :class:`Transport` does three things: send a hint that a workflow task, an activity
attempt or a timer is due; wait until a check of the database answers; start a worker
process for Temporal's ``Worker`` shape. Production uses :class:`CeleryTransport`;
``durable_workflows.testing`` installs an in-process one (``_local.LocalTransport``).
:mod:`durable_workflows._dispatch` holds the current one; nothing else asks which it is.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from . import _notify

logger = logging.getLogger("durable_workflows.dispatch")

T = TypeVar("T")

#: Celery task names of the hints (the handlers live in ``durable_workflows.tasks``).
WORKFLOW_TASK = "durable_workflows.workflow_task"
ACTIVITY_TASK = "durable_workflows.activity_task"
FIRE_TIMER = "durable_workflows.fire_timer"
DELIVER_REQUEST = "durable_workflows.deliver_request"


@dataclass(frozen=True)
class Hint:
    """A message saying "look at the database, something is due"; never the truth itself."""

    task_name: str
    args: tuple[int | str, ...]
    queue: str
    countdown: float | None = None


class Transport(Protocol):
    """How hints reach workers and how callers wait for the database to change."""

    def send(self, hint: Hint) -> None:
        """Deliver ``hint`` (called after the commit that made it true)."""

    def wait_for(
        self, keys: Sequence[str], check: Callable[[], T | None], timeout: float | None
    ) -> T | None:
        """Return ``check()`` once it is not None, or None after ``timeout`` seconds.

        ``keys`` name the notifications that may change the answer.
        """

    async def start_worker(
        self, command: Sequence[str], env: Mapping[str, str] | None = None
    ) -> asyncio.subprocess.Process | None:
        """Start a worker process running ``command`` (with ``env`` added to this process's
        environment), or None if work runs elsewhere."""


class CeleryTransport:
    """Hints are Celery messages sent by task name; waits wake on LISTEN/NOTIFY (or poll)."""

    def send(self, hint: Hint) -> None:
        from celery import current_app  # Celery is only needed once something is sent

        options: dict[str, Any] = {"queue": hint.queue, "countdown": hint.countdown}
        try:
            # The registered task, looked up by name, sends with its own options (and
            # honours task_always_eager); send_task is the fallback of a process that
            # has not registered it.
            task = current_app.tasks.get(hint.task_name)
            if task is not None:
                task.apply_async(args=list(hint.args), **options)
            else:
                current_app.send_task(
                    hint.task_name, args=list(hint.args), ignore_result=True, **options
                )
        except Exception:
            # The database already holds the truth; the tick will resend this hint.
            logger.warning(
                "Could not send %s%s to queue %r; the tick will redrive it.",
                hint.task_name,
                hint.args,
                hint.queue,
                exc_info=True,
            )

    def wait_for(
        self, keys: Sequence[str], check: Callable[[], T | None], timeout: float | None
    ) -> T | None:
        return _notify.wait_for(keys, check, timeout)

    async def start_worker(
        self, command: Sequence[str], env: Mapping[str, str] | None = None
    ) -> asyncio.subprocess.Process | None:
        return await asyncio.create_subprocess_exec(*command, env={**os.environ, **(env or {})})
