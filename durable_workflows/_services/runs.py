"""Runs: start, find, describe, list, read history, wait for and read outcomes, delete.

Everything is validated before anything is written: an unknown workflow type, a bad
id or task queue, wrong arguments, an unstorable payload (arguments, memo, search
attributes) or an out-of-range timeout raise before the transaction starts.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet

from .. import _clock, _cron, _dispatch, _registry, _store
from .._engine import Failure, HistoryEvent, StartOptions, WorkflowDefinition
from ..common import (
    PendingActivity,
    PendingTimer,
    RunReference,
    WorkflowDescription,
    WorkflowExecutionStatus,
    WorkflowIDConflictPolicy,
    WorkflowSummary,
)
from ..conf import dw_settings
from ..exceptions import (
    WorkflowAlreadyStartedError,
    WorkflowFailureError,
    WorkflowNotFoundError,
    WorkflowResultTimeoutError,
)
from ..models import (
    ActivityStatus,
    ActivityTask,
    Timer,
    TimerStatus,
    WorkflowExecution,
    WorkflowStatus,
)
from .arguments import (
    check_identifier,
    check_task_queue,
    check_text,
    check_timeout,
    encode_args,
    encode_mapping,
)
from .visibility import SUMMARY_FIELDS, list_executions


def start_workflow(
    definition: WorkflowDefinition,
    args: list[Any],
    options: StartOptions,
    *,
    start_signal: tuple[str, list[Any]] | None = None,
) -> WorkflowExecution:
    """Validate, then create the run in one transaction; the first hint goes out on commit.

    With ``start_signal`` (name and encoded arguments) this is signal-with-start:
    the signal goes to the running run of ``options.workflow_id`` if there is one,
    else to a new run started atomically with it.
    """
    workflow_id = check_identifier(options.workflow_id, "The workflow id")
    queue = check_task_queue(options.task_queue or dw_settings.DEFAULT_TASK_QUEUE)
    check_timeout(options.execution_timeout, "The execution timeout")
    if options.cron_schedule is not None:
        _cron.parse(options.cron_schedule)
    payloads = encode_args(definition.run_signature, args, f"workflow {definition.name!r}")
    stored = replace(
        options,
        task_queue=queue,
        search_attributes=encode_mapping(options.search_attributes, "The search attributes"),
        memo=encode_mapping(options.memo, "The memo"),
    )

    def create() -> WorkflowExecution:
        return _store.create_execution(definition.name, payloads, stored, _clock.now())

    conflict = WorkflowIDConflictPolicy(options.id_conflict_policy)
    if start_signal is None and conflict is not WorkflowIDConflictPolicy.FAIL:
        with transaction.atomic():
            running = _store.lock_running(workflow_id)
            if running is not None and conflict is WorkflowIDConflictPolicy.USE_EXISTING:
                return running
            if running is not None:
                _store.terminate(
                    running,
                    f"Terminated by a start of {definition.name} with id_conflict_policy "
                    "TERMINATE_EXISTING.",
                    _clock.now(),
                )
            return create()
    if start_signal is None:
        with transaction.atomic():
            return create()
    signal_name, signal_payloads = start_signal
    with transaction.atomic():
        while True:
            running = _store.lock_running(workflow_id)
            if running is not None:
                _store.append_signal(running, signal_name, signal_payloads, _clock.now())
                return running
            try:
                execution = create()
            except WorkflowAlreadyStartedError:
                if _store.lock_running(workflow_id) is None:
                    raise  # refused by the id reuse policy, not a lost race
                continue  # another caller started it a moment ago: signal that run
            _store.append_signal(execution, signal_name, signal_payloads, _clock.now())
            return execution


def get_execution(workflow_id: str, run_id: str | None = None) -> WorkflowExecution:
    """The given run, or the latest run of ``workflow_id``.

    Raises:
        WorkflowNotFoundError: no such run.
        InvalidArgumentError: an id PostgreSQL cannot compare (a NUL, a lone surrogate).
    """
    check_text(workflow_id, "The workflow id")
    rows = WorkflowExecution.objects.filter(workflow_id=workflow_id)
    if run_id:
        try:
            uuid.UUID(str(run_id))
        except ValueError:
            execution = None  # a malformed run id names no run
        else:
            execution = rows.filter(run_id=run_id).first()
    else:
        execution = rows.order_by("-start_time", "-id").first()
    if execution is None:
        suffix = f" with run id {run_id!r}" if run_id else ""
        raise WorkflowNotFoundError(f"No workflow {workflow_id!r}{suffix}.")
    return execution


def describe(execution: WorkflowExecution) -> WorkflowDescription:
    """Everything about one run, with its pending activities and timers."""
    activities = ActivityTask.objects.filter(
        execution=execution, status__in=[ActivityStatus.SCHEDULED, ActivityStatus.STARTED]
    ).order_by("scheduled_event_id")
    timers = Timer.objects.filter(execution=execution, status=TimerStatus.PENDING).order_by(
        "fire_at"
    )
    return WorkflowDescription(
        **_summary_values(execution),
        input=execution.input,
        result=execution.result,
        failure=execution.failure,
        task_failure=execution.task_failure,
        memo=execution.memo,
        pending_activities=[
            PendingActivity(
                activity_id=a.activity_id,
                activity_type=a.activity_type,
                status=a.status,
                attempt=a.attempt,
                scheduled_time=a.scheduled_time,
                started_time=a.started_time,
                last_failure=a.last_failure,
                heartbeat_details=a.heartbeat_details,
                last_heartbeat_time=a.last_heartbeat_time,
                next_deadline=a.timeout_at,
                maximum_attempts=int((a.retry_policy or {}).get("maximum_attempts") or 0),
                cancel_requested=a.cancel_requested,
                last_worker_identity=a.worker_identity,
                waiting_for=_waiting_for(a),
            )
            for a in activities
        ],
        pending_timers=[PendingTimer(timer_id=t.timer_id, fire_at=t.fire_at) for t in timers],
        **_public(related_runs(execution)),
    )


def _waiting_for(activity: ActivityTask) -> str:
    """Why a pending attempt has not started, when a concurrency or rate limit holds it back."""
    if activity.status != ActivityStatus.SCHEDULED:
        return ""
    if activity.rate_key and activity.dispatch_after > _clock.now():
        return (
            f"the rate limit of {activity.rate_key} ({activity.rate_limit} starts per "
            f"{activity.rate_period:g} s): next try at {activity.dispatch_after.isoformat()}"
        )
    if not activity.limit_key or activity.holds_slot:
        return ""
    in_use = ActivityTask.objects.filter(
        limit_key=activity.limit_key,
        holds_slot=True,
        status__in=[ActivityStatus.SCHEDULED, ActivityStatus.STARTED],
    ).count()
    ahead = ActivityTask.objects.filter(
        limit_key=activity.limit_key,
        holds_slot=False,
        status=ActivityStatus.SCHEDULED,
        scheduled_time__lt=activity.scheduled_time,
    ).count()
    return (
        f"a concurrency slot of {activity.limit_key} ({in_use} of "
        f"{activity.concurrency_limit} in use, {ahead} waiting ahead)"
    )


@dataclass(frozen=True)
class ConcurrencyUse:
    """One concurrency key's slots: how many are held, and how many attempts wait."""

    key: str
    limit: int
    in_use: int
    waiting: int


def concurrency_overview(limit: int = 500) -> list[ConcurrencyUse]:
    """Every concurrency key with open attempts (``activity.Concurrency``), by key."""
    rows = (
        ActivityTask.objects.filter(status__in=[ActivityStatus.SCHEDULED, ActivityStatus.STARTED])
        .exclude(limit_key="")
        .values("limit_key")
        .annotate(
            in_use=Count("pk", filter=Q(holds_slot=True)),
            waiting=Count("pk", filter=Q(holds_slot=False, status=ActivityStatus.SCHEDULED)),
            limit=Max("concurrency_limit"),
        )
        .order_by("limit_key")[:limit]
    )
    return [
        ConcurrencyUse(row["limit_key"], row["limit"] or 0, row["in_use"], row["waiting"])
        for row in rows
    ]


#: Children listed by describe() and the admin (the most recent).
RELATED_RUNS_SHOWN = 50


@dataclass(frozen=True)
class RelatedRuns:
    """A run's relatives, each with its primary key (for the admin's links)."""

    parent: tuple[int, RunReference] | None
    continued_from: tuple[int, RunReference] | None
    continued_as: tuple[int, RunReference] | None
    children: list[tuple[int, RunReference]]


def related_runs(execution: WorkflowExecution) -> RelatedRuns:
    """The run's parent, children and neighbours in its continue-as-new chain."""
    runs = WorkflowExecution.objects.only("pk", "workflow_id", "run_id", "status")

    def reference(row: WorkflowExecution | None) -> tuple[int, RunReference] | None:
        if row is None:
            return None
        return row.pk, RunReference(row.workflow_id, str(row.run_id), row.status)

    children: list[tuple[int, RunReference]] = []
    if execution.started_children:
        rows = runs.filter(parent_run_id=execution.run_id).order_by("-start_time", "-id")
        children = [ref for row in rows[:RELATED_RUNS_SHOWN] if (ref := reference(row))]
    return RelatedRuns(
        parent=reference(runs.filter(run_id=execution.parent_run_id).first())
        if execution.parent_run_id
        else None,
        continued_from=reference(runs.filter(run_id=execution.continued_run_id).first())
        if execution.continued_run_id
        else None,
        continued_as=reference(runs.filter(continued_run_id=execution.run_id).first())
        if execution.status == WorkflowStatus.CONTINUED_AS_NEW
        else None,
        children=children,
    )


def _public(related: RelatedRuns) -> dict[str, Any]:
    def ref(pair: tuple[int, RunReference] | None) -> RunReference | None:
        return pair[1] if pair else None

    return {
        "parent": ref(related.parent),
        "continued_from": ref(related.continued_from),
        "continued_as": ref(related.continued_as),
        "children": [child for _, child in related.children],
    }


def history(execution: WorkflowExecution) -> list[HistoryEvent]:
    """Every event of the run, in order."""
    return _store.load_history(execution)


def list_runs(
    *,
    status: str | None = None,
    workflow_type: str | None = None,
    search_attributes: Mapping[str, Any] | None = None,
    query: str | None = None,
    limit: int = 100,
) -> list[WorkflowSummary]:
    """The newest runs matching the filters: one query, no payload columns read.

    Search attributes are compared as text, ``query`` is a list filter (see
    :func:`list_executions`).
    """
    text_filters = {key: _as_text(value) for key, value in (search_attributes or {}).items()}
    rows = list_executions(
        status=status, workflow_type=workflow_type, search_attributes=text_filters, query=query
    )[:limit]
    return [_summary(row) for row in rows]


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _summary_values(execution: WorkflowExecution) -> dict[str, Any]:
    """The :class:`WorkflowSummary` fields of a run (all a listing reads)."""
    values = {name: getattr(execution, name) for name in SUMMARY_FIELDS}
    return {
        **values,
        "run_id": str(execution.run_id),
        "status": WorkflowExecutionStatus(execution.status),
    }


def _summary(execution: WorkflowExecution) -> WorkflowSummary:
    return WorkflowSummary(**_summary_values(execution))


def delete_closed_runs(runs: QuerySet[WorkflowExecution]) -> int:
    """Delete the closed runs among ``runs``, with their history; running ones are kept."""
    return _store.delete_closed_runs(runs)


@dataclass(frozen=True)
class Outcome:
    """A closed run's outcome, as ``result()`` needs it."""

    status: str
    result: Any
    failure: dict[str, Any] | None
    #: The run it closed in, the last of a chain of continued-as-new runs.
    workflow_type: str = ""


def wait_for_outcome(
    execution: WorkflowExecution, timeout: float | None, *, follow_runs: bool = True
) -> Outcome:
    """Wait for the run to close; with ``follow_runs``, for the last run it continued as.

    Raises:
        WorkflowResultTimeoutError: still running after ``timeout`` seconds.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        outcome = _dispatch.wait_for(
            f"closed:{execution.run_id}",
            lambda pk=execution.pk: outcome_if_closed(pk),  # type: ignore[misc]
            remaining,
        )
        if outcome is None:
            raise WorkflowResultTimeoutError(
                f"Workflow {execution.workflow_id!r} is still running after {timeout} s."
            )
        if not follow_runs or outcome.status != WorkflowStatus.CONTINUED_AS_NEW:
            return outcome
        following = WorkflowExecution.objects.filter(continued_run_id=execution.run_id).first()
        if following is None:
            return outcome  # the next run was deleted (retention): report where the chain ends
        execution = following


def outcome_if_closed(pk: int) -> Outcome | None:
    row = (
        WorkflowExecution.objects.filter(pk=pk)
        .exclude(status=WorkflowStatus.RUNNING)
        .values("status", "result", "failure", "workflow_type")
        .first()
    )
    return Outcome(**row) if row else None


def raise_for_outcome(outcome: Outcome, workflow_id: str) -> Any:
    """Return the result of a completed run, or raise WorkflowFailureError."""
    if outcome.status == WorkflowStatus.COMPLETED:
        return outcome.result
    cause = Failure.from_dict(outcome.failure).to_exception() if outcome.failure else None
    if cause is None and outcome.status == WorkflowStatus.CANCELED:
        cause = Failure.cancelled("Workflow cancelled").to_exception()  # as Temporal's
    raise WorkflowFailureError(
        f"Workflow {workflow_id!r} ended {outcome.status}"
        + (f": {cause.message}" if cause is not None else "."),
        status=outcome.status,
        cause=cause,
    )


def resolve_definition(target: Any) -> WorkflowDefinition:
    return _registry.resolve_workflow(target)
