"""Starting runs: a client's start, a child, the next run of a continue-as-new or cron chain."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError

from .. import _cron, _dispatch
from .._engine import EventType, StartOptions
from ..common import WorkflowIDReusePolicy
from ..conf import dw_settings
from ..exceptions import WorkflowAlreadyStartedError
from ..models import WorkflowExecution, WorkflowStatus
from .history import HistoryWriter


@dataclass(frozen=True)
class Lineage:
    """Where a new run comes from: the run it continues, or the parent that starts it."""

    continued_from: WorkflowExecution | None = None
    #: The next run of a cron workflow (``continued_from`` is the run that closed).
    cron: bool = False
    parent: WorkflowExecution | None = None
    parent_initiated_event_id: int | None = None
    parent_close_policy: str = ""


def create_execution(
    workflow_type: str,
    input: list[Any],
    options: StartOptions,
    now: datetime,
    *,
    lineage: Lineage | None = None,
) -> WorkflowExecution:
    """Insert a RUNNING execution with its WorkflowExecutionStarted event and a pending task.

    ``options`` come checked and encoded from the service, with the task queue resolved.
    Must run inside ``transaction.atomic()``; the hint is sent after commit. A run that
    continues another keeps its deadline (the execution timeout spans the chain) and its
    parent; a child records its parent.

    Raises:
        WorkflowAlreadyStartedError: a run with this id is running, or the reuse
            policy forbids reusing the id of a closed run.
    """
    workflow_id, task_queue, execution_timeout = (
        options.workflow_id,
        options.task_queue,
        options.execution_timeout,
    )
    if task_queue is None:
        raise ValueError("create_execution() needs the task queue resolved by the service.")
    if options.id_reuse_policy != WorkflowIDReusePolicy.ALLOW_DUPLICATE:
        # With the default policy the partial unique index alone refuses a running id.
        _check_reuse_policy(workflow_id, options.id_reuse_policy)
    lineage = lineage or Lineage()
    execution = WorkflowExecution(
        workflow_id=workflow_id,
        workflow_type=workflow_type,
        task_queue=task_queue,
        input=input,
        start_time=now,
        execution_timeout=execution_timeout.total_seconds() if execution_timeout else None,
        expiration_time=now + execution_timeout if execution_timeout else None,
        search_attributes=options.search_attributes,
        memo=options.memo,
        cron_schedule=options.cron_schedule or "",
    )
    attributes: dict[str, Any] = {}
    if (previous := lineage.continued_from) is not None:
        execution.continued_run_id = previous.run_id
        execution.cron_schedule = previous.cron_schedule
        if not lineage.cron:  # the timeout spans a continue-as-new chain, not a cron's
            execution.expiration_time = previous.expiration_time
            execution.execution_timeout = previous.execution_timeout
        execution.parent_workflow_id = previous.parent_workflow_id
        execution.parent_run_id = previous.parent_run_id
        execution.parent_initiated_event_id = previous.parent_initiated_event_id
        execution.parent_close_policy = previous.parent_close_policy
        attributes["continued_execution_run_id"] = str(previous.run_id)
    if (parent := lineage.parent) is not None:
        execution.parent_workflow_id = parent.workflow_id
        execution.parent_run_id = parent.run_id
        execution.parent_initiated_event_id = lineage.parent_initiated_event_id
        execution.parent_close_policy = lineage.parent_close_policy
    if execution.cron_schedule:
        # As Temporal's start event records them: the schedule, and the first task's delay.
        attributes["cron_schedule"] = execution.cron_schedule
        attributes["first_workflow_task_backoff"] = (
            _cron.next_time(execution.cron_schedule, now) - now
        ).total_seconds()
    if execution.parent_run_id is not None:
        attributes["parent_workflow_id"] = execution.parent_workflow_id
        attributes["parent_run_id"] = str(execution.parent_run_id)
        attributes["parent_initiated_event_id"] = execution.parent_initiated_event_id
    writer = HistoryWriter(execution, now)
    writer.append(
        EventType.WORKFLOW_EXECUTION_STARTED,
        {
            "workflow_type": workflow_type,
            "task_queue": task_queue,
            "input": input,
            "execution_timeout": execution.execution_timeout,
            "randomness_seed": random.SystemRandom().getrandbits(63),
            "search_attributes": execution.search_attributes,
            "memo": execution.memo,
            **attributes,
        },
    )
    if execution.cron_schedule:
        _wait_for_first_firing(writer)
    else:
        writer.request_workflow_task()
    try:
        writer.save(insert=True)
    except IntegrityError:
        running = WorkflowExecution.objects.filter(
            workflow_id=workflow_id, status=WorkflowStatus.RUNNING
        ).first()
        raise WorkflowAlreadyStartedError(
            f"Workflow {workflow_id!r} is already running"
            + (f" (run {running.run_id})." if running else "."),
            workflow_id=workflow_id,
            run_id=str(running.run_id) if running else None,
        ) from None
    return execution


def _wait_for_first_firing(writer: HistoryWriter) -> None:
    """A cron run's first task is due at the schedule's next firing: a delayed hint if it
    is near (the countdown fast path), else the tick's redrive when it comes due."""
    execution, now = writer.execution, writer.now
    due = _cron.next_time(execution.cron_schedule, now)
    writer.request_workflow_task(not_before=due)
    if due - now <= dw_settings.COUNTDOWN_FAST_PATH_MAX:

        def hint() -> None:
            _dispatch.workflow_task(str(execution.run_id), execution.task_queue, due - now)

        writer.after_save(hint)


def _check_reuse_policy(workflow_id: str, policy: WorkflowIDReusePolicy) -> None:
    latest = (
        WorkflowExecution.objects.filter(workflow_id=workflow_id)
        .order_by("-start_time", "-id")
        .only("status", "run_id")
        .first()
    )
    if latest is None:
        return
    if latest.status == WorkflowStatus.RUNNING:
        raise WorkflowAlreadyStartedError(
            f"Workflow {workflow_id!r} is already running (run {latest.run_id}).",
            workflow_id=workflow_id,
            run_id=str(latest.run_id),
        )
    refused = policy == WorkflowIDReusePolicy.REJECT_DUPLICATE or (
        policy == WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
        and latest.status in (WorkflowStatus.COMPLETED, WorkflowStatus.CONTINUED_AS_NEW)
    )
    if refused:
        raise WorkflowAlreadyStartedError(
            f"Workflow id {workflow_id!r} was already used by run {latest.run_id} "
            f"({latest.status}) and the id reuse policy is {policy.value}.",
            workflow_id=workflow_id,
            run_id=str(latest.run_id),
        )


def start_next_cron_run(previous: WorkflowExecution, now: datetime) -> None:
    """A cron run closed (not cancelled or terminated): start the next run of its id, with
    the same arguments, its first task due at the schedule's next firing."""
    create_execution(
        previous.workflow_type,
        previous.input,
        StartOptions(
            workflow_id=previous.workflow_id,
            task_queue=previous.task_queue,
            execution_timeout=(
                timedelta(seconds=previous.execution_timeout)
                if previous.execution_timeout
                else None
            ),
            search_attributes=dict(previous.search_attributes or {}),
            memo=dict(previous.memo or {}),
        ),
        now,
        lineage=Lineage(continued_from=previous, cron=True),
    )


def then_next_cron_run(writer: HistoryWriter) -> None:
    """After ``writer`` closes a cron run (completed, failed, timed out; not cancelled or
    terminated), start the next run of its id once the close is saved."""
    execution, now = writer.execution, writer.now
    if execution.cron_schedule:
        writer.after_save(lambda: start_next_cron_run(execution, now))
