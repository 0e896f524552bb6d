"""The one way a use case takes a run's row lock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction

from .. import _store
from ..exceptions import WorkflowNotFoundError
from ..models import WorkflowExecution


@contextmanager
def locked_run(execution: WorkflowExecution) -> Iterator[WorkflowExecution]:
    """A transaction holding the row lock of ``execution``; yields the freshly read row.

    Raises:
        WorkflowNotFoundError: the run was deleted (retention, the admin) since it was read.
    """
    with transaction.atomic():
        locked = _store.lock_execution(pk=execution.pk)
        if locked is None:
            raise WorkflowNotFoundError(
                f"Workflow {execution.workflow_id!r} run {execution.run_id} no longer exists."
            )
        yield locked
