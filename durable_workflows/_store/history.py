"""Appending to a run's history under its row lock: the one way events are written."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from .. import _clock, _dispatch
from .._engine import CLOSE_EVENT_TYPES, EventType, Failure
from .._engine import HistoryEvent as EngineEvent
from ..common import ParentClosePolicy
from ..models import (
    ActivityTask,
    ExternalRequest,
    ExternalRequestKind,
    HistoryEvent,
    WorkflowExecution,
    WorkflowStatus,
)
from . import statements


def lock_execution(
    *, run_id: str | None = None, pk: int | None = None, skip_locked: bool = False
) -> WorkflowExecution | None:
    """Lock one execution row for the rest of the transaction (None if absent or, with
    ``skip_locked``, held by someone else)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_execution() must run inside transaction.atomic().")
    rows = WorkflowExecution.objects.select_for_update(skip_locked=skip_locked)
    if run_id is not None:
        return rows.filter(run_id=run_id).first()
    if pk is None:
        raise TypeError("lock_execution() needs run_id or pk.")
    return rows.filter(pk=pk).first()


def lock_running(workflow_id: str) -> WorkflowExecution | None:
    """Lock the RUNNING run of ``workflow_id``, if any, for the rest of the transaction."""
    return (
        WorkflowExecution.objects.select_for_update()
        .filter(workflow_id=workflow_id, status=WorkflowStatus.RUNNING)
        .first()
    )


def load_history(execution: WorkflowExecution, *, after_event_id: int = 0) -> list[EngineEvent]:
    """The run's events with ids above ``after_event_id`` (all of them by default), in order."""
    # One plain SELECT of the four columns: the engine needs the whole list anyway, and
    # iterator() would cost a server-side cursor (DECLARE, FETCH, CLOSE) and model instances.
    rows = (
        HistoryEvent.objects.filter(execution=execution, event_id__gt=after_event_id)
        .order_by("event_id")
        .values_list("event_id", "event_type", "timestamp", "attributes")
    )
    return _engine_events(rows)


def lock_for_task(
    run_id: str, *, after_event_id: int
) -> tuple[WorkflowExecution, list[EngineEvent]] | None:
    """Lock a run for its workflow task (inside ``transaction.atomic()``) and read its
    events after ``after_event_id`` if a task is pending; None if there is no such run."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_for_task() must run inside transaction.atomic().")
    locked = statements.lock_for_task(run_id, after_event_id=after_event_id)
    if locked is None:
        return None
    execution, rows = locked
    return execution, _engine_events(rows)


def _engine_events(rows: Iterable[statements.EventRow]) -> list[EngineEvent]:
    return [
        EngineEvent(
            event_id=event_id,
            event_type=EventType(event_type),
            timestamp=timestamp,
            attributes=attributes,
        )
        for event_id, event_type, timestamp, attributes in rows
    ]


def to_engine_event(row: HistoryEvent) -> EngineEvent:
    return EngineEvent(
        event_id=row.event_id,
        event_type=EventType(row.event_type),
        timestamp=row.timestamp,
        attributes=row.attributes,
    )


_MUTABLE_EXECUTION_FIELDS = [
    "status",
    "result",
    "failure",
    "close_time",
    "history_length",
    "task_pending",
    "task_dispatch_after",
    "task_dispatched_at",
    "task_attempt",
    "task_failure",
    "started_children",
]


@dataclass(frozen=True)
class PendingWorkflowTask:
    """A workflow task made pending by a write whose caller chose to run it itself."""

    run_id: str
    task_queue: str


@dataclass(frozen=True)
class ActivityStart:
    """An activity attempt a workflow task claimed for its own worker (eager execution).

    The row was written STARTED by this worker in the task's transaction (as Temporal
    hands an eager activity back already started), so running it needs no claim of its
    own; a worker that dies before it finishes leaves it to the start-to-close timeout.
    """

    activity: ActivityTask

    @property
    def activity_task_id(self) -> int:
        return self.activity.pk

    @property
    def attempt(self) -> int:
        return self.activity.attempt

    @property
    def task_queue(self) -> str:
        return self.activity.task_queue

    @property
    def activity_type(self) -> str:
        return self.activity.activity_type


@dataclass(frozen=True)
class RunHere:
    """Which activities a workflow task's worker runs itself, and who that worker is."""

    #: Asked of each activity the task schedules: (activity_type, task_queue) -> run it here?
    accepts: Callable[[str, str], bool]
    #: Recorded as the attempt's worker_identity.
    identity: str


class HistoryWriter:
    """Collects the events and side effects of one transaction on one locked execution.

    ``save()`` writes the events in one bulk insert, saves the execution, and
    registers the hints to send after commit. The unique constraint on
    (execution, event_id) turns any double write into an error, not a duplicate.

    With ``defer_workflow_task``, a workflow task made pending is not hinted: ``save()``
    returns it instead, for a caller that will run it next (and hint it if it cannot).
    """

    def __init__(
        self,
        execution: WorkflowExecution,
        now: datetime | None = None,
        *,
        defer_workflow_task: bool = False,
        run_here: RunHere | None = None,
    ) -> None:
        self.execution = execution
        self.now = now or _clock.now()
        self.defer_workflow_task = defer_workflow_task
        #: Which scheduled activities to hand back instead of hinting (see ActivityStart).
        self.run_here = run_here
        self.started_here: list[ActivityStart] = []
        self._events: list[HistoryEvent] = []
        self._after_save: list[Callable[[], object]] = []
        self._wake_task = False
        #: Columns beyond the usual ones this write changes (search attributes, memo).
        self._changed: set[str] = set()

    def changed(self, *fields: str) -> None:
        """``save()`` writes these columns of the execution too."""
        self._changed.update(fields)

    def append(self, event_type: EventType, attributes: dict[str, Any] | None = None) -> int:
        """Add an event; returns its event id."""
        if not self.execution.is_running and event_type not in CLOSE_EVENT_TYPES:
            raise RuntimeError(f"Cannot append {event_type.value} to a closed run.")
        self.execution.history_length += 1
        self._events.append(
            HistoryEvent(
                execution=self.execution,
                event_id=self.execution.history_length,
                event_type=event_type.value,
                timestamp=self.now,
                attributes=attributes or {},
            )
        )
        return self.execution.history_length

    @property
    def events(self) -> list[HistoryEvent]:
        """The events appended and not yet saved."""
        return self._events

    def request_workflow_task(self, *, not_before: datetime | None = None) -> None:
        """The code has new events to see: make a workflow task pending and hint a worker.

        With ``not_before`` (a cron run's first task) the task is due then, and no hint is
        sent now: the caller sends a delayed one, or the tick redrives it when due.
        """
        execution = self.execution
        if not execution.is_running:
            return
        if not execution.task_pending:
            execution.task_pending = True
            execution.task_attempt = 0
            execution.task_dispatch_after = not_before or self.now
            self._wake_task = not_before is None

    def close(
        self,
        status: WorkflowStatus,
        *,
        result: Any = None,
        failure: dict[str, Any] | None = None,
    ) -> None:
        execution = self.execution
        execution.status = status
        execution.result = result
        execution.failure = failure
        execution.close_time = self.now
        execution.task_pending = False
        execution.task_dispatch_after = None
        now = self.now
        # A child that continues as new is still the parent's child: its last run reports.
        # First: the parent's lock is taken before any other run's row is touched below
        # (a slot handed over), so the child-then-parent order holds.
        if execution.parent_run_id is not None and status != WorkflowStatus.CONTINUED_AS_NEW:
            self._after_save.append(lambda: _report_to_parent(execution, status, now))
        self._after_save.append(lambda: statements.release_pending_work(execution, now))
        if execution.started_children:
            self._after_save.append(lambda: _apply_parent_close_policy(execution, now))

    def after_save(self, fn: Callable[[], object]) -> None:
        """Call ``fn`` once the events are written (its return value is ignored)."""
        self._after_save.append(fn)

    def save(
        self, *, insert: bool = False, notify: str | None = None
    ) -> PendingWorkflowTask | None:
        """Write everything; ``insert`` creates the execution row itself (a new run);
        ``notify`` wakes waiters on that key once the transaction commits.

        Returns the workflow task this made pending, if it was deferred (not hinted).

        Raises:
            IntegrityError: with ``insert``, when another run of the id is RUNNING; nothing
                was written, and the caller's transaction stays usable.
        """
        execution = self.execution
        if self._wake_task:
            execution.task_dispatched_at = self.now
        if insert:
            if not statements.insert_with_events(execution, self._events):
                raise IntegrityError(
                    f"Workflow {execution.workflow_id!r} already has a running run."
                )
        else:
            # Only the mutable columns: the input (up to MAX_PAYLOAD_BYTES) is never rewritten.
            fields = [*_MUTABLE_EXECUTION_FIELDS, *sorted(self._changed)]
            statements.update_and_append(execution, fields, self._events, notify=notify)
        for fn in self._after_save:
            fn()
        deferred = None
        if self._wake_task:
            if self.defer_workflow_task:
                deferred = PendingWorkflowTask(str(execution.run_id), execution.task_queue)
            else:
                _dispatch.workflow_task(str(execution.run_id), execution.task_queue)
        self._events = []
        self._after_save = []
        self._wake_task = False
        self._changed = set()
        return deferred


# --- what a close tells the run's relatives ------------------------------------------------

_CHILD_CLOSED_AS = {
    WorkflowStatus.COMPLETED: EventType.CHILD_WORKFLOW_EXECUTION_COMPLETED,
    WorkflowStatus.FAILED: EventType.CHILD_WORKFLOW_EXECUTION_FAILED,
    WorkflowStatus.CANCELED: EventType.CHILD_WORKFLOW_EXECUTION_CANCELED,
    WorkflowStatus.TIMED_OUT: EventType.CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
    WorkflowStatus.TERMINATED: EventType.CHILD_WORKFLOW_EXECUTION_TERMINATED,
}


def _report_to_parent(child: WorkflowExecution, status: str, now: datetime) -> None:
    """Record the child's close in its parent's history, in the child's close transaction.

    The child is locked before its parent, always (nothing locks a parent and then its
    child: what a parent sends its children goes through ExternalRequest rows, delivered
    one run at a time), so two closes cannot deadlock; and a crash cannot lose the report.
    """
    parent = lock_execution(run_id=str(child.parent_run_id))
    if parent is None or not parent.is_running:
        return  # the parent closed first (and its close policy applied), or was deleted
    failure = child.failure
    if status == WorkflowStatus.CANCELED and failure is None:
        failure = Failure.cancelled("Child workflow was cancelled").to_dict()
    writer = HistoryWriter(parent, now)
    attributes: dict[str, Any] = {
        "initiated_event_id": child.parent_initiated_event_id,
        "workflow_id": child.workflow_id,
        "run_id": str(child.run_id),
        "workflow_type": child.workflow_type,
    }
    if status == WorkflowStatus.COMPLETED:
        attributes["result"] = child.result
    else:
        attributes["failure"] = failure
    writer.append(_CHILD_CLOSED_AS[WorkflowStatus(status)], attributes)
    writer.request_workflow_task()
    writer.save()


def _apply_parent_close_policy(parent: WorkflowExecution, now: datetime) -> None:
    """Queue the terminate or cancel requests the parent's running children are due."""
    children = (
        WorkflowExecution.objects.filter(parent_run_id=parent.run_id, status=WorkflowStatus.RUNNING)
        .exclude(parent_close_policy=ParentClosePolicy.ABANDON)
        .values_list("workflow_id", "parent_close_policy")
    )
    for workflow_id, policy in children:
        request = ExternalRequest.objects.create(
            execution=parent,
            kind=(
                ExternalRequestKind.TERMINATE
                if policy == ParentClosePolicy.TERMINATE
                else ExternalRequestKind.CANCEL
            ),
            workflow_id=workflow_id,
            # Whichever run of the child is running when delivered: it may continue as new
            # meanwhile (child_workflow_only keeps it to this parent's children).
            run_id=None,
            child_workflow_only=True,
            reason=f"Parent workflow {parent.workflow_id} closed ({parent.status}).",
            created_at=now,
            dispatched_at=now,
        )
        _dispatch.external_request(request.pk, parent.task_queue)
