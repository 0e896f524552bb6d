"""Use cases for talking to a running workflow: signal, query, update, cancel, terminate.

Names and arguments are checked against the workflow's definition before
anything is written; a query is answered by replaying the history read-only in
this process, so it needs no worker.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

from django.db import transaction

from . import _clock, _notify, _registry, _store
from ._engine import (
    HandlerDefinition,
    WorkflowDefinition,
    exception_from_failure,
    from_json,
    replay_for_query,
    to_json,
)
from ._engine.converter import check_size
from ._engine.definitions import HANDLER_MARK
from ._engine.instance import ReadOnlyViolationError, WorkflowInstance
from ._services import check_decodable, get_execution
from ._worker import forbid_database_access, workflow_info
from .conf import dw_settings
from .exceptions import (
    ApplicationError,
    FailureError,
    NondeterminismError,
    UnknownHandlerError,
    UnknownWorkflowTypeError,
    WorkflowClosedError,
    WorkflowQueryFailedError,
    WorkflowResultTimeoutError,
    WorkflowUpdateFailedError,
)
from .models import WorkflowExecution


def handler_name(target: Any, kind: str) -> str:
    """The registered name of a handler given as a method or a string."""
    if isinstance(target, str):
        return target
    handler: HandlerDefinition | None = getattr(target, HANDLER_MARK, None)
    if handler is None:
        raise UnknownHandlerError(
            f"{target!r} is not a @workflow.{kind} method; pass the method or its name.",
            kind=kind,
            name=repr(target),
        )
    if handler.kind != kind:
        raise UnknownHandlerError(
            f"{handler.name!r} is a {handler.kind} handler, not a {kind} handler.",
            kind=kind,
            name=handler.name,
        )
    return handler.name


def find_handler(definition: WorkflowDefinition, kind: str, name: str) -> HandlerDefinition:
    handler = definition.handler(kind, name)
    if handler is None:
        known = ", ".join(sorted(definition.handlers_of(kind))) or "none"
        raise UnknownHandlerError(
            f"Workflow type {definition.name!r} has no {kind} named {name!r}. "
            f"Its {kind}s: {known}.",
            kind=kind,
            name=name,
        )
    return handler


def _encode_for(
    definition: WorkflowDefinition | None, kind: str, name: str, args: list[Any]
) -> tuple[HandlerDefinition | None, list[Any]]:
    """Check the handler and its arguments (when the type is known here) and encode them."""
    if definition is None:
        payloads = [to_json(a) for a in args]
        check_size(payloads, dw_settings.MAX_PAYLOAD_BYTES, f"The arguments of {kind} {name!r}")
        return None, payloads
    handler = find_handler(definition, kind, name)
    payloads = handler.signature.encode_args(args, dw_settings.MAX_PAYLOAD_BYTES)
    check_decodable(handler.signature, payloads, f"{kind} {name!r}")
    return handler, payloads


def _known_definition(workflow_type: str) -> WorkflowDefinition | None:
    try:
        return _registry.get_workflow(workflow_type)
    except UnknownWorkflowTypeError:
        return None


# --- signals --------------------------------------------------------------------------------


def prepare_signal(workflow_type: str, signal: Any, args: list[Any]) -> tuple[str, list[Any]]:
    name = handler_name(signal, "signal")
    _, payloads = _encode_for(_known_definition(workflow_type), "signal", name, args)
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
    with transaction.atomic():
        locked = _store.lock_execution(pk=execution.pk)
        assert locked is not None
        _store.append_signal(locked, name, payloads, _clock.now())


# --- queries and update validation: read-only replay -------------------------------------------


def _replayed(execution: WorkflowExecution, definition: WorkflowDefinition) -> WorkflowInstance:
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
    definition = _registry.get_workflow(execution.workflow_type)
    name = handler_name(query, "query")
    handler, payloads = _encode_for(definition, "query", name, args)
    assert handler is not None
    decoded = handler.signature.decode_args(payloads)
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

    The validator runs on a read-only replay under the run's lock, before anything
    is written: a rejection writes nothing.

    Raises:
        WorkflowUpdateFailedError: rejected by the validator, or the handler failed.
        WorkflowClosedError: the run is closed, or closed before the update finished.
        WorkflowResultTimeoutError: no outcome within ``timeout`` seconds.
    """
    execution = get_execution(workflow_id, run_id)
    _store.require_running(execution, "send an update to")
    definition = _registry.get_workflow(execution.workflow_type)
    name = handler_name(update, "update")
    handler, payloads = _encode_for(definition, "update", name, args)
    assert handler is not None
    update_id = update_id or str(uuid.uuid4())
    with transaction.atomic():
        locked = _store.lock_execution(pk=execution.pk)
        assert locked is not None
        _store.require_running(locked, f"send update {name!r} to")
        if handler.validator is not None:
            _validate(locked, definition, handler, payloads)
        _store.accept_update(locked, update_id, name, payloads, _clock.now())

    def check() -> dict[str, Any] | None:
        outcome = _store.update_outcome(execution.pk, update_id)
        if outcome is not None:
            return outcome
        if not WorkflowExecution.objects.filter(pk=execution.pk, status="RUNNING").exists():
            return {"closed": True}
        return None

    outcome = _notify.wait_for(
        [f"update:{update_id}", f"closed:{execution.run_id}"], check, timeout
    )
    if outcome is None:
        raise WorkflowResultTimeoutError(f"Update {name!r} did not finish within {timeout} s.")
    if outcome.get("closed"):
        raise WorkflowClosedError(
            f"Workflow {workflow_id!r} closed before update {name!r} finished."
        )
    if outcome.get("failure"):
        cause = exception_from_failure(outcome["failure"])
        raise WorkflowUpdateFailedError(f"Update {name!r} failed: {cause.message}", cause=cause)
    return outcome.get("result")


def _validate(
    execution: WorkflowExecution,
    definition: WorkflowDefinition,
    handler: HandlerDefinition,
    payloads: list[Any],
) -> None:
    validator = handler.validator
    assert validator is not None
    decoded = handler.signature.decode_args(payloads)
    instance = _replayed(execution, definition)
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


# --- cancel and terminate ---------------------------------------------------------------------


def cancel_workflow(workflow_id: str, run_id: str | None = None, reason: str = "") -> bool:
    """Request cancellation; the workflow sees CancelledError at its current await.

    Returns False when cancellation had already been requested.
    """
    execution = get_execution(workflow_id, run_id)
    with transaction.atomic():
        locked = _store.lock_execution(pk=execution.pk)
        assert locked is not None
        return _store.request_cancel(locked, reason, _clock.now())


def terminate_workflow(workflow_id: str, reason: str = "", run_id: str | None = None) -> None:
    """Close the run as TERMINATED now, running no workflow code."""
    execution = get_execution(workflow_id, run_id)
    with transaction.atomic():
        locked = _store.lock_execution(pk=execution.pk)
        assert locked is not None
        _store.terminate(locked, reason, _clock.now())


# --- read-only enforcement helpers ------------------------------------------------------------

_COMPARABLE = (type(None), bool, int, float, str, bytes, list, tuple, dict, set, frozenset)


def _snapshot(obj: Any) -> dict[str, Any] | None:
    try:
        return copy.deepcopy(vars(obj))
    except Exception:  # state that cannot be copied is not checked
        return None


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
