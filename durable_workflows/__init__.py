"""Durable execution for Django: workflows as async Python, replayed from an event history.

Importing this package touches no models, so workflow modules can import it freely.
"""

from typing import TYPE_CHECKING, Any

from . import activity, exceptions, workflow
from .common import RetryPolicy, WorkflowIDConflictPolicy, WorkflowIDReusePolicy

if TYPE_CHECKING:
    from .client import Client, WorkflowHandle

__version__ = "0.1.0"

__all__ = [
    "Client",
    "RetryPolicy",
    "WorkflowHandle",
    "WorkflowIDConflictPolicy",
    "WorkflowIDReusePolicy",
    "__version__",
    "activity",
    "exceptions",
    "workflow",
]


def __getattr__(name: str) -> Any:
    # The client pulls in Django's ORM machinery; load it only when asked for.
    if name in ("Client", "WorkflowHandle"):
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module 'durable_workflows' has no attribute {name!r}")
