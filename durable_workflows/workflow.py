"""Defining workflows and calling out from inside them.

Everything here mirrors ``temporalio.workflow``: a workflow is a class decorated
with :func:`defn` whose async :func:`run` method is the entry point. Inside it,
use :func:`execute_activity`, :func:`sleep` (or ``asyncio.sleep``),
:func:`wait_condition`, :func:`now` and :func:`random` instead of I/O, the wall
clock and the ``random`` module: the code is replayed from its history and must
make the same decisions every time.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from datetime import datetime, timedelta
from random import Random
from typing import Any, TypeVar, overload

from . import _registry
from ._engine import (
    ActivityHandle,
    ActivityOptions,
    ChildWorkflowHandle,
    ChildWorkflowOptions,
    HandlerDefinition,
    HandlerUnfinishedPolicy,
    NotInWorkflowError,
    ParentInfo,
    Signature,
    UnfinishedSignalHandlersWarning,
    UnfinishedUpdateHandlersWarning,
    WorkflowDefinition,
    WorkflowInfo,
    WorkflowRuntime,
    current_runtime,
)
from ._engine.converter import from_json, to_json
from ._engine.definitions import DEFINITION_ATTR, HANDLER_MARK, INIT_MARK, RUN_MARK
from ._engine.runtime import signal_name
from .common import (
    ChildWorkflowCancellationType,
    ParentClosePolicy,
    RetryPolicy,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
    search_attribute_updates,
)
from .exceptions import ContinueAsNewError, UnknownWorkflowTypeError, WorkflowDefinitionError

__all__ = [
    "ActivityHandle",
    "ChildWorkflowCancellationType",
    "ChildWorkflowHandle",
    "ContinueAsNewError",
    "ExternalWorkflowHandle",
    "HandlerUnfinishedPolicy",
    "ParentClosePolicy",
    "ParentInfo",
    "UnfinishedSignalHandlersWarning",
    "UnfinishedUpdateHandlersWarning",
    "WorkflowInfo",
    "all_handlers_finished",
    "continue_as_new",
    "defn",
    "deprecate_patch",
    "execute_activity",
    "execute_activity_method",
    "execute_child_workflow",
    "execute_local_activity",
    "get_external_workflow_handle",
    "info",
    "init",
    "logger",
    "memo",
    "memo_value",
    "now",
    "patched",
    "query",
    "random",
    "run",
    "signal",
    "sleep",
    "start_activity",
    "start_activity_method",
    "start_child_workflow",
    "start_local_activity",
    "time",
    "unsafe",
    "update",
    "upsert_memo",
    "upsert_search_attributes",
    "uuid4",
    "wait_condition",
]

ClassT = TypeVar("ClassT", bound=type)
FnT = TypeVar("FnT", bound=Callable[..., Any])


# --- decorators ------------------------------------------------------------------------


@overload
def defn(cls: ClassT) -> ClassT: ...
@overload
def defn(*, name: str | None = None, sandboxed: bool = True) -> Callable[[ClassT], ClassT]: ...
def defn(
    cls: ClassT | None = None, *, name: str | None = None, sandboxed: bool = True
) -> ClassT | Callable[[ClassT], ClassT]:
    """Declare a workflow class and register it under ``name`` (default: the class name).

    ``sandboxed`` is accepted for compatibility with Temporal and ignored.

    Raises:
        WorkflowDefinitionError: no (or several) ``@workflow.run`` methods, or a
            name already used by another workflow.
    """

    def decorate(klass: ClassT) -> ClassT:
        definition = WorkflowDefinition.from_class(klass, name)
        setattr(klass, DEFINITION_ATTR, definition)
        setattr(definition.run_fn, DEFINITION_ATTR, definition)
        for handler in (
            *definition.signals.values(),
            *definition.queries.values(),
            *definition.updates.values(),
        ):
            setattr(handler.fn, DEFINITION_ATTR, definition)
        _registry.register_workflow(definition)
        return klass

    return decorate(cls) if cls is not None else decorate


def run(fn: FnT) -> FnT:
    """Mark the async entry point of a workflow class."""
    if not inspect.iscoroutinefunction(fn):
        raise WorkflowDefinitionError(
            f"@workflow.run method {fn.__qualname__} must be `async def`."
        )
    setattr(fn, RUN_MARK, True)
    return fn


def init(fn: FnT) -> FnT:
    """Mark a workflow's ``__init__`` as taking the run's arguments (Temporal's ``workflow.init``).

    The object is then created with the arguments the run method gets, so signal and
    update handlers that run before it (signal-with-start) see them. Its parameters must
    be the run method's.

    Raises:
        WorkflowDefinitionError: ``fn`` is not an ``__init__`` method; checked against the
            run method when the class is decorated with :func:`defn`.
    """
    if getattr(fn, "__name__", None) != "__init__":
        raise WorkflowDefinitionError(
            f"@workflow.init decorates a workflow's __init__ method, not {fn.__qualname__}."
        )
    setattr(fn, INIT_MARK, True)
    return fn


def _handler_decorator(
    kind: str,
    fn: Callable[..., Any] | None,
    name: str | None,
    unfinished_policy: HandlerUnfinishedPolicy = HandlerUnfinishedPolicy.WARN_AND_ABANDON,
) -> Any:
    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        is_async = inspect.iscoroutinefunction(method)
        if kind == "query" and is_async:
            raise WorkflowDefinitionError(
                f"@workflow.query method {method.__qualname__} must be a plain `def`: "
                "queries read state and cannot wait."
            )
        handler = HandlerDefinition(
            kind=kind,
            name=name or method.__name__,
            fn=method,
            signature=Signature.of(method, skip_self=True),
            is_async=is_async,
            unfinished_policy=unfinished_policy,
        )
        setattr(method, HANDLER_MARK, handler)
        if kind == "update":

            def validator(validate: Callable[..., None]) -> Callable[..., None]:
                handler.validator = validate
                return validate

            method.validator = validator  # type: ignore[attr-defined]
        return method

    return decorate(fn) if fn is not None else decorate


def signal(
    fn: FnT | None = None,
    *,
    name: str | None = None,
    unfinished_policy: HandlerUnfinishedPolicy = HandlerUnfinishedPolicy.WARN_AND_ABANDON,
) -> Any:
    """Mark a method (sync or async) that handles the signal ``name`` (default: its name).

    ``unfinished_policy``: whether the run warns when it closes while this (async) handler
    is still running (see :func:`all_handlers_finished`).
    """
    return _handler_decorator("signal", fn, name, unfinished_policy)


def query(fn: FnT | None = None, *, name: str | None = None) -> Any:
    """Mark a plain method that answers the query ``name``; it must not change state."""
    return _handler_decorator("query", fn, name)


def update(
    fn: FnT | None = None,
    *,
    name: str | None = None,
    unfinished_policy: HandlerUnfinishedPolicy = HandlerUnfinishedPolicy.WARN_AND_ABANDON,
) -> Any:
    """Mark a method handling the update ``name``; add a validator with ``@method.validator``.

    ``unfinished_policy``: whether the run warns when it closes while this handler is still
    running (see :func:`all_handlers_finished`).
    """
    return _handler_decorator("update", fn, name, unfinished_policy)


# --- inside a workflow -----------------------------------------------------------------


def _runtime() -> WorkflowRuntime:
    runtime = current_runtime()
    if runtime is None:
        raise NotInWorkflowError(
            "This function can only be called from workflow code (inside a @workflow.run "
            "method or a handler of a running workflow)."
        )
    return runtime


def _call_args(args: Sequence[Any], kwargs: dict[str, Any], caller: str, what: str) -> list[Any]:
    """The call's arguments, given positionally or as ``args=[...]`` (Temporal's two forms).

    Raises:
        TypeError: another keyword argument, or both forms at once.
    """
    args_list: Sequence[Any] | None = kwargs.pop("args", None)
    if kwargs:
        raise TypeError(f"{caller}() got unexpected keyword arguments: {sorted(kwargs)}")
    if args and args_list is not None:
        raise TypeError(f"Pass {what} arguments positionally or as args=[...], not both.")
    return list(args_list if args_list is not None else args)


def _seconds(value: timedelta | float | None) -> float | None:
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def start_activity(
    activity: Callable[..., Any] | str,
    *args: Any,
    task_queue: str | None = None,
    start_to_close_timeout: timedelta | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    activity_id: str | None = None,
    disable_eager_execution: bool = False,
    **kwargs: Any,
) -> ActivityHandle:
    """Schedule an activity and return a handle: ``await`` it for the result, or ``cancel()`` it.

    Arguments as for :func:`execute_activity`.

    Raises:
        ValueError: a timeout is not positive.
    """
    call_args = _call_args(args, kwargs, "start_activity", "activity")
    activity_type, definition = _registry.resolve_activity(activity)
    if definition is not None:
        definition.signature.check_arity(call_args)
    limit = definition.concurrency if definition is not None else None
    rate = definition.rate_limit if definition is not None else None
    options = ActivityOptions(
        rate_limit=rate.limit if rate else None,
        rate_period=rate.period.total_seconds() if rate else None,
        rate_key=rate.key_value(definition.signature, call_args) if rate and definition else None,
        concurrency_limit=limit.limit if limit else None,
        concurrency_key=limit.key_value(definition.signature, call_args)
        if limit and definition
        else None,
        task_queue=task_queue,
        start_to_close_timeout=_seconds(start_to_close_timeout),
        schedule_to_close_timeout=_seconds(schedule_to_close_timeout),
        schedule_to_start_timeout=_seconds(schedule_to_start_timeout),
        heartbeat_timeout=_seconds(heartbeat_timeout),
        retry_policy=retry_policy.to_dict() if retry_policy is not None else None,
        activity_id=activity_id,
        disable_eager_execution=disable_eager_execution,
    )
    return _runtime().start_activity(
        activity_type,
        call_args,
        options,
        result_signature=definition.signature if definition is not None else None,
    )


async def execute_activity(
    activity: Callable[..., Any] | str,
    *args: Any,
    task_queue: str | None = None,
    start_to_close_timeout: timedelta | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    schedule_to_start_timeout: timedelta | None = None,
    heartbeat_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    activity_id: str | None = None,
    disable_eager_execution: bool = False,
    **kwargs: Any,
) -> Any:
    """Run an activity and return its result.

    Args:
        activity: An ``@activity.defn`` function, or an activity type name.
        *args: Its arguments (or pass ``args=[...]``).
        task_queue: Queue of the workers that run it; default the workflow's.
        start_to_close_timeout: Limit on one attempt. With neither close timeout
            given, ``DEFAULT_START_TO_CLOSE_TIMEOUT`` applies.
        schedule_to_close_timeout: Limit on all attempts together.
        schedule_to_start_timeout: Limit on waiting in the queue.
        heartbeat_timeout: Limit on silence between heartbeats.
        retry_policy: Default: retry forever with 1 s, 2 s, 4 s ... up to 100 s.
        activity_id: Default: its sequence number in this run.
        disable_eager_execution: Always send it through the broker, even when the
            worker that schedules it could run it at once (see MAX_EAGER_ACTIVITIES).

    Raises:
        ActivityError: when it finally fails; ``cause`` says why.
        ValueError: a timeout is not positive.
    """
    return await start_activity(
        activity,
        *args,
        task_queue=task_queue,
        start_to_close_timeout=start_to_close_timeout,
        schedule_to_close_timeout=schedule_to_close_timeout,
        schedule_to_start_timeout=schedule_to_start_timeout,
        heartbeat_timeout=heartbeat_timeout,
        retry_policy=retry_policy,
        activity_id=activity_id,
        disable_eager_execution=disable_eager_execution,
        **kwargs,
    )


def start_local_activity(
    activity: Callable[..., Any] | str,
    *args: Any,
    start_to_close_timeout: timedelta | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    activity_id: str | None = None,
    **kwargs: Any,
) -> ActivityHandle:
    """Start a local activity; ``await`` the handle for its result. See
    :func:`execute_local_activity`."""
    call_args = _call_args(args, kwargs, "start_local_activity", "activity")
    if start_to_close_timeout is None and schedule_to_close_timeout is None:
        raise ValueError(
            "A local activity needs start_to_close_timeout or schedule_to_close_timeout "
            "(as in Temporal)."
        )
    activity_type, definition = _registry.resolve_activity(activity)
    if definition is not None:
        definition.signature.check_arity(call_args)
    options = ActivityOptions(
        start_to_close_timeout=_seconds(start_to_close_timeout),
        schedule_to_close_timeout=_seconds(schedule_to_close_timeout),
        retry_policy=retry_policy.to_dict() if retry_policy is not None else None,
        activity_id=activity_id,
    )
    return _runtime().start_local_activity(
        activity_type,
        call_args,
        options,
        result_signature=definition.signature if definition is not None else None,
    )


async def execute_local_activity(
    activity: Callable[..., Any] | str,
    *args: Any,
    start_to_close_timeout: timedelta | None = None,
    schedule_to_close_timeout: timedelta | None = None,
    retry_policy: RetryPolicy | None = None,
    activity_id: str | None = None,
    **kwargs: Any,
) -> Any:
    """Run an activity in the workflow worker's own process, during this workflow task.

    No activity row, no message: the worker runs the function right after the code
    asks for it and records its outcome as a ``MarkerRecorded`` event with the task, so
    on replay the recorded outcome is used and the function never runs again. Meant for
    short calls (a lookup, a quick API request): the run's lock is held meanwhile.
    Failed attempts are retried in process per ``retry_policy`` for up to
    ``schedule_to_close_timeout`` (default: ``start_to_close_timeout``), then the
    activity fails with ``ActivityError``; if the policy still allows attempts when that
    window ends, the workflow task fails and is retried later, running it afresh.

    Raises:
        ActivityError: it finally failed; ``cause`` says why.
        ValueError: neither timeout is given.
    """
    return await start_local_activity(
        activity,
        *args,
        start_to_close_timeout=start_to_close_timeout,
        schedule_to_close_timeout=schedule_to_close_timeout,
        retry_policy=retry_policy,
        activity_id=activity_id,
        **kwargs,
    )


# --- composition: child workflows, continue-as-new, other workflows --------------------------


def _workflow_type(target: Any) -> tuple[str, WorkflowDefinition | None]:
    """A workflow's type name and, when known here, its definition."""
    if isinstance(target, str):
        try:
            return target, _registry.get_workflow(target)
        except UnknownWorkflowTypeError:
            return target, None
    definition = _registry.resolve_workflow(target)
    return definition.name, definition


async def start_child_workflow(
    workflow: Any,
    *args: Any,
    id: str,
    task_queue: str | None = None,
    execution_timeout: timedelta | None = None,
    id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    parent_close_policy: ParentClosePolicy = ParentClosePolicy.TERMINATE,
    cancellation_type: ChildWorkflowCancellationType = (
        ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED
    ),
    memo: dict[str, Any] | None = None,
    search_attributes: dict[str, Any] | None = None,
    **kwargs: Any,
) -> ChildWorkflowHandle:
    """Start a child workflow; returns its handle once it has started.

    ``await`` the handle for the child's result (``ChildWorkflowError`` if it does not
    complete), ``signal()`` it, or ``cancel()`` it. Arguments as for
    :func:`execute_child_workflow`.

    Raises:
        WorkflowAlreadyStartedError: a run with the id ``id`` is running.
    """
    call_args = _call_args(args, kwargs, "start_child_workflow", "child")
    workflow_type, definition = _workflow_type(workflow)
    if definition is not None:
        definition.run_signature.check_arity(call_args)
    options = ChildWorkflowOptions(
        workflow_id=id,
        task_queue=task_queue,
        execution_timeout=_seconds(execution_timeout),
        id_reuse_policy=WorkflowIDReusePolicy(id_reuse_policy),
        parent_close_policy=ParentClosePolicy(parent_close_policy),
        cancellation_type=ChildWorkflowCancellationType(cancellation_type),
        memo={k: to_json(v) for k, v in memo.items()} if memo else None,
        search_attributes=dict(search_attributes) if search_attributes else None,
    )
    return await _runtime().start_child_workflow(
        workflow_type,
        call_args,
        options,
        result_signature=definition.run_signature if definition is not None else None,
    )


async def execute_child_workflow(
    workflow: Any,
    *args: Any,
    id: str,
    task_queue: str | None = None,
    execution_timeout: timedelta | None = None,
    id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    parent_close_policy: ParentClosePolicy = ParentClosePolicy.TERMINATE,
    cancellation_type: ChildWorkflowCancellationType = (
        ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED
    ),
    memo: dict[str, Any] | None = None,
    search_attributes: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    """Run a child workflow and return its result.

    Args:
        workflow: A ``@workflow.defn`` class's ``run`` method (or the class), or a
            workflow type name.
        *args: Its arguments (or pass ``args=[...]``).
        id: The child's workflow id.
        task_queue: Default: the parent's.
        execution_timeout: Limit on the child's whole run.
        id_reuse_policy: As for ``Client.start_workflow``.
        parent_close_policy: What happens to the child when the parent closes first:
            TERMINATE (default), REQUEST_CANCEL or ABANDON.
        cancellation_type: How cancelling the child waits (see
            :class:`ChildWorkflowCancellationType`).
        memo, search_attributes: The child's visibility data.

    Raises:
        ChildWorkflowError: the child failed, was cancelled, terminated or timed out;
            ``cause`` says why.
        WorkflowAlreadyStartedError: a run with the id ``id`` is running.
    """
    handle = await start_child_workflow(
        workflow,
        *args,
        id=id,
        task_queue=task_queue,
        execution_timeout=execution_timeout,
        id_reuse_policy=id_reuse_policy,
        parent_close_policy=parent_close_policy,
        cancellation_type=cancellation_type,
        memo=memo,
        search_attributes=search_attributes,
        **kwargs,
    )
    return await handle


def continue_as_new(
    *args: Any,
    workflow: Any = None,
    task_queue: str | None = None,
    memo: dict[str, Any] | None = None,
    search_attributes: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    """Close this run as ContinuedAsNew and start a new run of the workflow id with ``args``.

    Never returns: it raises :class:`ContinueAsNewError`, which ends the run (do not
    catch it). The new run keeps this run's task queue, memo and search attributes
    unless given; ``workflow`` runs another workflow type in it. Use it to keep a
    long-lived workflow's history short (see ``info().is_continue_as_new_suggested()``).
    """
    call_args = _call_args(args, kwargs, "continue_as_new", "workflow")
    runtime = _runtime()
    workflow_type, definition = (
        _workflow_type(workflow) if workflow is not None else (runtime.info.workflow_type, None)
    )
    if definition is None and workflow is None:
        definition = _registry.get_workflow(workflow_type)
    if definition is not None:
        definition.run_signature.check_arity(call_args)
    if task_queue is not None:
        ChildWorkflowOptions(workflow_id=runtime.info.workflow_id, task_queue=task_queue)
    raise ContinueAsNewError(
        workflow_type=workflow_type,
        input=[to_json(a) for a in call_args],
        task_queue=task_queue,
        memo={k: to_json(v) for k, v in memo.items()} if memo is not None else None,
        search_attributes=dict(search_attributes) if search_attributes is not None else None,
    )


class ExternalWorkflowHandle:
    """Another workflow, by id: signal it or ask it to cancel, durably and exactly once."""

    def __init__(self, workflow_id: str, run_id: str | None = None) -> None:
        self.id = workflow_id
        self.run_id = run_id

    @property
    def workflow_id(self) -> str:
        return self.id

    async def signal(self, signal: Any, *args: Any) -> None:
        """Signal it (a ``@workflow.signal`` method or its name); returns once delivered.

        Raises:
            ApplicationError: no such workflow is running.
        """
        await _runtime().signal_external(self.id, self.run_id, signal_name(signal), list(args))

    async def cancel(self) -> None:
        """Ask it to cancel; returns once the request is recorded in its history.

        Raises:
            ApplicationError: no such workflow is running.
        """
        await _runtime().cancel_external(self.id, self.run_id)


def get_external_workflow_handle(
    workflow_id: str, *, run_id: str | None = None
) -> ExternalWorkflowHandle:
    """A handle on another workflow (its running run, or ``run_id``) to signal or cancel it."""
    _runtime()
    return ExternalWorkflowHandle(workflow_id, run_id)


def _activity_method(activity: Callable[..., Any], where: str) -> Callable[..., Any]:
    _, definition = _registry.resolve_activity(activity)
    if definition is None or not definition.is_method:
        raise TypeError(
            f"{where}() takes an @activity.defn method of a class (MyActivities.method); "
            f"{activity!r} is not one: use {where.replace('_method', '')}() for functions."
        )
    return activity


def start_activity_method(
    activity: Callable[..., Any], *args: Any, **kwargs: Any
) -> ActivityHandle:
    """:func:`start_activity` for an activity that is a method (Temporal's name).

    The workflow names the class's method (``MyActivities.save``); the worker holds the
    instance (``Worker(activities=[my_activities.save])``). Options as for
    :func:`execute_activity`.

    Raises:
        TypeError: ``activity`` is not an ``@activity.defn`` method.
    """
    return start_activity(_activity_method(activity, "start_activity_method"), *args, **kwargs)


async def execute_activity_method(activity: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """:func:`execute_activity` for an activity that is a method (Temporal's name).

    The workflow names the class's method (``MyActivities.save``); the worker holds the
    instance (``Worker(activities=[my_activities.save])``). Options as for
    :func:`execute_activity`.

    Raises:
        TypeError: ``activity`` is not an ``@activity.defn`` method.
        ActivityError: when it finally fails; ``cause`` says why.
    """
    return await start_activity(
        _activity_method(activity, "execute_activity_method"), *args, **kwargs
    )


async def sleep(duration: float | timedelta) -> None:
    """Wait durably: a timer row, not a blocked thread. ``asyncio.sleep`` does the same."""
    seconds = duration.total_seconds() if isinstance(duration, timedelta) else float(duration)
    await asyncio.sleep(seconds)


async def wait_condition(
    fn: Callable[[], bool], *, timeout: float | timedelta | None = None
) -> None:
    """Wait until ``fn()`` is true (checked after every event).

    Raises:
        asyncio.TimeoutError: ``timeout`` passed first.
    """
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
    await _runtime().wait_condition(fn, seconds)


def all_handlers_finished() -> bool:
    """True when no signal or update handler of this run is still running.

    Await ``workflow.wait_condition(workflow.all_handlers_finished)`` before returning from
    the run method so in-flight async handlers finish (and update callers get their
    results); a run that closes with handlers running warns, as Temporal's does.
    """
    return _runtime().all_handlers_finished()


def now() -> datetime:
    """The workflow's current time (UTC), the same on every replay."""
    return _runtime().now()


def time() -> float:
    """:func:`now` as seconds since the epoch."""
    return _runtime().now().timestamp()


def random() -> Random:
    """A ``random.Random`` seeded per run, so replays draw the same numbers."""
    return _runtime().random()


def uuid4() -> uuid.UUID:
    """A UUID from the run's deterministic random source."""
    return uuid.UUID(int=random().getrandbits(128), version=4)


def info() -> WorkflowInfo:
    """Identity and settings of the running workflow."""
    return _runtime().info


def upsert_search_attributes(
    attributes: Mapping[str, Any]
    | Sequence[SearchAttributeUpdate | SearchAttributePair]
    | TypedSearchAttributes,
) -> None:
    """Set or remove search attributes of this run (recorded as UpsertWorkflowSearchAttributes).

    Give a dict (``{"CustomerId": "c-7", "Amount": 12.5}``) or Temporal's typed updates
    (``[SearchAttributeKey.for_keyword("CustomerId").value_set("c-7")]``). A value of
    ``None`` (or an empty list) removes the attribute. ``info().search_attributes``
    reflects the change at once; the run's row (what listings filter on) when the
    workflow task commits. Values: strings, numbers, booleans, timezone-aware datetimes
    (stored as ISO 8601 text in UTC) and lists of strings.

    Raises:
        ValueError: a name that is not usable in a filter (letters, digits, ``_``, ``-``).
        TypeError: a value of another type.
    """
    updates = search_attribute_updates(attributes)
    if updates:
        _runtime().upsert_search_attributes(updates)


def memo() -> dict[str, Any]:
    """This run's memo (as given at start, with this run's ``upsert_memo`` calls applied)."""
    return dict(_runtime().info.memo)


_NO_DEFAULT: Any = object()


def memo_value(key: str, default: Any = _NO_DEFAULT, *, type_hint: Any = None) -> Any:
    """One value of the memo, converted to ``type_hint`` if given (a dataclass, a datetime, ...).

    Raises:
        KeyError: ``key`` is not in the memo and no ``default`` was given (as Temporal).
    """
    values = _runtime().info.memo
    if key not in values:
        if default is _NO_DEFAULT:
            raise KeyError(f"Memo has no key {key!r}.")
        return default
    value = values[key]
    return from_json(value, type_hint) if type_hint is not None else value


def upsert_memo(updates: Mapping[str, Any]) -> None:
    """Set or remove memo keys of this run (recorded as WorkflowPropertiesModified).

    A value of ``None`` removes the key. :func:`memo` reflects the change at once.

    Raises:
        PayloadError: a value is not JSON-serializable.
    """
    if updates:
        _runtime().upsert_memo({str(k): to_json(v) for k, v in updates.items()})


def patched(patch_id: str) -> bool:
    """True for runs that reached this point with the patched code; see Temporal's versioning."""
    return _runtime().patched(patch_id)


def deprecate_patch(patch_id: str) -> None:
    """Mark a patch whose old branch has been removed from the code."""
    _runtime().patched(patch_id, deprecated=True)


def get_definition(target: Any) -> WorkflowDefinition:
    """The definition of a workflow given as its class, its run method or its name."""
    return _registry.resolve_workflow(target)


class _ReplaySafeLogger(logging.LoggerAdapter[logging.Logger]):
    """A logger that is silent while the workflow replays and tags records with the run."""

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 - logging's name
        runtime = current_runtime()
        if runtime is not None and runtime.is_replaying:
            return False
        return self.logger.isEnabledFor(level)

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        runtime = current_runtime()
        if runtime is not None:
            run_info = runtime.info
            extra = dict(kwargs.get("extra") or {})
            extra.setdefault("workflow_id", run_info.workflow_id)
            extra.setdefault("run_id", run_info.run_id)
            kwargs["extra"] = extra
            msg = f"{msg} ({run_info.workflow_type} {run_info.workflow_id})"
        return msg, kwargs


logger = _ReplaySafeLogger(logging.getLogger("durable_workflows.workflow"), {})


class _Unsafe:
    """Escape hatches, named as in Temporal."""

    @staticmethod
    @contextlib.contextmanager
    def imports_passed_through() -> Iterator[None]:
        """Accepted for compatibility; there is no import sandbox to pass through."""
        yield

    @staticmethod
    def is_replaying() -> bool:
        """True while the code is being replayed from history."""
        return _runtime().is_replaying


unsafe = _Unsafe()
