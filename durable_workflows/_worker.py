"""One workflow task: lock the run, load its history, replay, record the new commands.

The whole task is one transaction under the execution's row lock, so two
deliveries of the same hint serialize and the second finds nothing pending.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction

from . import _clock, _dispatch, _registry, _store
from ._engine import (
    COMMAND_EVENT_TYPES,
    EventType,
    HistoryEvent,
    WorkflowInfo,
    WorkflowTaskError,
    run_workflow_task,
)
from .conf import dw_settings
from .exceptions import DurableWorkflowsError
from .models import WorkflowExecution

logger = logging.getLogger("durable_workflows.worker")


class WorkflowTouchedDatabaseError(RuntimeError):
    """Workflow code queried the database; it must do so in an activity."""


def process_workflow_task(run_id: str) -> None:
    """Run the pending workflow task of ``run_id``, if there is one."""
    with transaction.atomic():
        execution = _store.lock_execution(run_id=run_id)
        if execution is not None:
            _run_locked(execution)


@contextmanager
def continuing_here(worker_queue: str | None) -> Iterator[None]:
    """Commit the block's writes, then run here the workflow tasks they made pending.

    An activity worker that has just recorded an outcome (or a timer that has just
    fired) knows the run's next workflow task is due; running it here, rather than
    sending a message for another worker, saves a broker round trip and a worker's
    wake-up: the difference between a workflow step and a link of a bare Celery chain.

    The block's writes commit first, on their own (the block is a call of the store,
    which is atomic): a crash inside the workflow task must not take the activity's
    result with it (that would run the activity again). If this process dies between
    the two, the workflow task is pending in the database with no hint sent, and the
    tick redrives it after REDRIVE_AFTER.

    ``worker_queue`` is the task queue this worker took its message from; ``None``
    means the message came on the run's own task queue (timer hints are sent there).
    """
    with _dispatch.collect_workflow_tasks() as pending:
        yield
    continue_here(pending, worker_queue=worker_queue)


def continue_here(collected: list[tuple[str, str]], *, worker_queue: str | None) -> None:
    """Run each collected workflow task here, each in its own transaction.

    A run is continued here only if its workflow type is registered in this process
    and its task queue is one this worker serves; otherwise, or if anything goes wrong,
    the usual hint is sent and a workflow worker takes it.
    """
    for run_id, queue in collected:
        try:
            with transaction.atomic():
                execution = _store.lock_execution(run_id=run_id)
                if execution is None:
                    continue
                if (worker_queue is not None and queue != worker_queue) or (
                    not _registry.is_workflow_registered(execution.workflow_type)
                ):
                    _dispatch.workflow_task(run_id, queue)
                    continue
                _run_locked(execution)
        except Exception:
            logger.exception("Could not continue workflow %s here; hinting a worker.", run_id)
            _dispatch.workflow_task(run_id, queue)


def _run_locked(execution: WorkflowExecution) -> None:
    if not execution.is_running or not execution.task_pending:
        return
    now = _clock.now()
    if execution.task_dispatch_after and execution.task_dispatch_after > now:
        return  # backing off after a failure; a delayed hint or the tick brings it back
    history = _store.load_history(execution)
    if not _has_unseen_events(history):
        execution.task_pending = False
        execution.save(update_fields=["task_pending"])
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


def workflow_info(execution: WorkflowExecution) -> WorkflowInfo:
    return WorkflowInfo(
        workflow_id=execution.workflow_id,
        run_id=str(execution.run_id),
        workflow_type=execution.workflow_type,
        task_queue=execution.task_queue,
        start_time=execution.start_time,
        execution_timeout=execution.execution_timeout,
        search_attributes=dict(execution.search_attributes or {}),
        memo=dict(execution.memo or {}),
    )


def _has_unseen_events(history: list[HistoryEvent]) -> bool:
    last = history[-1].event_type
    return last is not EventType.WORKFLOW_TASK_COMPLETED and last not in COMMAND_EVENT_TYPES


@contextmanager
def forbid_database_access(execution: WorkflowExecution) -> Iterator[None]:
    def refuse(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        raise WorkflowTouchedDatabaseError(
            f"Workflow {execution.workflow_type} queried the database from workflow code "
            f"({sql[:80]!r}...). Workflow code is replayed and must be deterministic: move "
            "database access into an activity."
        )

    with connection.execute_wrapper(refuse):
        yield
