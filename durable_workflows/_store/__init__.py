"""The only writer of durable state. Every write locks the execution row first.

Callers (the worker, the tick, services) describe *what* happened; these
functions append the events, update the derived rows and queue the hints.
"""

from .activities import (
    claim_attempt,
    complete_attempt,
    fail_attempt,
    record_completion,
    record_heartbeat,
    release_claim,
    time_out,
)
from .external import deliver_request, queue_request, redrive_requests
from .history import (
    ActivityStart,
    HistoryWriter,
    PendingWorkflowTask,
    load_history,
    lock_execution,
    lock_for_task,
    lock_running,
    to_engine_event,
)
from .maintenance import (
    delete_closed_runs,
    offer_free_slots,
    prune_closed_runs,
    redrive_activities,
    redrive_workflow_tasks,
)
from .messages import (
    accept_update,
    accepted_update_name,
    append_signal,
    request_cancel,
    require_running,
    terminate,
    update_outcome,
)
from .starts import create_execution
from .timers import FiredTimers, fire_due_timers, time_out_run, timer_execution_pk
from .workflow_tasks import (
    mark_task_seen,
    record_task_completed,
    record_task_failed,
)

__all__ = [
    "ActivityStart",
    "FiredTimers",
    "HistoryWriter",
    "PendingWorkflowTask",
    "accept_update",
    "accepted_update_name",
    "append_signal",
    "claim_attempt",
    "complete_attempt",
    "create_execution",
    "delete_closed_runs",
    "deliver_request",
    "fail_attempt",
    "fire_due_timers",
    "load_history",
    "lock_execution",
    "lock_for_task",
    "lock_running",
    "mark_task_seen",
    "offer_free_slots",
    "prune_closed_runs",
    "queue_request",
    "record_completion",
    "record_heartbeat",
    "record_task_completed",
    "record_task_failed",
    "redrive_activities",
    "redrive_requests",
    "redrive_workflow_tasks",
    "release_claim",
    "request_cancel",
    "require_running",
    "terminate",
    "time_out",
    "time_out_run",
    "timer_execution_pk",
    "to_engine_event",
    "update_outcome",
]
