"""One workflow task: lock the run, load its history, replay, record the new commands.

The whole task is one transaction under the execution's row lock, so two
deliveries of the same hint serialize and the second finds nothing pending.
"""

from __future__ import annotations

import logging

from django.db import transaction

from . import _clock, _dispatch, _registry, _store
from ._engine import (
    COMMAND_EVENT_TYPES,
    EventType,
    HistoryEvent,
    WorkflowTaskError,
    run_workflow_task,
)
from ._replaying import WorkflowTouchedDatabaseError, forbid_database_access, workflow_info
from ._store import PendingWorkflowTask
from .conf import dw_settings
from .exceptions import DurableWorkflowsError
from .models import WorkflowExecution

logger = logging.getLogger("durable_workflows.worker")


def process_workflow_task(run_id: str) -> None:
    """Run the pending workflow task of ``run_id``, if there is one."""
    with transaction.atomic():
        execution = _store.lock_execution(run_id=run_id)
        if execution is not None:
            _run_locked(execution)


def continue_here(task: PendingWorkflowTask | None, *, worker_queue: str | None) -> None:
    """Run here the workflow task that the caller's write made pending (and deferred).

    An activity worker that has just recorded an outcome (or a timer that has just
    fired) knows the run's next workflow task is due; running it here, rather than
    sending a message for another worker, saves a broker round trip and a worker's
    wake-up: the difference between a workflow step and a link of a bare Celery chain.

    The caller's write has committed on its own: a crash inside the workflow task must
    not take the activity's result with it (that would run the activity again). If this
    process dies between the two, the workflow task is pending in the database with no
    hint sent, and the tick redrives it after REDRIVE_AFTER.

    The run is continued here only if its workflow type is registered in this process
    and its task queue is ``worker_queue`` (``None``: the message that brought the caller
    came on the run's own queue, as timer hints do); otherwise, or if anything goes
    wrong, the usual hint is sent and a workflow worker takes it.
    """
    if task is None:
        return
    try:
        with transaction.atomic():
            execution = _store.lock_execution(run_id=task.run_id)
            if execution is None:
                return
            if (worker_queue is not None and task.task_queue != worker_queue) or (
                not _registry.is_workflow_registered(execution.workflow_type)
            ):
                _dispatch.workflow_task(task.run_id, task.task_queue)
                return
            _run_locked(execution)
    except Exception:
        logger.exception("Could not continue workflow %s here; hinting a worker.", task.run_id)
        _dispatch.workflow_task(task.run_id, task.task_queue)


def _run_locked(execution: WorkflowExecution) -> None:
    if not execution.is_running or not execution.task_pending:
        return
    now = _clock.now()
    if execution.task_dispatch_after and execution.task_dispatch_after > now:
        return  # backing off after a failure; a delayed hint or the tick brings it back
    history = _store.load_history(execution)
    if not _has_unseen_events(history):
        _store.mark_task_seen(execution)
        return
    try:
        definition = _registry.get_workflow(execution.workflow_type)
        with forbid_database_access(execution):
            result = run_workflow_task(
                definition,
                workflow_info(execution),
                history,
                now,
                max_payload_bytes=dw_settings.MAX_PAYLOAD_BYTES,
            )
    except (WorkflowTaskError, DurableWorkflowsError, WorkflowTouchedDatabaseError) as error:
        logger.warning(
            "Workflow task of %s %s failed (attempt %s); it will be retried: %s",
            execution.workflow_type,
            execution.workflow_id,
            execution.task_attempt + 1,
            error,
        )
        _store.record_task_failed(execution, error, now)
        return
    _store.record_task_completed(execution, result.commands, now)


def _has_unseen_events(history: list[HistoryEvent]) -> bool:
    last = history[-1].event_type
    return last is not EventType.WORKFLOW_TASK_COMPLETED and last not in COMMAND_EVENT_TYPES
