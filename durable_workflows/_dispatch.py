"""Celery messages are hints: sent only after the transaction that made them true commits.

A hint that is lost (broker down, worker killed) costs latency, not correctness:
the tick finds the work in the database and sends the hint again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from functools import partial

from django.db import transaction

logger = logging.getLogger("durable_workflows.dispatch")


def _send(task_name: str, args: list[object], queue: str, countdown: float | None) -> None:
    from . import _local, tasks  # Celery is only needed once something is sent

    runner = _local.active()
    if runner is not None:  # a testing.WorkflowEnvironment runs everything in this process
        runner.hint(task_name, args, countdown)
        return

    task = getattr(tasks, task_name)
    try:
        task.apply_async(args=args, queue=queue, countdown=countdown)
    except Exception:
        # The database already holds the truth; the tick will resend this hint.
        logger.warning(
            "Could not send %s%s to queue %r; the tick will redrive it.",
            task_name,
            tuple(args),
            queue,
            exc_info=True,
        )


def _countdown(delay: timedelta | None) -> float | None:
    if delay is None:
        return None
    seconds = delay.total_seconds()
    return seconds if seconds > 0 else None


#: Inside ``collect_workflow_tasks()``: the undelayed workflow-task hints held back.
_collected: ContextVar[list[tuple[str, str]] | None] = ContextVar(
    "durable_workflows_collected_hints", default=None
)


@contextmanager
def collect_workflow_tasks() -> Iterator[list[tuple[str, str]]]:
    """Hold back workflow-task hints made true inside the block, for the caller to act on.

    A worker that has just recorded an activity's outcome (or fired a timer) holds the
    run's lock already; it can run the workflow task itself in the same transaction
    rather than send a message for another worker to lock the row again. Whatever it
    does not run, it must hand to :func:`workflow_task`.
    """
    collected: list[tuple[str, str]] = []
    token = _collected.set(collected)
    try:
        yield collected
    finally:
        _collected.reset(token)


def workflow_task(run_id: str, queue: str, delay: timedelta | None = None) -> None:
    """After commit, ask a worker on ``queue`` to run the pending workflow task of ``run_id``."""
    collected = _collected.get()
    if collected is not None and delay is None:
        collected.append((run_id, queue))
        return
    transaction.on_commit(partial(_send, "workflow_task", [run_id], queue, _countdown(delay)))


def activity_task(
    activity_task_id: int, attempt: int, queue: str, delay: timedelta | None = None
) -> None:
    """After commit, ask a worker on ``queue`` to run ``attempt`` of an activity."""
    transaction.on_commit(
        partial(_send, "activity_task", [activity_task_id, attempt], queue, _countdown(delay))
    )


def fire_timer(timer_pk: int, queue: str, delay: timedelta) -> None:
    """After commit, send the countdown message that fires a timer on time (the fast path)."""
    transaction.on_commit(partial(_send, "fire_timer", [timer_pk], queue, _countdown(delay)))
