"""Requests from one run to another: signals, cancel requests, a parent's close policy.

A request is an :class:`~durable_workflows.models.ExternalRequest` row written in the
sender's transaction, with its ``...Initiated`` event when the code asked for it. Its
hint delivers it in two transactions, each holding one run's lock: the target's (append
the signal or cancel request, or terminate it; mark the row DELIVERED), then the
sender's (append the outcome; mark it DONE). The row's status makes each step happen
once however often the hint comes (the tick resends it while the row is not DONE).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q

from .. import _dispatch
from .._engine import EventType
from ..models import ExternalRequest, ExternalRequestKind, ExternalRequestStatus
from .history import HistoryWriter, lock_execution, lock_running
from .messages import append_signal, request_cancel, terminate

#: Temporal's cause when the target is not (or no longer) running.
NOT_FOUND = "EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND"

_OUTCOME_EVENTS = {
    ExternalRequestKind.SIGNAL: (
        EventType.EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
        EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
    ),
    ExternalRequestKind.CANCEL: (
        EventType.EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
        EventType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
    ),
}


def queue_request(writer: HistoryWriter, **fields: Any) -> None:
    """Write a request row once the sender's events are saved, and hint its delivery."""
    execution, now = writer.execution, writer.now

    def create() -> None:
        request = ExternalRequest.objects.create(
            execution=execution, created_at=now, dispatched_at=now, **fields
        )
        _dispatch.external_request(request.pk, execution.task_queue)

    writer.after_save(create)


def deliver_request(request_pk: int, now: datetime) -> None:
    """Deliver a request to its target, then record the outcome in the sender's history."""
    with transaction.atomic():
        request = (
            ExternalRequest.objects.select_for_update(of=("self",))
            .select_related("execution")
            .filter(pk=request_pk)
            .first()
        )
        if request is None or request.status == ExternalRequestStatus.DONE:
            return
        if request.status == ExternalRequestStatus.PENDING:
            request.failure_cause = _deliver_to_target(request, now)
            request.status = ExternalRequestStatus.DELIVERED
            request.save(update_fields=["status", "failure_cause"])
    with transaction.atomic():
        request = (
            ExternalRequest.objects.select_for_update()
            .filter(pk=request_pk, status=ExternalRequestStatus.DELIVERED)
            .first()
        )
        if request is None:
            return
        if request.initiated_event_id is not None:
            _record_outcome(request, now)
        request.status = ExternalRequestStatus.DONE
        request.save(update_fields=["status"])


def _deliver_to_target(request: ExternalRequest, now: datetime) -> str:
    """Apply the request to its target under the target's lock; the failure cause or ""."""
    if request.run_id is not None:
        target = lock_execution(run_id=str(request.run_id))
    else:
        target = lock_running(request.workflow_id)
        if target is None:
            # A run that continued as new while this statement waited for its lock is not
            # seen by it (its snapshot predates the new run): look once more.
            target = lock_running(request.workflow_id)
    sender = request.execution
    if (
        target is None
        or not target.is_running
        or target.workflow_id != request.workflow_id
        or (request.child_workflow_only and target.parent_run_id != sender.run_id)
    ):
        return NOT_FOUND
    if request.kind == ExternalRequestKind.SIGNAL:
        append_signal(target, request.signal_name, request.input, now)
    elif request.kind == ExternalRequestKind.CANCEL:
        request_cancel(target, request.reason, now)  # a second request is a no-op
    else:
        terminate(target, request.reason, now)
    return ""


def _record_outcome(request: ExternalRequest, now: datetime) -> None:
    sender = lock_execution(pk=request.execution_id)
    if sender is None or not sender.is_running:
        return  # the sender closed meanwhile: nothing waits for the outcome
    delivered, failed = _OUTCOME_EVENTS[ExternalRequestKind(request.kind)]
    attributes: dict[str, Any] = {
        "initiated_event_id": request.initiated_event_id,
        "workflow_id": request.workflow_id,
        "run_id": str(request.run_id) if request.run_id else None,
    }
    if request.failure_cause:
        attributes["cause"] = request.failure_cause
    writer = HistoryWriter(sender, now)
    writer.append(failed if request.failure_cause else delivered, attributes)
    writer.request_workflow_task()
    writer.save()


def redrive_requests(now: datetime, *, redrive_after: timedelta, batch: int) -> int:
    """Resend the hints of requests not delivered (and recorded) after ``redrive_after``."""
    stale = now - redrive_after
    with transaction.atomic():
        due = list(
            ExternalRequest.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("execution")
            .filter(~Q(status=ExternalRequestStatus.DONE), dispatched_at__lte=stale)
            .order_by("dispatched_at")[:batch]
        )
        for request in due:
            request.dispatched_at = now
            _dispatch.external_request(request.pk, request.execution.task_queue)
        ExternalRequest.objects.bulk_update(due, ["dispatched_at"])
    return len(due)
