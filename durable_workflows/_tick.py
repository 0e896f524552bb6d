"""The periodic repair. It re-enqueues and fires what is due; it never runs user code.

Each pass works in bounded batches; the store picks candidates with
``FOR UPDATE SKIP LOCKED`` so that two beats running at once split the work
instead of doing it twice, and every action re-checks its row under the
execution's lock, so even an overlap changes nothing twice. This module decides
what to look at; every write is the store's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from . import _clock, _store
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
    request_hints: int = 0
    slots_offered: int = 0

    def __bool__(self) -> bool:
        return any(vars(self).values())


def run_tick(now: datetime | None = None) -> TickReport:
    now = now or _clock.now()
    report = TickReport(
        timers_fired=fire_due_timers(now),
        activities_timed_out=time_out_activities(now),
        activity_hints=redrive_activities(now),
        workflow_task_hints=redrive_workflow_tasks(now),
        request_hints=redrive_requests(now),
        slots_offered=_store.offer_free_slots(now, batch=_batch()),
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
        _store.fire_due_timers(pk, now, skip_locked=True).count
        for pk in dict.fromkeys(execution_pks)
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


def redrive_activities(now: datetime) -> int:
    """Resend hints for attempts that are due but were never picked up (or whose backoff ended)."""
    return _store.redrive_activities(now, redrive_after=dw_settings.REDRIVE_AFTER, batch=_batch())


def redrive_workflow_tasks(now: datetime) -> int:
    """Resend hints for pending workflow tasks whose hint was lost or whose backoff ended."""
    return _store.redrive_workflow_tasks(
        now, redrive_after=dw_settings.REDRIVE_AFTER, batch=_batch()
    )


def redrive_requests(now: datetime) -> int:
    """Resend hints for requests between runs not yet delivered and recorded."""
    return _store.redrive_requests(now, redrive_after=dw_settings.REDRIVE_AFTER, batch=_batch())


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
    return _store.prune_closed_runs(now, retention=retention, batch=_batch())
