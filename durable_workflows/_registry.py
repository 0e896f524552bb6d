"""Names -> definitions, filled by the decorators; lookups fail with the list of known names."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from ._engine import ActivityDefinition, WorkflowDefinition
from ._engine.definitions import ACTIVITY_ATTR, DEFINITION_ATTR
from .exceptions import UnknownActivityError, UnknownWorkflowTypeError, WorkflowDefinitionError

_lock = threading.Lock()
#: Every definition, by name and then by origin (module.qualname): two modules may define
#: one name; a lookup is ambiguous only if nothing says which one a queue runs.
_workflows: dict[str, dict[str, WorkflowDefinition]] = {}
_activities: dict[str, dict[str, ActivityDefinition]] = {}
#: What a ``Worker(task_queue=..., workflows=[...], activities=[...])`` chose for its queue.
_queue_workflows: dict[str, dict[str, WorkflowDefinition]] = {}
_queue_activities: dict[str, dict[str, ActivityDefinition]] = {}


def _origin(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def register_workflow(definition: WorkflowDefinition) -> None:
    """Add a decorated workflow. Another one of the same name is not an error until a
    lookup cannot tell them apart (see :func:`get_workflow`)."""
    with _lock:
        _workflows.setdefault(definition.name, {})[_origin(definition.cls)] = definition


def register_activity(definition: ActivityDefinition) -> None:
    """Add a decorated activity (a method's is runnable once an instance is registered)."""
    with _lock:
        candidates = _activities.setdefault(definition.name, {})
        existing = candidates.get(_origin(definition.fn))
        if existing is not None and existing.runnable and not definition.runnable:
            return  # the method's class decorated again: keep the instance registered
        candidates[_origin(definition.fn)] = definition


def register_for_queue(
    task_queue: str,
    workflows: Sequence[WorkflowDefinition] = (),
    activities: Sequence[ActivityDefinition] = (),
) -> None:
    """Say which definitions ``task_queue`` runs (what ``Worker(...)`` lists): they win over
    any other of the same name for that queue.

    Raises:
        WorkflowDefinitionError: the lists name one workflow or activity twice.
    """
    for kind, items in (("workflow", workflows), ("activity", activities)):
        names = [item.name for item in items]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise WorkflowDefinitionError(
                f"One worker cannot run two {kind} definitions named {', '.join(twice)} "
                f"(task queue {task_queue!r}): give one another name with @{kind}.defn(name=...)."
            )
    with _lock:
        queue_workflows = _queue_workflows.setdefault(task_queue, {})
        for workflow in workflows:
            queue_workflows[workflow.name] = workflow
        queue_activities = _queue_activities.setdefault(task_queue, {})
        for activity in activities:
            queue_activities[activity.name] = activity


def _pick(
    kind: str,
    name: str,
    task_queue: str | None,
    candidates: dict[str, Any],
    chosen: dict[str, dict[str, Any]],
) -> Any | None:
    """The definition ``task_queue`` runs for ``name``; None if there is none."""
    if task_queue is not None and name in chosen.get(task_queue, {}):
        return chosen[task_queue][name]
    found = list(candidates.get(name, {}).values())
    if len(found) > 1:
        origins = " and ".join(sorted(candidates[name]))
        where = f" on task queue {task_queue!r}" if task_queue else ""
        raise WorkflowDefinitionError(
            f"Two {kind} definitions are named {name!r} ({origins}) and nothing says which one "
            f"runs{where}: list the one to run in Worker(task_queue=..., "
            f"{'activities' if kind == 'activity' else 'workflows'}=[...]) for "
            f"that queue, or give one another name with @{kind}.defn(name=...)."
        )
    return found[0] if found else None


def get_workflow(name: str, task_queue: str | None = None) -> WorkflowDefinition:
    """The workflow ``name`` (as ``task_queue`` runs it, when given).

    Raises:
        UnknownWorkflowTypeError: no workflow has that name.
        WorkflowDefinitionError: two have it, and no Worker chose one for the queue.
    """
    definition: WorkflowDefinition | None = _pick(
        "workflow", name, task_queue, _workflows, _queue_workflows
    )
    if definition is None:
        known = ", ".join(workflow_types()) or "none"
        raise UnknownWorkflowTypeError(
            f"Unknown workflow type {name!r}. Registered workflow types: {known}. "
            "Workflows register when their module is imported; put them in a `workflows` "
            "module of an installed app."
        )
    return definition


def get_activity(name: str, task_queue: str | None = None) -> ActivityDefinition:
    """The activity ``name`` (as ``task_queue`` runs it, when given).

    Raises:
        UnknownActivityError: no activity has that name.
        WorkflowDefinitionError: two have it, and no Worker chose one for the queue.
    """
    definition: ActivityDefinition | None = _pick(
        "activity", name, task_queue, _activities, _queue_activities
    )
    if definition is None:
        known = ", ".join(sorted(_activities)) or "none"
        raise UnknownActivityError(
            f"Unknown activity type {name!r}. Registered activities: {known}. "
            "Activities register when their module is imported; put them in an `activities` "
            "module of an installed app."
        )
    return definition


def is_workflow_registered(name: str, task_queue: str | None = None) -> bool:
    """Whether this process can run the workflow ``name`` for ``task_queue``."""
    try:
        return _pick("workflow", name, task_queue, _workflows, _queue_workflows) is not None
    except WorkflowDefinitionError:
        return False


def is_activity_registered(name: str, task_queue: str | None = None) -> bool:
    """Whether this process can run the activity ``name`` for ``task_queue`` (a method
    activity only once an instance's method is registered)."""
    try:
        definition = _pick("activity", name, task_queue, _activities, _queue_activities)
    except WorkflowDefinitionError:
        return False
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
    with _lock:  # and where a Worker listed the unbound method for a queue
        for chosen in _queue_activities.values():
            if chosen.get(bound.name) is definition:
                chosen[bound.name] = bound
    return bound


def atomic_activity_names() -> list[str]:
    """The names of activities declared with ``atomic=True``."""
    return sorted(
        name
        for name, candidates in _activities.items()
        if any(definition.atomic for definition in candidates.values())
    )


def workflow_types() -> list[str]:
    return sorted(_workflows)


def resolve_workflow(target: Any, task_queue: str | None = None) -> WorkflowDefinition:
    """A definition from a workflow class, its ``run`` method, or its registered name (as
    ``task_queue`` runs it, when given)."""
    if isinstance(target, str):
        return get_workflow(target, task_queue)
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
        try:
            return target, _pick("activity", target, None, _activities, _queue_activities)
        except WorkflowDefinitionError:
            return target, None  # two of that name: the worker's queue decides
    definition = getattr(target, ACTIVITY_ATTR, None)
    if isinstance(definition, ActivityDefinition):
        return definition.name, definition
    raise UnknownActivityError(
        f"{target!r} is not an activity: decorate it with @activity.defn or pass its name."
    )
