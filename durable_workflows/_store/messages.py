"""What callers send to a running workflow: signals, updates, cancel and terminate requests.

Each function expects the execution to be locked by the caller's transaction
(``lock_execution``) and refuses closed runs, so nothing is ever appended after
a close event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .._engine import EventType, Failure
from ..exceptions import WorkflowClosedError
from ..models import HistoryEvent, WorkflowExecution, WorkflowStatus
from .history import HistoryWriter


def require_running(execution: WorkflowExecution, action: str) -> None:
    if not execution.is_running:
        raise WorkflowClosedError(
            f"Cannot {action} workflow {execution.workflow_id!r}: run {execution.run_id} "
            f"is {execution.status}."
        )


def append_signal(
    execution: WorkflowExecution, signal_name: str, payloads: list[Any], now: datetime
) -> int:
    """Append WorkflowExecutionSignaled and make a workflow task pending; returns the event id."""
    require_running(execution, f"signal {signal_name!r} to")
    writer = HistoryWriter(execution, now)
    event_id = writer.append(
        EventType.WORKFLOW_EXECUTION_SIGNALED, {"signal_name": signal_name, "input": payloads}
    )
    writer.request_workflow_task()
    writer.save()
    return event_id


def accept_update(
    execution: WorkflowExecution,
    update_id: str,
    update_name: str,
    payloads: list[Any],
    now: datetime,
) -> None:
    """Record an update that passed its validator; the workflow task runs its handler."""
    require_running(execution, f"send update {update_name!r} to")
    writer = HistoryWriter(execution, now)
    writer.append(
        EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        {"update_id": update_id, "update_name": update_name, "input": payloads},
    )
    writer.request_workflow_task()
    writer.save()


def request_cancel(execution: WorkflowExecution, reason: str, now: datetime) -> bool:
    """Append WorkflowExecutionCancelRequested once; False if it was already requested."""
    require_running(execution, "cancel")
    already = HistoryEvent.objects.filter(
        execution=execution, event_type=EventType.WORKFLOW_EXECUTION_CANCEL_REQUESTED.value
    ).exists()
    if already:
        return False
    writer = HistoryWriter(execution, now)
    writer.append(EventType.WORKFLOW_EXECUTION_CANCEL_REQUESTED, {"reason": reason})
    writer.request_workflow_task()
    writer.save()
    return True


def terminate(execution: WorkflowExecution, reason: str, now: datetime) -> None:
    """Close the run as TERMINATED at once; no workflow code runs, pending work is abandoned."""
    require_running(execution, "terminate")
    writer = HistoryWriter(execution, now)
    writer.append(EventType.WORKFLOW_EXECUTION_TERMINATED, {"reason": reason})
    writer.close(
        WorkflowStatus.TERMINATED,
        failure=Failure.terminated(reason).to_dict(),
    )
    writer.save()


def accepted_update_name(execution_pk: int, update_id: str) -> str | None:
    """The name of the update the run accepted under ``update_id``, if it did."""
    name: str | None = (
        HistoryEvent.objects.filter(
            execution_id=execution_pk,
            event_type=EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED.value,
            attributes__update_id=update_id,
        )
        .values_list("attributes__update_name", flat=True)
        .first()
    )
    return name


def update_outcome(execution_pk: int, update_id: str) -> dict[str, Any] | None:
    """The attributes of the update's completion event, once recorded."""
    row = (
        HistoryEvent.objects.filter(
            execution_id=execution_pk,
            event_type=EventType.WORKFLOW_EXECUTION_UPDATE_COMPLETED.value,
            attributes__update_id=update_id,
        )
        .values_list("attributes", flat=True)
        .first()
    )
    return row
