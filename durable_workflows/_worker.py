"""One workflow task: lock the run, load its history, replay, record the new commands.

The whole task is one transaction under the execution's row lock, so two
deliveries of the same hint serialize and the second finds nothing pending.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction

from . import _clock, _dispatch, _local_activities, _registry, _sticky, _store
from ._activity_worker import identity
from ._engine import (
    COMMAND_EVENT_TYPES,
    CacheMissError,
    EventType,
    HistoryEvent,
    TaskResult,
    WorkflowDefinition,
    WorkflowTaskError,
    continue_workflow_task,
    run_workflow_task,
)
from ._replaying import WorkflowTouchedDatabaseError, forbid_database_access, workflow_info
from ._sticky import CachedRun
from ._store import ActivityStart, PendingWorkflowTask
from ._store.history import RunHere
from .conf import dw_settings
from .exceptions import DurableWorkflowsError
from .models import WorkflowExecution

logger = logging.getLogger("durable_workflows.worker")


def process_workflow_task(run_id: str) -> list[ActivityStart]:
    """Run the pending workflow task of ``run_id``, if there is one.

    The hint came on the run's own task queue, so this worker serves it. Returns the
    activities the task scheduled for this worker to run itself once it has committed.
    """
    with transaction.atomic():
        return _run_task(run_id, worker_queue=None)


def continue_here(
    task: PendingWorkflowTask | None, *, worker_queue: str | None
) -> list[ActivityStart]:
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

    Returns the activities the task scheduled for this worker to run itself.
    """
    if task is None:
        return []
    if worker_queue is not None and task.task_queue != worker_queue:
        _dispatch.workflow_task(task.run_id, task.task_queue)
        return []
    try:
        with transaction.atomic():
            return _run_task(task.run_id, worker_queue=task.task_queue)
    except Exception:
        logger.exception("Could not continue workflow %s here; hinting a worker.", task.run_id)
        _dispatch.workflow_task(task.run_id, task.task_queue)
        return []


def _run_task(run_id: str, *, worker_queue: str | None) -> list[ActivityStart]:
    """Lock the run and load what its task needs (only the new events if its instance is
    cached here), then run the task if one is due. ``worker_queue`` as in continue_here."""
    cached = _sticky.runs.take(run_id)
    locked = _store.lock_for_task(
        run_id, after_event_id=cached.last_event_id if cached is not None else 0
    )
    if locked is None:
        return []
    execution, history = locked
    if worker_queue is not None and not _registry.is_workflow_registered(
        execution.workflow_type, execution.task_queue
    ):
        _keep(run_id, cached)
        _dispatch.workflow_task(run_id, execution.task_queue)
        return []
    if not execution.is_running or not execution.task_pending:
        _keep(run_id, cached)
        return []
    now = _clock.now()
    if execution.task_dispatch_after and execution.task_dispatch_after > now:
        _keep(run_id, cached)
        return []  # backing off after a failure; a delayed hint or the tick brings it back
    if cached is not None and cached.last_event_id >= execution.history_length:
        # The history is not what the instance saw (reset or rewritten): replay it all.
        cached, history = None, _store.load_history(execution)
    if not history or not _has_unseen_events(history):
        _store.mark_task_seen(execution)
        _keep(run_id, cached)
        return []
    try:
        definition = _registry.get_workflow(execution.workflow_type, execution.task_queue)
        result = _continue_or_replay(execution, definition, cached, history, now)
        commands = _local_activities.run_pending(result.instance, execution, result.commands, now)
    except (WorkflowTaskError, DurableWorkflowsError, WorkflowTouchedDatabaseError) as error:
        logger.warning(
            "Workflow task of %s %s failed (attempt %s); it will be retried: %s",
            execution.workflow_type,
            execution.workflow_id,
            execution.task_attempt + 1,
            error,
            exc_info=error,
            # Temporal's tag on this record, so log filters written for Temporal match it.
            extra={"__temporal_error_identifier": "WorkflowTaskFailure"},
        )
        _store.record_task_failed(execution, error, now)
        return []
    seen = execution.history_length
    started_here = _store.record_task_completed(
        execution, commands, now, run_here=_eager_policy(execution.task_queue)
    )
    capacity = dw_settings.MAX_CACHED_RUNS
    # Kept only while an activity is out: its outcome continues the run in this process
    # (continue_here) soon. A run that sleeps or waits for a message replays when it
    # wakes, so a sleeping workflow still costs a row and no worker memory.
    if capacity and result.instance.awaits_activity:
        entry = CachedRun(result.instance, commands, seen)
        # Only once the task's events are in the database may the instance stand for them.
        transaction.on_commit(lambda: _sticky.runs.put(run_id, entry, capacity))
    return started_here


def _keep(run_id: str, cached: CachedRun | None) -> None:
    """Put back a cached instance taken for a task that did not run."""
    if cached is not None:
        _sticky.runs.put(run_id, cached, dw_settings.MAX_CACHED_RUNS)


def _eager_policy(serves_queue: str) -> RunHere:
    """Which activities a task may keep for this worker: on its queue, registered here,
    at most MAX_EAGER_ACTIVITIES a task (Temporal's eager activity execution)."""
    remaining = dw_settings.MAX_EAGER_ACTIVITIES

    def accepts(activity_type: str, task_queue: str) -> bool:
        nonlocal remaining
        if remaining <= 0 or task_queue != serves_queue:
            return False
        if not _registry.is_activity_registered(activity_type, task_queue):
            return False
        remaining -= 1
        return True

    return RunHere(accepts=accepts, identity=identity())


def _continue_or_replay(
    execution: WorkflowExecution,
    definition: WorkflowDefinition,
    cached: CachedRun | None,
    history: list[HistoryEvent],
    now: datetime,
) -> TaskResult:
    """The task's result from the cached instance if it continues cleanly, else a replay.

    Workflow code runs with the database refused; loading the history is ours.
    """
    if cached is not None:
        try:
            with forbid_database_access(execution):
                return continue_workflow_task(cached.instance, cached.issued, history, now)
        except CacheMissError:
            logger.info("Cached instance of run %s is stale; replaying.", execution.run_id)
        history = _store.load_history(execution)
    with forbid_database_access(execution):
        return run_workflow_task(
            definition,
            workflow_info(execution),
            history,
            now,
            max_payload_bytes=dw_settings.MAX_PAYLOAD_BYTES,
        )


def _has_unseen_events(history: list[HistoryEvent]) -> bool:
    last = history[-1].event_type
    return last is not EventType.WORKFLOW_TASK_COMPLETED and last not in COMMAND_EVENT_TYPES
