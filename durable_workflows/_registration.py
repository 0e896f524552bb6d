"""What a ``Worker(...)`` chose for its queue, handed to the Celery worker process it starts.

The process autodiscovers every workflow and activity as any worker does; the Worker's
lists travel in an environment variable (dotted paths per queue), and the app's
``ready()`` registers them for that queue, so the process runs the same definitions the
Worker named even where two share a name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from django.utils.module_loading import import_string

from . import _json, _registry
from ._engine.definitions import ACTIVITY_ATTR, DEFINITION_ATTR

REGISTRATION_ENV = "DURABLE_WORKFLOWS_WORKER_REGISTRATION"


def _path(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def encode(
    task_queue: str, workflows: Sequence[type], activities: Sequence[Callable[..., Any]]
) -> str:
    """The environment value naming what ``task_queue`` runs."""
    return _json.dumps(
        {
            "task_queue": task_queue,
            "workflows": [_path(cls) for cls in workflows],
            "activities": [_path(fn) for fn in activities],
        }
    )


def apply_from_environment() -> None:
    """Register, for its queue, what the Worker that started this process listed."""
    value = os.environ.get(REGISTRATION_ENV)
    if not value:
        return
    data = _json.loads(value)
    _registry.register_for_queue(
        data["task_queue"],
        [getattr(import_string(path), DEFINITION_ATTR) for path in data["workflows"]],
        [getattr(import_string(path), ACTIVITY_ATTR) for path in data["activities"]],
    )
