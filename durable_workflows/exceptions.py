"""Errors raised by durable_workflows.

Two families share one root, :class:`DurableWorkflowsError`:

* *Failures* (:class:`FailureError` and its subclasses) travel through event
  histories. Raised from workflow code they fail the workflow; raised from an
  activity they fail the attempt. They are serialized into a failure dict and
  rebuilt on the other side.
* *Usage errors* are raised to callers of the client, the API and the admin.
  Each class declares the HTTP status and a stable ``code`` that the API
  reports, so adapters map errors by attribute rather than by ``if`` chains.
"""

from __future__ import annotations

import builtins
import enum
from collections.abc import Sequence
from typing import Any, Protocol

__all__ = [
    "ActivityError",
    "ActivityNotCancelRequestedError",
    "ApplicationError",
    "AsyncActivityAlreadyCompletedError",
    "AsyncActivityCancelledError",
    "CancelledError",
    "ChildWorkflowError",
    "DurableWorkflowsError",
    "FailureError",
    "FailureStructure",
    "InvalidArgumentError",
    "InvalidTaskTokenError",
    "NondeterminismError",
    "PayloadError",
    "RetryState",
    "TerminatedError",
    "TimeoutError",
    "TimeoutType",
    "UnknownActivityError",
    "UnknownHandlerError",
    "UnknownWorkflowTypeError",
    "WorkflowAlreadyStartedError",
    "WorkflowClosedError",
    "WorkflowDefinitionError",
    "WorkflowFailureError",
    "WorkflowNotFoundError",
    "WorkflowQueryFailedError",
    "WorkflowResultTimeoutError",
    "WorkflowTaskFailedError",
    "WorkflowUpdateFailedError",
]


class DurableWorkflowsError(Exception):
    """Root of every error this package raises on purpose."""

    http_status: int = 500
    code: str = "error"


# --- failures: they live in histories ------------------------------------------------


class FailureStructure(Protocol):
    """A failure as histories record it (Temporal's ``Failure`` message): what
    :attr:`FailureError.failure` holds. ``cause`` is the next link of the chain.

    ``kind`` names the error it rebuilds as (``"ApplicationError"``, ``"ActivityError"``,
    ``"TimeoutError"``, ...); the fields of other kinds are None (or empty).
    """

    @property
    def kind(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def stack_trace(self) -> str | None: ...
    @property
    def cause(self) -> FailureStructure | None: ...
    @property
    def type(self) -> str | None: ...
    @property
    def non_retryable(self) -> bool: ...
    @property
    def details(self) -> tuple[Any, ...]: ...
    @property
    def activity_type(self) -> str | None: ...
    @property
    def activity_id(self) -> str | None: ...
    @property
    def attempt(self) -> int | None: ...
    @property
    def retry_state(self) -> RetryState | None: ...
    @property
    def timeout_type(self) -> TimeoutType | None: ...
    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form stored in histories."""
        ...


class FailureError(DurableWorkflowsError):
    """A failure that can be recorded in a history and rebuilt from it.

    Raising one of these (or a subclass) from workflow code fails the workflow,
    unlike any other exception, which fails only the workflow *task*.
    """

    http_status = 409
    code = "workflow_failed"

    #: Where it was first raised, kept when it is rebuilt from a history.
    stack_trace: str | None = None
    #: The recorded failure this error was rebuilt from (its ``cause`` links the chain,
    #: as ``__cause__`` does for the errors); None for one raised in this process.
    failure: FailureStructure | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def cause(self) -> BaseException | None:
        """The underlying failure, if any (the same as ``__cause__``)."""
        return self.__cause__


class ApplicationError(FailureError):
    """An error raised by user code on purpose.

    Args:
        message: Human-readable description.
        *details: JSON-serializable values carried along with the failure.
        type: A name for the kind of error; ``RetryPolicy.non_retryable_error_types``
            matches against it. Defaults to the class name of the original
            exception when one is converted.
        non_retryable: If true, an activity raising it is not retried.
    """

    code = "application_error"

    def __init__(
        self,
        message: str,
        *details: Any,
        type: str | None = None,
        non_retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.details: Sequence[Any] = details
        self.type = type
        self.non_retryable = non_retryable


class RetryState(enum.StrEnum):
    """Why an activity stopped being retried (as Temporal reports it)."""

    IN_PROGRESS = "IN_PROGRESS"
    NON_RETRYABLE_FAILURE = "NON_RETRYABLE_FAILURE"
    TIMEOUT = "TIMEOUT"
    MAXIMUM_ATTEMPTS_REACHED = "MAXIMUM_ATTEMPTS_REACHED"
    RETRY_POLICY_NOT_SET = "RETRY_POLICY_NOT_SET"
    CANCEL_REQUESTED = "CANCEL_REQUESTED"


class TimeoutType(enum.StrEnum):
    """Which deadline expired."""

    START_TO_CLOSE = "START_TO_CLOSE"
    SCHEDULE_TO_START = "SCHEDULE_TO_START"
    SCHEDULE_TO_CLOSE = "SCHEDULE_TO_CLOSE"
    HEARTBEAT = "HEARTBEAT"


class TimeoutError(FailureError):  # noqa: A001 - mirrors Temporal's name on purpose
    """A deadline expired; ``type`` names which one."""

    code = "timeout"

    def __init__(
        self,
        message: str,
        *,
        type: TimeoutType | None,
        last_heartbeat_details: Sequence[Any] = (),
    ) -> None:
        super().__init__(message)
        self.type = type
        self.last_heartbeat_details = last_heartbeat_details


class CancelledError(FailureError):
    """The work was cancelled."""

    code = "cancelled"

    def __init__(self, message: str = "Cancelled", *details: Any) -> None:
        super().__init__(message)
        self.details = details


class AsyncActivityCancelledError(CancelledError):
    """Cancellation of an activity completed asynchronously was requested (Temporal's name).

    Raised by ``heartbeat()`` of the client's async activity handle; the caller should stop
    the work and call ``report_cancellation()``. A :class:`CancelledError`, so code that
    catches that catches this too.
    """

    code = "activity_cancel_requested"

    def __init__(self, message: str = "Cancellation of the activity was requested") -> None:
        super().__init__(message)


class TerminatedError(FailureError):
    """The workflow was terminated."""

    code = "terminated"


class ActivityError(FailureError):
    """An activity finally failed; ``cause`` holds why (application error, timeout, cancel)."""

    code = "activity_error"

    def __init__(
        self,
        message: str,
        *,
        activity_type: str,
        activity_id: str,
        scheduled_event_id: int,
        attempt: int,
        retry_state: RetryState | None,
    ) -> None:
        super().__init__(message)
        self.activity_type = activity_type
        self.activity_id = activity_id
        self.scheduled_event_id = scheduled_event_id
        self.attempt = attempt
        self.retry_state = retry_state


class ChildWorkflowError(FailureError):
    """A child workflow failed; ``cause`` holds why."""

    code = "child_workflow_error"

    def __init__(self, message: str, *, workflow_id: str, workflow_type: str) -> None:
        super().__init__(message)
        self.workflow_id = workflow_id
        self.workflow_type = workflow_type


class ContinueAsNewError(BaseException):
    """Raised by ``workflow.continue_as_new()``: this run closes, a new one takes its id.

    A ``BaseException`` (as Temporal's), so ``except Exception`` in workflow code does not
    stop it. Arguments are JSON-ready; ``None`` keeps the closing run's value.
    """

    def __init__(
        self,
        *,
        workflow_type: str,
        input: list[Any],
        task_queue: str | None = None,
        memo: dict[str, Any] | None = None,
        search_attributes: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"Continue as new {workflow_type}")
        self.workflow_type = workflow_type
        self.input = input
        self.task_queue = task_queue
        self.memo = memo
        self.search_attributes = search_attributes


# --- errors of the machinery -----------------------------------------------------------


class NondeterminismError(DurableWorkflowsError):
    """Workflow code issued commands that differ from its recorded history.

    It fails the workflow *task*, never the workflow: the run stays RUNNING and
    resumes once code matching the history is deployed.
    """

    code = "nondeterminism"


class WorkflowDefinitionError(DurableWorkflowsError, TypeError):
    """A workflow or activity is declared wrongly (raised at decoration time)."""

    code = "invalid_definition"


# --- usage errors: raised to clients ---------------------------------------------------


class InvalidArgumentError(DurableWorkflowsError, ValueError):
    """Arguments do not fit the function they are meant for."""

    http_status = 400
    code = "invalid_arguments"


class PayloadError(InvalidArgumentError):
    """A value cannot be stored: not JSON-serializable, or too large."""

    code = "invalid_payload"


class UnknownWorkflowTypeError(InvalidArgumentError, LookupError):
    """No workflow is registered under the given name."""

    code = "unknown_workflow_type"


class UnknownActivityError(InvalidArgumentError, LookupError):
    """No activity is registered under the given name."""

    code = "unknown_activity_type"


class UnknownHandlerError(InvalidArgumentError, LookupError):
    """The workflow type has no signal, query or update handler by that name."""

    code = "unknown_handler"

    def __init__(self, message: str, *, kind: str, name: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.name = name


class InvalidTaskTokenError(DurableWorkflowsError):
    """A task token that this project did not issue: malformed, altered, or signed with
    another SECRET_KEY. It grants nothing, so the API answers 403."""

    http_status = 403
    code = "invalid_task_token"


class AsyncActivityAlreadyCompletedError(DurableWorkflowsError):
    """The attempt a task token names is over: it completed, failed, timed out (and may
    have been retried under a new token), was cancelled, or its workflow closed.

    An outcome or heartbeat for it would be stale, so nothing is recorded (API: 409).
    """

    http_status = 409
    code = "activity_already_completed"


class ActivityNotCancelRequestedError(DurableWorkflowsError):
    """``report_cancellation()`` for an attempt whose cancellation no one requested (as
    Temporal's server refuses it); complete or fail the activity instead."""

    http_status = 409
    code = "activity_not_cancel_requested"


class WorkflowNotFoundError(DurableWorkflowsError, LookupError):
    """No execution has the given workflow id (and run id)."""

    http_status = 404
    code = "workflow_not_found"


class WorkflowAlreadyStartedError(DurableWorkflowsError):
    """A run with this workflow id is already running (or the reuse policy forbids a new one)."""

    http_status = 409
    code = "workflow_already_started"

    def __init__(self, message: str, *, workflow_id: str, run_id: str | None = None) -> None:
        super().__init__(message)
        self.workflow_id = workflow_id
        self.run_id = run_id


class WorkflowClosedError(DurableWorkflowsError):
    """The operation needs a running workflow, and this one has closed."""

    http_status = 409
    code = "workflow_closed"


class WorkflowFailureError(DurableWorkflowsError):
    """Raised by ``handle.result()`` when the workflow did not complete successfully.

    ``cause`` is the rebuilt failure: an ``ApplicationError``, an ``ActivityError``
    (whose own ``cause`` says why the activity failed), a ``TimeoutError``,
    ``CancelledError`` or ``TerminatedError``.
    """

    http_status = 409
    code = "workflow_failed"

    def __init__(self, message: str, *, status: str, cause: BaseException | None) -> None:
        super().__init__(message)
        self.status = status
        self.__cause__ = cause

    @property
    def cause(self) -> BaseException | None:
        return self.__cause__


class WorkflowQueryFailedError(DurableWorkflowsError):
    """The query handler raised, or the run's history could not be replayed to answer it."""

    http_status = 422
    code = "query_failed"


class WorkflowUpdateFailedError(DurableWorkflowsError):
    """The update was rejected by its validator, or its handler raised; ``cause`` says why."""

    http_status = 422
    code = "update_failed"

    def __init__(self, message: str, *, cause: BaseException | None) -> None:
        super().__init__(message)
        self.__cause__ = cause

    @property
    def cause(self) -> BaseException | None:
        return self.__cause__


class WorkflowTaskFailedError(DurableWorkflowsError):
    """A workflow task failed in the test environment (a bug in the workflow, or a
    nondeterminism); in production it would be retried until the code is fixed."""

    code = "workflow_task_failed_in_test"


class WorkflowResultTimeoutError(DurableWorkflowsError, builtins.TimeoutError):
    """``handle.result(timeout=...)`` waited that long and the workflow is still running."""

    http_status = 408
    code = "result_timeout"
