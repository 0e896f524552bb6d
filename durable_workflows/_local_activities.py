"""Local activities: run by the workflow worker during the task that asks for them.

The engine hands back the local activities the code waits for; this runs each here (in a
savepoint of the task's transaction, so a failed attempt's writes roll back), retries it
per its policy within its window, and feeds the outcome back: the engine records it as a
marker with the task's other commands, and replay reads the marker instead of running
the function again.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from . import _registry
from ._engine import Command, Failure, WorkflowInstance, WorkflowTaskError, check_size, to_json
from ._engine.instance import LocalActivityRequest
from ._replaying import forbid_database_access
from .activity import ActivityContext, Info, reset_context, use_context
from .common import RetryPolicy
from .conf import dw_settings
from .exceptions import RetryState
from .models import WorkflowExecution


@dataclass(frozen=True)
class _Outcome:
    attempt: int
    result: Any = None
    failure: dict[str, Any] | None = None
    retry_state: RetryState | None = None


def run_pending(
    instance: WorkflowInstance,
    execution: WorkflowExecution,
    commands: list[Command],
    now: datetime,
) -> list[Command]:
    """Run the local activities ``instance`` waits for, until it waits for none (or closes).

    Returns the task's commands: ``commands`` followed by what each outcome led to.

    Raises:
        WorkflowTaskError: a local activity kept failing past its retry window while its
            policy allows more attempts: the task is retried later, running it afresh.
    """
    while not instance.closed and (pending := instance.pending_local_activities):
        request = pending[0]
        outcome = _run_with_retries(request, execution, now)
        with forbid_database_access(execution):
            commands = commands + instance.resolve_local_activity(
                request.seq,
                result=outcome.result,
                failure=outcome.failure,
                retry_state=outcome.retry_state.value if outcome.retry_state else None,
                attempt=outcome.attempt,
            )
    return commands


def _run_with_retries(
    request: LocalActivityRequest, execution: WorkflowExecution, now: datetime
) -> _Outcome:
    options = request.options
    policy = RetryPolicy.from_dict(options.retry_policy or RetryPolicy().to_dict())
    window = options.schedule_to_close_timeout or options.start_to_close_timeout or 0.0
    deadline = time.monotonic() + window
    attempt = 1
    while True:
        try:
            with transaction.atomic():  # a savepoint: a failed attempt leaves no writes
                payload = _call(request, execution, attempt, now)
            return _Outcome(attempt=attempt, result=payload)
        except Exception as exc:
            failure = Failure.from_exception(exc)
            if failure.non_retryable or failure.type in policy.non_retryable_error_types:
                return _Outcome(attempt, failure=failure.to_dict(), retry_state=_NON_RETRYABLE)
            if policy.maximum_attempts and attempt >= policy.maximum_attempts:
                return _Outcome(attempt, failure=failure.to_dict(), retry_state=_MAX_ATTEMPTS)
            delay = policy.retry_delay(attempt).total_seconds()
            if time.monotonic() + delay >= deadline:
                if options.schedule_to_close_timeout is not None:
                    return _Outcome(attempt, failure=failure.to_dict(), retry_state=_TIMEOUT)
                raise WorkflowTaskError(
                    f"Local activity {request.activity_type} still failed after {attempt} "
                    f"attempts in {window:g} s, and its retry policy allows more: the workflow "
                    "task will be retried, running it afresh."
                ) from exc
            time.sleep(delay)
            attempt += 1


_NON_RETRYABLE = RetryState.NON_RETRYABLE_FAILURE
_MAX_ATTEMPTS = RetryState.MAXIMUM_ATTEMPTS_REACHED
_TIMEOUT = RetryState.TIMEOUT


def _call(
    request: LocalActivityRequest, execution: WorkflowExecution, attempt: int, now: datetime
) -> Any:
    definition = _registry.get_activity(request.activity_type, execution.task_queue)
    args = definition.signature.decode_args(request.input)
    info = Info(
        activity_id=request.options.activity_id or str(request.seq),
        activity_type=request.activity_type,
        attempt=attempt,
        workflow_id=execution.workflow_id,
        workflow_run_id=str(execution.run_id),
        workflow_type=execution.workflow_type,
        task_queue=execution.task_queue,
        scheduled_time=now,
        started_time=now,
        start_to_close_timeout=request.options.start_to_close_timeout,
        is_local=True,
    )
    token = use_context(
        ActivityContext(info=info, heartbeat=lambda details: None, is_cancelled=lambda: False)
    )
    try:
        value = asyncio.run(definition.fn(*args)) if definition.is_async else definition.fn(*args)
    finally:
        reset_context(token)
    payload = to_json(value)
    check_size(payload, dw_settings.MAX_PAYLOAD_BYTES, f"The result of activity {definition.name}")
    return payload
