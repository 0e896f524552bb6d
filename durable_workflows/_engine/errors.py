"""What the engine raises: errors for its callers, and interrupts inside workflow code.

Errors raised *to* the engine's callers (the worker, the query path, code calling
``workflow.*`` from the wrong place) join the package's root,
:class:`~durable_workflows.exceptions.DurableWorkflowsError`.

What the engine raises *inside* workflow code to stop it derives from
``BaseException`` instead (as in Temporal and DBOS), so a user's
``except Exception:`` cannot swallow it and carry on as if nothing happened.
"""

from __future__ import annotations

from ..exceptions import DurableWorkflowsError


class WorkflowTaskError(DurableWorkflowsError):
    """Workflow code raised an exception that fails the *task*, not the workflow.

    ``__cause__`` is the user's exception. The task is retried; the run stays RUNNING.
    """

    code = "workflow_task_failed"


class ReadOnlyViolationError(DurableWorkflowsError):
    """A query handler or update validator issued a command or changed workflow state.

    It is raised to the caller once the handler has returned, never into the
    handler, so it is an ordinary error.
    """

    code = "read_only_violation"


class NotInWorkflowError(DurableWorkflowsError, RuntimeError):
    """A ``workflow.*`` function was called outside workflow code."""

    code = "not_in_workflow"


class WorkflowInterrupt(BaseException):
    """Raised by the engine inside workflow code to stop it.

    Never caught by ``except Exception``; the engine turns it into a failed workflow
    task (:class:`WorkflowTaskError` with this as its cause).
    """


class WorkflowLoopError(WorkflowInterrupt):
    """Workflow code asked the loop for something a workflow may not do (I/O, threads)."""
