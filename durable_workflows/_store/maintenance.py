"""The tick's writes: resending lost hints and deleting runs past their retention.

Candidates are picked with ``FOR UPDATE SKIP LOCKED`` so that two beats running at once
split the work instead of doing it twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet

from .. import _dispatch
from ..models import ActivityStatus, ActivityTask, WorkflowExecution, WorkflowStatus
from . import slots

#: A resend of the same work waits at most this many REDRIVE_AFTER periods.
REDRIVE_BACKOFF_CAP = 5


def _resent_at(now: datetime, due_since: datetime, redrive_after: timedelta) -> datetime:
    """What to record as the time of a resent hint, which sets when the next resend may go.

    A hint not acted on after REDRIVE_AFTER was lost, or is still waiting in a busy
    queue. Resending every REDRIVE_AFTER would feed a backlog (2,000 timers firing at
    once) a duplicate per pending run per pass, and the queue would never drain. So each
    resend of the same work waits as long as the work has already waited, up to a cap:
    a lost hint is still resent after REDRIVE_AFTER, a backlog gets few duplicates.
    """
    waited = max(now - due_since, timedelta(0))
    return now + min(waited, redrive_after * REDRIVE_BACKOFF_CAP)


def redrive_activities(now: datetime, *, redrive_after: timedelta, batch: int) -> int:
    """Resend hints for attempts that are due but were never picked up (or whose backoff ended)."""
    stale = now - redrive_after
    with transaction.atomic():
        due = list(
            ActivityTask.objects.select_for_update(skip_locked=True)
            .filter(status=ActivityStatus.SCHEDULED, dispatch_after__lte=now)
            .filter(Q(limit_key="") | Q(holds_slot=True))  # not those waiting for a slot
            .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lte=stale))
            .order_by("dispatch_after")[:batch]
        )
        for activity in due:
            # The first hint after a backoff that had none goes at once; resends back off.
            activity.dispatched_at = (
                now
                if activity.dispatched_at is None
                else _resent_at(now, activity.dispatch_after, redrive_after)
            )
            _dispatch.activity_task(activity.pk, activity.attempt, activity.task_queue)
        ActivityTask.objects.bulk_update(due, ["dispatched_at"])
    return len(due)


def redrive_workflow_tasks(now: datetime, *, redrive_after: timedelta, batch: int) -> int:
    """Resend hints for pending workflow tasks whose hint was lost or whose backoff ended."""
    stale = now - redrive_after
    with transaction.atomic():
        due = list(
            WorkflowExecution.objects.select_for_update(skip_locked=True)
            .filter(status=WorkflowStatus.RUNNING, task_pending=True, task_dispatch_after__lte=now)
            .filter(Q(task_dispatched_at__isnull=True) | Q(task_dispatched_at__lte=stale))
            .order_by("task_dispatch_after")
            .only("pk", "run_id", "task_queue", "task_dispatch_after", "task_dispatched_at")[:batch]
        )
        for execution in due:
            execution.task_dispatched_at = (
                now
                if execution.task_dispatched_at is None
                else _resent_at(now, execution.task_dispatch_after or now, redrive_after)
            )
            _dispatch.workflow_task(str(execution.run_id), execution.task_queue)
        WorkflowExecution.objects.bulk_update(due, ["task_dispatched_at"])
    return len(due)


def prune_closed_runs(now: datetime, *, retention: timedelta, batch: int) -> int:
    """Delete runs closed longer than ``retention`` ago, with their history, a batch a call."""
    with transaction.atomic():
        expired = list(
            WorkflowExecution.objects.select_for_update(skip_locked=True)
            .exclude(status=WorkflowStatus.RUNNING)
            .filter(close_time__lt=now - retention)
            .order_by("close_time")
            .values_list("pk", flat=True)[:batch]
        )
        if expired:
            WorkflowExecution.objects.filter(pk__in=expired).delete()
    return len(expired)


def delete_closed_runs(runs: QuerySet[WorkflowExecution]) -> int:
    """Delete the closed runs among ``runs`` with their history; running ones are kept."""
    deleted, _ = runs.exclude(status=WorkflowStatus.RUNNING).delete()
    return deleted


def offer_free_slots(now: datetime, *, batch: int) -> int:
    """Hand free concurrency slots to waiting attempts: the hand-over normally happens in
    the transaction that frees a slot; this repairs one lost with a crash."""
    granted = 0
    for key in slots.keys_with_waiters(batch):
        with transaction.atomic():  # one key at a time: never two key locks held together
            granted += slots.hand_over([key], now)
    return granted
