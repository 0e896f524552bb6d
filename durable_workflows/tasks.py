"""Celery entry points only: parse the hint, hand over to the worker or the tick.

Every task is idempotent: it re-reads the database and does nothing when the
hint is stale, duplicated or early. ``acks_late`` means a message being worked
on when its worker dies is redelivered (a duplicate hint, which is harmless).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from . import _clock, _store
from ._activity_worker import process_activity_task
from ._tick import run_tick
from ._transport import ACTIVITY_TASK, FIRE_TIMER, WORKFLOW_TASK
from ._worker import continue_here, process_workflow_task

_HINT = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


@shared_task(name=WORKFLOW_TASK, **_HINT)
def workflow_task(run_id: str) -> None:
    process_workflow_task(run_id)


@shared_task(name=ACTIVITY_TASK, **_HINT)
def activity_task(activity_task_id: int, attempt: int) -> None:
    process_activity_task(int(activity_task_id), int(attempt))


@shared_task(name=FIRE_TIMER, **_HINT)
def fire_timer(timer_pk: int) -> None:
    execution_pk = _store.timer_execution_pk(int(timer_pk))
    if execution_pk is not None:
        fired = _store.fire_due_timers(
            execution_pk, _clock.now(), skip_locked=False, defer_workflow_task=True
        )
        # Timer hints travel on the run's own task queue, so this worker serves it.
        continue_here(fired.workflow_task, worker_queue=None)


@shared_task(name="durable_workflows.tick", ignore_result=True)
def tick() -> None:
    run_tick()


@shared_task(name="durable_workflows.start_scheduled_workflow", bind=True, **_HINT)
def start_scheduled_workflow(
    self: Any, *, schedule: str, workflow_type: str, args: list[Any], task_queue: str
) -> None:
    """One firing of a schedule (durable_workflows.schedules): the message id names the run."""
    from .schedules import start_scheduled

    start_scheduled(
        str(self.request.id),
        schedule=schedule,
        workflow_type=workflow_type,
        args=args,
        task_queue=task_queue,
    )
