"""Firing durable timers and timing out whole runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from .._engine import EventType, Failure
from ..models import Timer, TimerStatus, WorkflowStatus
from .history import HistoryWriter, PendingWorkflowTask, lock_execution
from .starts import then_next_cron_run


@dataclass(frozen=True)
class FiredTimers:
    count: int
    #: The workflow task the firing made pending, when the caller deferred it.
    workflow_task: PendingWorkflowTask | None = None


def fire_due_timers(
    execution_pk: int, now: datetime, *, skip_locked: bool, defer_workflow_task: bool = False
) -> FiredTimers:
    """Fire every due, pending timer of one run.

    The execution row is locked first, so two callers (two beats, or a beat and a
    countdown message) serialize, and the second finds nothing PENDING to fire.
    """
    with transaction.atomic():
        execution = lock_execution(pk=execution_pk, skip_locked=skip_locked)
        if execution is None or not execution.is_running:
            return FiredTimers(0)
        due = list(
            Timer.objects.select_for_update()
            .filter(execution=execution, status=TimerStatus.PENDING, fire_at__lte=now)
            .order_by("fire_at", "started_event_id")
        )
        if not due:
            return FiredTimers(0)
        writer = HistoryWriter(execution, now, defer_workflow_task=defer_workflow_task)
        for timer in due:
            writer.append(
                EventType.TIMER_FIRED,
                {"timer_id": timer.timer_id, "started_event_id": timer.started_event_id},
            )
            timer.status = TimerStatus.FIRED
        Timer.objects.bulk_update(due, ["status"])
        writer.request_workflow_task()
        return FiredTimers(len(due), writer.save())


def time_out_run(execution_pk: int, now: datetime) -> bool:
    """Close a run whose execution timeout has passed as TIMED_OUT."""
    with transaction.atomic():
        execution = lock_execution(pk=execution_pk, skip_locked=True)
        if (
            execution is None
            or not execution.is_running
            or execution.expiration_time is None
            or execution.expiration_time > now
        ):
            return False
        writer = HistoryWriter(execution, now)
        writer.append(EventType.WORKFLOW_EXECUTION_TIMED_OUT, {"retry_state": "TIMEOUT"})
        writer.close(
            WorkflowStatus.TIMED_OUT,
            failure=Failure.workflow_timed_out().to_dict(),
        )
        then_next_cron_run(writer)
        writer.save()
        return True


def timer_execution_pk(timer_pk: int) -> int | None:
    return Timer.objects.filter(pk=timer_pk).values_list("execution_id", flat=True).first()


__all__ = ["FiredTimers", "fire_due_timers", "time_out_run", "timer_execution_pk"]
