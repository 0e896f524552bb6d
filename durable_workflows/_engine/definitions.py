"""What the decorators produce: validated definitions of workflows, handlers and activities."""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from ..exceptions import WorkflowDefinitionError
from .converter import Signature

RUN_MARK = "__durable_workflow_run__"
HANDLER_MARK = "__durable_workflow_handler__"
DEFINITION_ATTR = "__durable_workflow_definition__"
ACTIVITY_ATTR = "__durable_activity_definition__"
INIT_MARK = "__durable_workflow_init__"


class HandlerUnfinishedPolicy(enum.Enum):
    """What a run does about a signal or update handler still running when it closes
    (Temporal's names). Either way the handler is abandoned; the policy says whether the
    close warns about it."""

    #: Warn (``workflow.UnfinishedSignalHandlersWarning`` / ``UnfinishedUpdateHandlersWarning``).
    WARN_AND_ABANDON = 1
    #: Abandon it silently: the handler's work is not needed once the run closes.
    ABANDON = 2


class UnfinishedUpdateHandlersWarning(RuntimeWarning):
    """The run closed while update handlers were still running: their callers get no result."""


class UnfinishedSignalHandlersWarning(RuntimeWarning):
    """The run closed while signal handlers were still running: their work was abandoned."""


@dataclass
class HandlerDefinition:
    """A ``@workflow.signal``, ``@workflow.query`` or ``@workflow.update`` method."""

    kind: str  # "signal" | "query" | "update"
    name: str
    fn: Callable[..., Any]
    signature: Signature
    is_async: bool
    validator: Callable[..., Any] | None = None
    unfinished_policy: HandlerUnfinishedPolicy = HandlerUnfinishedPolicy.WARN_AND_ABANDON


@dataclass
class WorkflowDefinition:
    name: str
    cls: type
    run_fn: Callable[..., Any]
    run_signature: Signature
    signals: dict[str, HandlerDefinition] = field(default_factory=dict)
    queries: dict[str, HandlerDefinition] = field(default_factory=dict)
    updates: dict[str, HandlerDefinition] = field(default_factory=dict)
    init_takes_args: bool = False

    @classmethod
    def from_class(cls, workflow_cls: type, name: str | None) -> WorkflowDefinition:
        if not isinstance(workflow_cls, type):
            raise WorkflowDefinitionError(
                f"@workflow.defn decorates a class, got {workflow_cls!r}."
            )
        runs = [
            (attr, value)
            for attr, value in _class_members(workflow_cls)
            if getattr(value, RUN_MARK, False)
        ]
        if not runs:
            raise WorkflowDefinitionError(
                f"Workflow class {workflow_cls.__qualname__} has no @workflow.run method: "
                "decorate its async entry point with @workflow.run."
            )
        if len(runs) > 1:
            names = ", ".join(attr for attr, _ in runs)
            raise WorkflowDefinitionError(
                f"Workflow class {workflow_cls.__qualname__} has several @workflow.run methods "
                f"({names}); keep exactly one."
            )
        _, run_fn = runs[0]
        definition = cls(
            name=name or workflow_cls.__name__,
            cls=workflow_cls,
            run_fn=run_fn,
            run_signature=Signature.of(run_fn, skip_self=True),
        )
        definition.init_takes_args = _init_takes_args(workflow_cls, definition)
        for _attr, value in _class_members(workflow_cls):
            handler: HandlerDefinition | None = getattr(value, HANDLER_MARK, None)
            if handler is None:
                continue
            table = definition.handlers_of(handler.kind)
            if handler.name in table:
                raise WorkflowDefinitionError(
                    f"Workflow {definition.name} defines the {handler.kind} {handler.name!r} twice."
                )
            table[handler.name] = handler
        return definition

    def handlers_of(self, kind: str) -> dict[str, HandlerDefinition]:
        return {"signal": self.signals, "query": self.queries, "update": self.updates}[kind]

    def handler(self, kind: str, name: str) -> HandlerDefinition | None:
        return self.handlers_of(kind).get(name)


@dataclass
@dataclass(frozen=True)
class Concurrency:
    """At most ``limit`` attempts of an activity type run at once, across all workers, per
    value of its parameter ``key`` (or in all, with no key). Waiting attempts hold no
    worker and start in scheduling order as slots free.

    Raises:
        ValueError: ``limit`` is not a positive whole number.
    """

    limit: int
    key: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1:
            raise ValueError(f"Concurrency limit must be a positive integer, got {self.limit!r}.")

    def key_value(self, signature: Signature, args: Sequence[Any]) -> str:
        """The slot key's value for a call with ``args`` (``"*"`` without a key)."""
        if self.key is None:
            return "*"
        value = signature.argument(self.key, args)
        return str(value)[:200]


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` attempt starts of an activity type per ``period``, per value of its
    parameter ``key`` (or in all). Attempts over the limit wait, durably, for the window.

    Raises:
        ValueError: ``limit`` is not a positive whole number, or ``period`` not positive.
    """

    limit: int
    period: timedelta
    key: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1:
            raise ValueError(f"RateLimit limit must be a positive integer, got {self.limit!r}.")
        if not isinstance(self.period, timedelta) or self.period <= timedelta(0):
            raise ValueError(f"RateLimit period must be a positive timedelta, got {self.period!r}.")

    def key_value(self, signature: Signature, args: Sequence[Any]) -> str:
        """The key's value for a call with ``args`` (``"*"`` without a key)."""
        return "*" if self.key is None else str(signature.argument(self.key, args))[:200]


@dataclass(frozen=True)
class ActivityDefinition:
    """An ``@activity.defn`` function, or a method of a class (``is_method``).

    A method's definition is made when its class body is decorated, before any instance
    exists: ``fn`` is then the plain function and cannot run. A worker given
    ``instance.method`` registers :meth:`bound_to` that instance, which can.
    """

    name: str
    fn: Callable[..., Any]
    signature: Signature
    is_async: bool
    is_method: bool = False
    #: The body's database writes and the attempt's completion commit together.
    atomic: bool = False
    #: ``activity.Concurrency``: at most ``limit`` attempts at once (per value of ``key``).
    concurrency: Concurrency | None = None
    #: ``activity.RateLimit``: at most ``limit`` starts per ``period`` (per value of ``key``).
    rate_limit: RateLimit | None = None

    @classmethod
    def from_function(
        cls,
        fn: Callable[..., Any],
        name: str | None,
        *,
        atomic: bool = False,
        concurrency: Concurrency | None = None,
        rate_limit: RateLimit | None = None,
    ) -> ActivityDefinition:
        if not callable(fn):
            raise WorkflowDefinitionError(f"@activity.defn decorates a function, got {fn!r}.")
        if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
            raise WorkflowDefinitionError(
                f"Activity {fn.__qualname__} is a generator; activities return a value."
            )
        activity_name = name or getattr(fn, "__name__", None)
        if not activity_name or activity_name == "<lambda>":
            raise WorkflowDefinitionError(
                "This activity has no usable name: use @activity.defn(name=...)."
            )
        is_method = _defined_in_class_body(fn)
        is_async = inspect.iscoroutinefunction(fn)
        parameters = list(inspect.signature(fn).parameters)[1 if is_method else 0 :]
        for limit in (concurrency, rate_limit):
            if limit is not None and limit.key is not None and limit.key not in parameters:
                raise WorkflowDefinitionError(
                    f"Activity {activity_name!r} has {type(limit).__name__}(key={limit.key!r}) "
                    f"but no parameter of that name (its parameters: "
                    f"{', '.join(parameters) or 'none'})."
                )
        if atomic and is_async:
            raise WorkflowDefinitionError(
                f"Activity {activity_name!r} is async: atomic=True is for synchronous "
                "activities, whose ORM writes run in the worker's transaction. Make it a "
                "plain def, or drop atomic=True."
            )
        return cls(
            name=activity_name,
            fn=fn,
            signature=Signature.of(fn, skip_self=is_method),
            is_async=is_async,
            is_method=is_method,
            atomic=atomic,
            concurrency=concurrency,
            rate_limit=rate_limit,
        )

    @property
    def runnable(self) -> bool:
        """Whether ``fn`` can be called with the activity's arguments alone."""
        return not self.is_method or inspect.ismethod(self.fn)

    def bound_to(self, method: Callable[..., Any]) -> ActivityDefinition:
        """This method activity run by ``method``, the same method of one instance.

        Raises:
            WorkflowDefinitionError: ``method`` is not this activity's method bound to an
                instance.
        """
        if not (self.is_method and inspect.ismethod(method)):
            raise WorkflowDefinitionError(
                f"Activity {self.name!r} is not a method, or {method!r} is not bound to an "
                "instance: register instance methods as Worker(activities=[instance.method])."
            )
        return replace(self, fn=method)


def _defined_in_class_body(fn: Callable[..., Any]) -> bool:
    """A function written in a class body (qualname ``Class.method``) whose first
    parameter is ``self``."""
    if inspect.ismethod(fn):
        return False  # already bound: its signature has no ``self``
    parts = getattr(fn, "__qualname__", "").split(".")
    if len(parts) < 2 or parts[-2] == "<locals>":
        return False
    params = list(inspect.signature(fn).parameters.values())
    return bool(params) and params[0].name == "self"


def _init_takes_args(workflow_cls: type, definition: WorkflowDefinition) -> bool:
    """Whether ``__init__`` receives the run's arguments.

    It does when decorated with ``@workflow.init`` (Temporal's rule; its parameters must
    then be those of the run method, names aside), and, as before that decorator existed
    here, when it has required positional parameters.
    """
    init = inspect.getattr_static(workflow_cls, "__init__")
    if init is object.__init__:
        return False
    init_params = list(inspect.signature(init).parameters.values())[1:]
    if getattr(init, INIT_MARK, False):
        run_params = definition.run_signature.parameters
        if [p.kind for p in init_params] != [p.kind for p in run_params]:
            raise WorkflowDefinitionError(
                f"The @workflow.init __init__ of {workflow_cls.__qualname__} must take the "
                f"parameters of its run method {definition.run_signature.name} "
                f"({', '.join(p.name for p in run_params) or 'none'}), got "
                f"({', '.join(p.name for p in init_params) or 'none'})."
            )
        return True
    return any(
        p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        for p in init_params
    )


def _class_members(klass: type) -> list[tuple[str, Any]]:
    seen: dict[str, Any] = {}
    for base in reversed(klass.__mro__):
        seen.update(vars(base))
    return list(seen.items())
