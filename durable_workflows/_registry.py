"""Names -> definitions, filled by the decorators; lookups fail with the list of known names."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ._engine import ActivityDefinition, WorkflowDefinition
from ._engine.definitions import ACTIVITY_ATTR, DEFINITION_ATTR
from .exceptions import UnknownActivityError, UnknownWorkflowTypeError, WorkflowDefinitionError

_lock = threading.Lock()
_workflows: dict[str, WorkflowDefinition] = {}
_activities: dict[str, ActivityDefinition] = {}


def _origin(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def register_workflow(definition: WorkflowDefinition) -> None:
    with _lock:
        existing = _workflows.get(definition.name)
        if existing is not None and _origin(existing.cls) != _origin(definition.cls):
            raise WorkflowDefinitionError(
                f"Two workflows are named {definition.name!r}: {_origin(existing.cls)} and "
                f"{_origin(definition.cls)}. Give one another name with @workflow.defn(name=...)."
            )
        _workflows[definition.name] = definition


def register_activity(definition: ActivityDefinition) -> None:
    with _lock:
        existing = _activities.get(definition.name)
        if existing is not None and _origin(existing.fn) != _origin(definition.fn):
            raise WorkflowDefinitionError(
                f"Two activities are named {definition.name!r}: {_origin(existing.fn)} and "
                f"{_origin(definition.fn)}. Give one another name with @activity.defn(name=...)."
            )
        if existing is not None and existing.runnable and not definition.runnable:
            return  # the method's class decorated again: keep the instance registered
        _activities[definition.name] = definition


def get_workflow(name: str) -> WorkflowDefinition:
    try:
        return _workflows[name]
    except KeyError:
        known = ", ".join(sorted(_workflows)) or "none"
        raise UnknownWorkflowTypeError(
            f"Unknown workflow type {name!r}. Registered workflow types: {known}. "
            "Workflows register when their module is imported; put them in a `workflows` "
            "module of an installed app."
        ) from None


def get_activity(name: str) -> ActivityDefinition:
    try:
        return _activities[name]
    except KeyError:
        known = ", ".join(sorted(_activities)) or "none"
        raise UnknownActivityError(
            f"Unknown activity type {name!r}. Registered activities: {known}. "
            "Activities register when their module is imported; put them in an `activities` "
            "module of an installed app."
        ) from None


def is_workflow_registered(name: str) -> bool:
    return name in _workflows


def is_activity_registered(name: str) -> bool:
    """Whether this process can run the activity ``name`` (a method activity only once an
    instance's method is registered)."""
    definition = _activities.get(name)
    return definition is not None and definition.runnable


def register_activity_method(method: Callable[..., Any]) -> ActivityDefinition:
    """Register ``instance.method`` (an ``@activity.defn`` method) so this process runs it.

    A method activity is registered by name when its class is defined, but cannot run until
    an instance is given; the latest registered instance runs it.

    The instance is held here: every attempt of the activity calls its method.

    Raises:
        UnknownActivityError: the method is not decorated with ``@activity.defn``.
        WorkflowDefinitionError: ``method`` is not bound to an instance.
    """
    _, definition = resolve_activity(method)
    assert definition is not None  # resolve_activity raises for an undecorated callable
    bound = definition.bound_to(method)
    register_activity(bound)  # the same origin as the decorated method: it replaces it
    return bound


def workflow_types() -> list[str]:
    return sorted(_workflows)


def resolve_workflow(target: Any) -> WorkflowDefinition:
    """A definition from a workflow class, its ``run`` method, or its registered name."""
    if isinstance(target, str):
        return get_workflow(target)
    definition = getattr(target, DEFINITION_ATTR, None)
    if isinstance(definition, WorkflowDefinition):
        return definition
    raise UnknownWorkflowTypeError(
        f"{target!r} is not a workflow: pass a class decorated with @workflow.defn, "
        "its @workflow.run method, or a registered workflow type name."
    )


def resolve_activity(target: Callable[..., Any] | str) -> tuple[str, ActivityDefinition | None]:
    """An activity's name and, when known here, its definition."""
    if isinstance(target, str):
        return target, _activities.get(target)
    definition = getattr(target, ACTIVITY_ATTR, None)
    if isinstance(definition, ActivityDefinition):
        return definition.name, definition
    raise UnknownActivityError(
        f"{target!r} is not an activity: decorate it with @activity.defn or pass its name."
    )
