"""Celery entry points only: parse the hint, hand over to the worker or the tick.

Every task is idempotent: it re-reads the database and does nothing when the
hint is stale, duplicated or early. ``acks_late`` means a message being worked on when
its worker dies is redelivered (a duplicate hint, which is harmless).

Each task first drops a database connection that a failure left unusable (a terminated
backend, a restarted server), as Django does at the start of a request: Celery reuses
connections across tasks (CELERY_DB_REUSE_MAX), and a dead one would otherwise fail
every task the worker takes until it is restarted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Concatenate, ParamSpec, Protocol

from celery import shared_task
from django.db import close_old_connections

from . import _chain
from ._tick import run_tick
from ._transport import ACTIVITY_TASK, DELIVER_REQUEST, FIRE_TIMER, WORKFLOW_TASK

P = ParamSpec("P")

_HINT = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


class Task(Protocol[P]):
    """What this package and its tests use of a Celery task (Celery ships no types)."""

    name: str

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> None: ...

    def delay(self, *args: P.args, **kwargs: P.kwargs) -> Any: ...

    def apply_async(
        self,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Any: ...


def _task(**options: Any) -> Callable[[Callable[P, None]], Task[P]]:
    """Celery's ``shared_task(**options)``, typed."""
    decorator: Callable[[Callable[P, None]], Task[P]] = shared_task(**options)
    return decorator


def _bound_task(**options: Any) -> Callable[[Callable[Concatenate[Any, P], None]], Task[P]]:
    """Celery's ``shared_task(bind=True, **options)``, typed: the task passes itself first."""
    decorator: Callable[[Callable[Concatenate[Any, P], None]], Task[P]] = shared_task(
        bind=True, **options
    )
    return decorator


@_task(name=WORKFLOW_TASK, **_HINT)
def workflow_task(run_id: str) -> None:
    close_old_connections()
    _chain.workflow_task(run_id)


@_task(name=ACTIVITY_TASK, **_HINT)
def activity_task(activity_task_id: int, attempt: int) -> None:
    close_old_connections()
    _chain.activity_task(int(activity_task_id), int(attempt))


@_task(name=FIRE_TIMER, **_HINT)
def fire_timer(timer_pk: int) -> None:
    close_old_connections()
    _chain.fire_timer(int(timer_pk))


@_task(name=DELIVER_REQUEST, **_HINT)
def deliver_request(request_pk: int) -> None:
    close_old_connections()
    _chain.deliver_request(int(request_pk))


@_task(name="durable_workflows.tick", ignore_result=True)
def tick() -> None:
    close_old_connections()
    run_tick()


@_bound_task(name="durable_workflows.start_scheduled_workflow", **_HINT)
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
