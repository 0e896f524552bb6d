"""Use cases for talking to a running workflow: signal, query, update, cancel, terminate.

Names and arguments are checked against the workflow's definition before
anything is written; a query is answered by replaying the history read-only in
this process, so it needs no worker.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from .. import _clock, _dispatch, _registry, _store
from .._engine import (
    Failure,
    HandlerDefinition,
    HistoryEvent,
    ReadOnlyViolationError,
    WorkflowDefinition,
    WorkflowInstance,
    from_json,
    replay_for_query,
    to_json,
)
from .._replaying import forbid_database_access, workflow_info
from ..conf import dw_settings
from ..exceptions import (
    ApplicationError,
    FailureError,
    NondeterminismError,
    UnknownHandlerError,
    UnknownWorkflowTypeError,
    WorkflowClosedError,
    WorkflowDefinitionError,
    WorkflowQueryFailedError,
    WorkflowResultTimeoutError,
    WorkflowUpdateFailedError,
)
from ..models import WorkflowExecution
from .arguments import (
    check_identifier,
    check_wait_seconds,
    encode_handler_args,
    handler_name,
)
from .locking import locked_run
from .runs import get_execution


def _known_definition(workflow_type: str) -> WorkflowDefinition | None:
    try:
        return _registry.get_workflow(workflow_type)
    except (UnknownWorkflowTypeError, WorkflowDefinitionError):
        return None  # not here, or two of that name: the worker's queue decides


def handler_names(workflow_type: str, kind: str) -> list[str] | None:
    """The names of the ``kind`` handlers of ``workflow_type``; None if it is not known here."""
    definition = _known_definition(workflow_type)
    return None if definition is None else sorted(definition.handlers_of(kind))


# --- signals --------------------------------------------------------------------------------


def prepare_signal(workflow_type: str, signal: Any, args: list[Any]) -> tuple[str, list[Any]]:
    name = handler_name(signal, "signal")
    _, payloads = encode_handler_args(_known_definition(workflow_type), "signal", name, args)
    return name, payloads


def signal_workflow(
    workflow_id: str, signal: Any, args: list[Any], run_id: str | None = None
) -> None:
    """Append a signal to the run (the latest unless ``run_id``) and wake its workflow task.

    Raises:
        WorkflowNotFoundError, WorkflowClosedError, UnknownHandlerError,
        InvalidArgumentError, PayloadError.
    """
    execution = get_execution(workflow_id, run_id)
    _store.require_running(execution, "signal")
    name, payloads = prepare_signal(execution.workflow_type, signal, args)
    with locked_run(execution) as locked:
        _store.append_signal(locked, name, payloads, _clock.now())


# --- queries and update validation: read-only replay -------------------------------------------


def _replayed(
    execution: WorkflowExecution,
    definition: WorkflowDefinition,
    history: list[HistoryEvent] | None = None,
) -> WorkflowInstance:
    if history is None:
        history = _store.load_history(execution)
    with forbid_database_access(execution):
        instance = replay_for_query(
            definition,
            workflow_info(execution),
            history,
            max_payload_bytes=dw_settings.MAX_PAYLOAD_BYTES,
        )
    instance.is_replaying = True  # keep workflow.logger quiet while handlers run
    return instance


def _read_only_call(
    execution: WorkflowExecution, instance: WorkflowInstance, fn: Callable[[], Any], what: str
) -> Any:
    state_before = _snapshot(instance.workflow)
    with forbid_database_access(execution):
        result = instance.call_read_only(fn, what)
    changed = _changed_attributes(state_before, instance.workflow)
    if changed:
        raise ReadOnlyViolationError(
            f"{what} changed workflow state ({', '.join(changed)}); it may only read it."
        )
    return result


def query_workflow(workflow_id: str, query: Any, args: list[Any], run_id: str | None = None) -> Any:
    """Answer a query by replaying the history here; returns the JSON-ready result.

    Raises:
        WorkflowNotFoundError, UnknownWorkflowTypeError, UnknownHandlerError,
        InvalidArgumentError, WorkflowQueryFailedError.
    """
    execution = get_execution(workflow_id, run_id)
    definition = _registry.get_workflow(execution.workflow_type, execution.task_queue)
    name = handler_name(query, "query")
    handler, payloads = encode_handler_args(definition, "query", name, args)
    assert handler is not None
    decoded = handler.signature.decode_args(payloads)
    execution = _after_pending_task(execution)
    try:
        instance = _replayed(execution, definition)
        result = _read_only_call(
            execution, instance, lambda: handler.fn(instance.workflow, *decoded), f"Query {name!r}"
        )
        return to_json(result)
    except NondeterminismError as exc:
        raise WorkflowQueryFailedError(
            f"Query {name!r} cannot be answered: the history does not replay on this code: {exc}"
        ) from exc
    except ReadOnlyViolationError as exc:
        raise WorkflowQueryFailedError(str(exc)) from exc
    except Exception as exc:
        raise WorkflowQueryFailedError(f"Query {name!r} raised {exc!r}") from exc


#: How long a query waits for a workflow task that is due on the run (Temporal's queries
#: see the state after the task in flight). Past it, the query answers from the history as
#: it is: a run whose workers are all down can still be queried.
QUERY_WAITS_FOR_TASK_SECONDS = 5.0


def _after_pending_task(execution: WorkflowExecution) -> WorkflowExecution:
    """The run once its pending workflow task (if due and not failing) has run."""
    if not (execution.is_running and execution.task_pending and not execution.task_failure):
        return execution

    def done() -> WorkflowExecution | None:
        row = WorkflowExecution.objects.filter(pk=execution.pk).first()
        if row is None or not row.task_pending or row.task_failure or not row.is_running:
            return row
        return None

    settled = _dispatch.wait_for(
        [f"task:{execution.run_id}", f"closed:{execution.run_id}"],
        done,
        QUERY_WAITS_FOR_TASK_SECONDS,
    )
    return settled if settled is not None else execution


def decode_handler_result(workflow_type: str, kind: str, name: str, value: Any) -> Any:
    definition = _known_definition(workflow_type)
    handler = definition.handler(kind, name) if definition else None
    return from_json(value, handler.signature.return_hint) if handler else value


# --- updates ----------------------------------------------------------------------------------


def update_workflow(
    workflow_id: str,
    update: Any,
    args: list[Any],
    *,
    run_id: str | None = None,
    update_id: str | None = None,
    timeout: float | None = None,
) -> Any:
    """Validate, record and wait for an update; returns the handler's JSON-ready result.

    The validator runs on a read-only replay before anything is written: a rejection
    writes nothing. The replay is made before the run's lock is taken, so a long history
    does not stall the run's other writers (see :func:`_accept_update`).

    Raises:
        WorkflowUpdateFailedError: rejected by the validator, or the handler failed.
        WorkflowClosedError: the run is closed, or closed before the update finished.
        WorkflowResultTimeoutError: no outcome within ``timeout`` seconds.
    """
    timeout = check_wait_seconds(timeout, "The update's timeout")
    accepted = start_update(workflow_id, update, args, run_id=run_id, update_id=update_id)
    return wait_for_update(accepted, timeout)


@dataclass(frozen=True)
class AcceptedUpdate:
    """An update recorded in a run's history (Temporal's ACCEPTED stage)."""

    update_id: str
    name: str
    workflow_id: str
    run_id: str
    workflow_type: str
    execution_pk: int


def start_update(
    workflow_id: str,
    update: Any,
    args: list[Any],
    *,
    run_id: str | None = None,
    update_id: str | None = None,
) -> AcceptedUpdate:
    """Validate and record an update, without waiting for its handler.

    Raises:
        WorkflowUpdateFailedError: rejected by the validator (nothing is written).
        WorkflowClosedError: the run is closed.
    """
    execution = get_execution(workflow_id, run_id)
    _store.require_running(execution, "send an update to")
    definition = _registry.get_workflow(execution.workflow_type, execution.task_queue)
    name = handler_name(update, "update")
    handler, payloads = encode_handler_args(definition, "update", name, args)
    assert handler is not None
    update_id = check_identifier(update_id, "The update id") if update_id else str(uuid.uuid4())
    _accept_update(execution, definition, handler, update_id, payloads)
    return AcceptedUpdate(
        update_id,
        name,
        execution.workflow_id,
        str(execution.run_id),
        execution.workflow_type,
        execution.pk,
    )


def find_update(workflow_id: str, update_id: str, run_id: str | None = None) -> AcceptedUpdate:
    """An update already accepted by the run, by its id.

    Raises:
        WorkflowNotFoundError: no such run.
        UnknownHandlerError: the run accepted no update with that id.
    """
    execution = get_execution(workflow_id, run_id)
    name = _store.accepted_update_name(execution.pk, update_id)
    if name is None:
        raise UnknownHandlerError(
            f"Workflow {workflow_id!r} (run {execution.run_id}) has accepted no update with "
            f"id {update_id!r}.",
            kind="update",
            name=update_id,
        )
    return AcceptedUpdate(
        update_id,
        name,
        execution.workflow_id,
        str(execution.run_id),
        execution.workflow_type,
        execution.pk,
    )


def wait_for_update(accepted: AcceptedUpdate, timeout: float | None) -> Any:
    """Wait for an accepted update's handler; returns its JSON-ready result.

    Raises:
        WorkflowUpdateFailedError: the handler failed.
        WorkflowClosedError: the run closed before the handler finished.
        WorkflowResultTimeoutError: no outcome within ``timeout`` seconds.
    """
    name, pk = accepted.name, accepted.execution_pk

    def check() -> dict[str, Any] | None:
        outcome = _store.update_outcome(pk, accepted.update_id)
        if outcome is not None:
            return outcome
        if not WorkflowExecution.objects.filter(pk=pk, status="RUNNING").exists():
            return {"closed": True}
        return None

    outcome = _dispatch.wait_for(
        [f"update:{accepted.update_id}", f"closed:{accepted.run_id}"], check, timeout
    )
    if outcome is None:
        raise WorkflowResultTimeoutError(f"Update {name!r} did not finish within {timeout} s.")
    if outcome.get("closed"):
        raise WorkflowClosedError(
            f"Workflow {accepted.workflow_id!r} closed before update {name!r} finished."
        )
    if outcome.get("failure"):
        cause = Failure.from_dict(outcome["failure"]).to_exception()
        raise WorkflowUpdateFailedError(f"Update {name!r} failed: {cause.message}", cause=cause)
    return outcome.get("result")


#: Replays of an update's validator made outside the run's lock before the last one is
#: made under it. Each retry means events were appended between the replay and the lock.
VALIDATION_ATTEMPTS = 3


def _accept_update(
    execution: WorkflowExecution,
    definition: WorkflowDefinition,
    handler: HandlerDefinition,
    update_id: str,
    payloads: list[Any],
) -> None:
    """Validate the update (if its handler has a validator), then record it as accepted.

    The validator's replay reads the whole history, so it is made before the row lock is
    taken: holding the lock meanwhile would stall every writer of the run (on SQLite, of
    the database). Under the lock the history length is compared with the replayed one;
    if events were appended in between, the replay is made again. The last of
    ``VALIDATION_ATTEMPTS`` is made under the lock, so a busy run still gets an answer.
    """
    name = handler.name
    for attempt in range(1, VALIDATION_ATTEMPTS + 1):
        replayed_length = None
        if handler.validator is not None and attempt < VALIDATION_ATTEMPTS:
            _store.require_running(execution, f"send update {name!r} to")
            replayed_length = _validate(execution, definition, handler, payloads)
        with locked_run(execution) as locked:
            _store.require_running(locked, f"send update {name!r} to")
            if handler.validator is not None:
                if replayed_length is None:
                    _validate(locked, definition, handler, payloads)
                elif locked.history_length != replayed_length:
                    execution = locked
                    continue  # the history grew since the replay: validate it again
            _store.accept_update(locked, update_id, name, payloads, _clock.now())
            return


def _validate(
    execution: WorkflowExecution,
    definition: WorkflowDefinition,
    handler: HandlerDefinition,
    payloads: list[Any],
) -> int:
    """Run the validator on a replay of the history; returns how many events it replayed.

    Raises:
        WorkflowUpdateFailedError: the validator rejected the update.
    """
    validator = handler.validator
    assert validator is not None
    decoded = handler.signature.decode_args(payloads)
    history = _store.load_history(execution)
    instance = _replayed(execution, definition, history)
    try:
        _read_only_call(
            execution,
            instance,
            lambda: validator(instance.workflow, *decoded),
            f"The validator of update {handler.name!r}",
        )
    except Exception as exc:
        cause = (
            exc
            if isinstance(exc, FailureError)
            else ApplicationError(str(exc), type=type(exc).__name__)
        )
        # The constructor sets __cause__ to the rebuilt failure; `from exc` would overwrite it.
        raise WorkflowUpdateFailedError(  # noqa: B904
            f"Update {handler.name!r} was rejected: {exc}", cause=cause
        )
    return history[-1].event_id if history else 0


# --- cancel and terminate ---------------------------------------------------------------------


def cancel_workflow(workflow_id: str, run_id: str | None = None, reason: str = "") -> bool:
    """Request cancellation; the workflow sees CancelledError at its current await.

    Returns False when cancellation had already been requested.
    """
    with locked_run(get_execution(workflow_id, run_id)) as locked:
        return _store.request_cancel(locked, reason, _clock.now())


def terminate_workflow(workflow_id: str, reason: str = "", run_id: str | None = None) -> None:
    """Close the run as TERMINATED now, running no workflow code."""
    with locked_run(get_execution(workflow_id, run_id)) as locked:
        _store.terminate(locked, reason, _clock.now())


# --- read-only enforcement helpers ------------------------------------------------------------

_COMPARABLE = (type(None), bool, int, float, str, bytes, list, tuple, dict, set, frozenset)


def _snapshot(obj: Any) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = copy.deepcopy(vars(obj))
    except Exception:  # state that cannot be copied is not checked
        return None
    return state


def _changed_attributes(before: dict[str, Any] | None, obj: Any) -> list[str]:
    if before is None:
        return []
    after = vars(obj)
    changed = sorted(set(before) ^ set(after))
    for key in set(before) & set(after):
        old, new = before[key], after[key]
        if isinstance(old, _COMPARABLE) and isinstance(new, _COMPARABLE) and old != new:
            changed.append(key)
    return sorted(changed)


def update_with_start(
    start: Callable[[], WorkflowExecution],
    update: Any,
    args: list[Any],
    *,
    update_id: str | None = None,
) -> tuple[WorkflowExecution, AcceptedUpdate]:
    """Start a run (or, per its conflict policy, take the running one) and record an update
    to it, in one transaction: if the update is rejected, nothing is started.

    ``start`` is the start, already checked (see ``runs.start_workflow``).
    """
    with transaction.atomic():
        execution = start()
        accepted = start_update(
            execution.workflow_id, update, args, run_id=str(execution.run_id), update_id=update_id
        )
    return execution, accepted
