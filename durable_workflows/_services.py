"""Use cases shared by the client, the admin, the API and the management command.

Everything is validated before anything is written: an unknown workflow type,
wrong arguments or an unstorable payload raise before the transaction starts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from . import _clock, _registry, _store
from ._engine import HistoryEvent, WorkflowDefinition, exception_from_failure
from ._engine.converter import Signature, to_json
from .common import WorkflowIDReusePolicy
from .conf import dw_settings
from .exceptions import (
    InvalidArgumentError,
    WorkflowAlreadyStartedError,
    WorkflowFailureError,
    WorkflowNotFoundError,
)
from .models import ActivityTask, Timer, TimerStatus, WorkflowExecution, WorkflowStatus


def _check_identifier(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(f"{what} must be a non-empty string, got {value!r}.")
    if len(value) > 255:
        raise InvalidArgumentError(f"{what} is {len(value)} characters long; the limit is 255.")
    return value


def check_decodable(signature: Signature, payloads: list[Any], what: str) -> None:
    """Refuse arguments that are valid JSON but cannot become the parameters' types.

    Accepted, they would fail every replay of the run (or of the signal) later; refused,
    the caller hears why now.

    Raises:
        InvalidArgumentError: ``"abc"`` for an ``int``, a dict missing a dataclass field, ...
    """
    try:
        signature.decode_args(payloads)
    except InvalidArgumentError:
        raise
    except Exception as exc:
        raise InvalidArgumentError(
            f"The arguments of {what} do not fit its parameter types: {exc}"
        ) from exc


def start_workflow(
    definition: WorkflowDefinition,
    args: list[Any],
    *,
    workflow_id: str,
    task_queue: str | None = None,
    execution_timeout: timedelta | None = None,
    id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    search_attributes: dict[str, Any] | None = None,
    memo: dict[str, Any] | None = None,
    start_signal: tuple[str, list[Any]] | None = None,
) -> WorkflowExecution:
    """Validate, then create the run in one transaction; the first hint goes out on commit.

    With ``start_signal`` (name and encoded arguments) this is signal-with-start:
    the signal goes to the running run of ``workflow_id`` if there is one, else
    to a new run started atomically with it.
    """
    _check_identifier(workflow_id, "The workflow id")
    queue = _check_identifier(task_queue or dw_settings.DEFAULT_TASK_QUEUE, "The task queue")
    if execution_timeout is not None and execution_timeout <= timedelta(0):
        raise InvalidArgumentError("execution_timeout must be positive.")
    payloads = definition.run_signature.encode_args(args, dw_settings.MAX_PAYLOAD_BYTES)
    check_decodable(definition.run_signature, payloads, f"workflow {definition.name!r}")
    attributes = to_json(search_attributes or {})
    memo_payload = to_json(memo or {})

    def create() -> WorkflowExecution:
        return _store.create_execution(
            workflow_id=workflow_id,
            workflow_type=definition.name,
            task_queue=queue,
            input=payloads,
            now=_clock.now(),
            execution_timeout=execution_timeout,
            id_reuse_policy=WorkflowIDReusePolicy(id_reuse_policy),
            search_attributes=attributes,
            memo=memo_payload,
        )

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
    """The given run, or the latest run of ``workflow_id``."""
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


@dataclass(frozen=True)
class PendingActivity:
    activity_id: str
    activity_type: str
    status: str
    attempt: int
    scheduled_time: datetime
    started_time: datetime | None
    last_failure: dict[str, Any] | None
    heartbeat_details: list[Any] | None
    last_heartbeat_time: datetime | None
    next_deadline: datetime | None


@dataclass(frozen=True)
class PendingTimer:
    timer_id: str
    fire_at: datetime


@dataclass(frozen=True)
class WorkflowDescription:
    """What ``handle.describe()`` returns."""

    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    status: str
    start_time: datetime
    close_time: datetime | None
    execution_timeout: float | None
    history_length: int
    input: list[Any]
    result: Any
    failure: dict[str, Any] | None
    task_failure: dict[str, Any] | None
    search_attributes: dict[str, Any]
    memo: dict[str, Any]
    pending_activities: list[PendingActivity] = field(default_factory=list)
    pending_timers: list[PendingTimer] = field(default_factory=list)


def describe(execution: WorkflowExecution) -> WorkflowDescription:
    activities = ActivityTask.objects.filter(
        execution=execution, status__in=["SCHEDULED", "STARTED"]
    ).order_by("scheduled_event_id")
    timers = Timer.objects.filter(execution=execution, status=TimerStatus.PENDING).order_by(
        "fire_at"
    )
    return WorkflowDescription(
        workflow_id=execution.workflow_id,
        run_id=str(execution.run_id),
        workflow_type=execution.workflow_type,
        task_queue=execution.task_queue,
        status=execution.status,
        start_time=execution.start_time,
        close_time=execution.close_time,
        execution_timeout=execution.execution_timeout,
        history_length=execution.history_length,
        input=execution.input,
        result=execution.result,
        failure=execution.failure,
        task_failure=execution.task_failure,
        search_attributes=execution.search_attributes,
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
            )
            for a in activities
        ],
        pending_timers=[PendingTimer(timer_id=t.timer_id, fire_at=t.fire_at) for t in timers],
    )


def history(execution: WorkflowExecution) -> list[HistoryEvent]:
    return _store.load_history(execution)


@dataclass(frozen=True)
class Outcome:
    """A closed run's outcome, as ``result()`` needs it."""

    status: str
    result: Any
    failure: dict[str, Any] | None


def outcome_if_closed(pk: int) -> Outcome | None:
    row = (
        WorkflowExecution.objects.filter(pk=pk)
        .exclude(status=WorkflowStatus.RUNNING)
        .values("status", "result", "failure")
        .first()
    )
    return Outcome(**row) if row else None


def raise_for_outcome(outcome: Outcome, workflow_id: str) -> Any:
    """Return the result of a completed run, or raise WorkflowFailureError."""
    if outcome.status == WorkflowStatus.COMPLETED:
        return outcome.result
    cause = exception_from_failure(outcome.failure) if outcome.failure else None
    raise WorkflowFailureError(
        f"Workflow {workflow_id!r} ended {outcome.status}"
        + (f": {cause.message}" if cause is not None else "."),
        status=outcome.status,
        cause=cause,
    )


def resolve_definition(target: Any) -> WorkflowDefinition:
    return _registry.resolve_workflow(target)
