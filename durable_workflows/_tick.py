"""The periodic repair. It re-enqueues and fires what is due; it never runs user code.

Each pass works in bounded batches. Candidates are picked with
``FOR UPDATE SKIP LOCKED`` so that two beats running at once split the work
instead of doing it twice, and every action re-checks its row under the
execution's lock, so even an overlap changes nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet

from . import _clock, _dispatch, _store
from .conf import dw_settings
from .models import (
    ActivityStatus,
    ActivityTask,
    Timer,
    TimerStatus,
    WorkflowExecution,
    WorkflowStatus,
)

logger = logging.getLogger("durable_workflows.tick")


@dataclass
class TickReport:
    timers_fired: int = 0
    activities_timed_out: int = 0
    activity_hints: int = 0
    workflow_task_hints: int = 0
    runs_timed_out: int = 0
    closed_runs_pruned: int = 0

    def __bool__(self) -> bool:
        return any(vars(self).values())


def run_tick(now: datetime | None = None) -> TickReport:
    now = now or _clock.now()
    report = TickReport(
        timers_fired=fire_due_timers(now),
        activities_timed_out=time_out_activities(now),
        activity_hints=redrive_activities(now),
        workflow_task_hints=redrive_workflow_tasks(now),
        runs_timed_out=time_out_runs(now),
        closed_runs_pruned=prune_closed_runs(now),
    )
    if report:
        logger.info("Tick: %s", report)
    return report


def _batch() -> int:
    return dw_settings.TICK_BATCH_SIZE


def _among(rows: QuerySet[Any], runs: QuerySet[WorkflowExecution] | None) -> QuerySet[Any]:
    """``rows`` of the given runs only (a test environment's); of every run when None."""
    return rows if runs is None else rows.filter(execution__in=runs)


def fire_due_timers(now: datetime, runs: QuerySet[WorkflowExecution] | None = None) -> int:
    execution_pks = (
        _among(Timer.objects.filter(status=TimerStatus.PENDING, fire_at__lte=now), runs)
        .order_by("fire_at")
        .values_list("execution_id", flat=True)[: _batch()]
    )
    return sum(
        _store.fire_due_timers(pk, now, skip_locked=True) for pk in dict.fromkeys(execution_pks)
    )


def time_out_activities(now: datetime, runs: QuerySet[WorkflowExecution] | None = None) -> int:
    candidates = (
        _among(
            ActivityTask.objects.filter(
                status__in=[ActivityStatus.SCHEDULED, ActivityStatus.STARTED], timeout_at__lte=now
            ),
            runs,
        )
        .order_by("timeout_at")
        .values_list("pk", flat=True)[: _batch()]
    )
    return sum(_store.time_out(pk, now) for pk in list(candidates))


def _resent_at(now: datetime, due_since: datetime) -> datetime:
    """What to record as the time of a resent hint, which sets when the next resend may go.

    A hint not acted on after REDRIVE_AFTER was lost, or is still waiting in a busy
    queue. Resending every REDRIVE_AFTER would feed a backlog (2,000 timers firing at
    once) a duplicate per pending run per pass, and the queue would never drain. So each
    resend of the same work waits as long as the work has already waited, up to a cap:
    a lost hint is still resent after REDRIVE_AFTER, a backlog gets few duplicates.
    """
    waited = max(now - due_since, timedelta(0))
    return now + min(waited, dw_settings.REDRIVE_AFTER * _REDRIVE_BACKOFF_CAP)


_REDRIVE_BACKOFF_CAP = 5


def redrive_activities(now: datetime) -> int:
    """Resend hints for attempts that are due but were never picked up (or whose backoff ended)."""
    stale = now - dw_settings.REDRIVE_AFTER
    with transaction.atomic():
        due = list(
            ActivityTask.objects.select_for_update(skip_locked=True)
            .filter(status=ActivityStatus.SCHEDULED, dispatch_after__lte=now)
            .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lte=stale))
            .order_by("dispatch_after")[: _batch()]
        )
        for activity in due:
            # The first hint after a backoff that had none goes at once; resends back off.
            activity.dispatched_at = (
                now if activity.dispatched_at is None else _resent_at(now, activity.dispatch_after)
            )
            _dispatch.activity_task(activity.pk, activity.attempt, activity.task_queue)
        ActivityTask.objects.bulk_update(due, ["dispatched_at"])
    return len(due)


def redrive_workflow_tasks(now: datetime) -> int:
    """Resend hints for pending workflow tasks whose hint was lost or whose backoff ended."""
    stale = now - dw_settings.REDRIVE_AFTER
    with transaction.atomic():
        due = list(
            WorkflowExecution.objects.select_for_update(skip_locked=True)
            .filter(status=WorkflowStatus.RUNNING, task_pending=True, task_dispatch_after__lte=now)
            .filter(Q(task_dispatched_at__isnull=True) | Q(task_dispatched_at__lte=stale))
            .order_by("task_dispatch_after")
            .only("pk", "run_id", "task_queue", "task_dispatch_after", "task_dispatched_at")[
                : _batch()
            ]
        )
        for execution in due:
            execution.task_dispatched_at = (
                now
                if execution.task_dispatched_at is None
                else _resent_at(now, execution.task_dispatch_after or now)
            )
            _dispatch.workflow_task(str(execution.run_id), execution.task_queue)
        WorkflowExecution.objects.bulk_update(due, ["task_dispatched_at"])
    return len(due)


def time_out_runs(now: datetime, runs: QuerySet[WorkflowExecution] | None = None) -> int:
    pks = (
        (WorkflowExecution.objects.all() if runs is None else runs)
        .filter(status=WorkflowStatus.RUNNING, expiration_time__lte=now)
        .values_list("pk", flat=True)[: _batch()]
    )
    return sum(_store.time_out_run(pk, now) for pk in list(pks))


def prune_closed_runs(now: datetime) -> int:
    """Delete runs closed longer than HISTORY_RETENTION ago, with their history, a batch a pass."""
    retention = dw_settings.HISTORY_RETENTION
    if retention is None:
        return 0
    with transaction.atomic():
        expired = list(
            WorkflowExecution.objects.select_for_update(skip_locked=True)
            .exclude(status=WorkflowStatus.RUNNING)
            .filter(close_time__lt=now - retention)
            .order_by("close_time")
            .values_list("pk", flat=True)[: _batch()]
        )
        if expired:
            WorkflowExecution.objects.filter(pk__in=expired).delete()
    return len(expired)
