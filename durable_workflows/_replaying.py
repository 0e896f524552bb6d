"""Running workflow code against a stored run: its info, and the guard on the database.

Shared by the worker (workflow tasks) and the services (queries, update validators),
which both replay a run's history through the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

from ._engine import ParentInfo, WorkflowInfo, WorkflowInterrupt
from .conf import dw_settings
from .models import WorkflowExecution


class WorkflowTouchedDatabaseError(WorkflowInterrupt):
    """Workflow code queried the database; it must do so in an activity.

    An interrupt (a ``BaseException``), so workflow code cannot swallow it with
    ``except Exception``: the workflow task fails, and is retried once the code is fixed.
    """


def workflow_info(execution: WorkflowExecution) -> WorkflowInfo:
    """What ``workflow.info()`` answers inside ``execution``."""
    return WorkflowInfo(
        workflow_id=execution.workflow_id,
        run_id=str(execution.run_id),
        workflow_type=execution.workflow_type,
        task_queue=execution.task_queue,
        start_time=execution.start_time,
        execution_timeout=execution.execution_timeout,
        search_attributes=dict(execution.search_attributes or {}),
        memo=dict(execution.memo or {}),
        continued_run_id=str(execution.continued_run_id) if execution.continued_run_id else None,
        parent=(
            ParentInfo(
                workflow_id=execution.parent_workflow_id, run_id=str(execution.parent_run_id)
            )
            if execution.parent_run_id
            else None
        ),
        continue_as_new_suggested_after=dw_settings.CONTINUE_AS_NEW_SUGGESTED_AFTER or None,
    )


@contextmanager
def forbid_database_access(execution: WorkflowExecution) -> Iterator[None]:
    """Inside the block, any query on the default connection raises
    :class:`~durable_workflows.exceptions.WorkflowTouchedDatabaseError`."""

    def refuse(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        raise WorkflowTouchedDatabaseError(
            f"Workflow {execution.workflow_type} queried the database from workflow code "
            f"({sql[:80]!r}...). Workflow code is replayed and must be deterministic: move "
            "database access into an activity."
        )

    with connection.execute_wrapper(refuse):
        yield
