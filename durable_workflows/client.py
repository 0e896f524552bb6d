"""Starting workflows and talking to them from application code.

Django style: the client is synchronous, with ``a``-prefixed async twins, like
the ORM (``start_workflow`` / ``astart_workflow``). For code written against
Temporal, ``await Client.connect()`` returns an :class:`AsyncClient` whose
methods carry Temporal's names and are awaitable, so such code ports by
changing imports only.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, fields
from datetime import timedelta
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from asgiref.sync import sync_to_async

from . import _json
from ._engine import Failure, HistoryEvent, StartOptions, from_json
from .common import (
    ActivityType,
    PendingActivity,
    PendingActivityInfo,
    PendingActivityState,
    RawWorkflowDescription,
    WorkflowDescription,
    WorkflowExecutionStatus,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
    WorkflowSummary,
    WorkflowUpdateStage,
)
from .exceptions import (
    AsyncActivityCancelledError,
    InvalidArgumentError,
    WorkflowFailureError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)

if TYPE_CHECKING:
    from . import _services
    from ._services import arguments as _arguments
else:

    class _Deferred(ModuleType):
        """Imports a module of the ORM layer on first use, so importing the client needs no
        configured Django (scripts ported from Temporal import it before setting Django up)."""

        def __init__(self, name: str) -> None:
            super().__init__(name)
            self._target = name

        def __getattr__(self, attr: str) -> Any:
            return getattr(import_module(self._target, __package__), attr)

    _services = _Deferred("._services")
    _arguments = _Deferred("._services.arguments")


def _ensure_django() -> None:
    """Set Django up from DJANGO_SETTINGS_MODULE when a plain script uses the client."""
    from django.apps import apps

    if not apps.ready and not apps.loading:
        import django

        django.setup()


__all__ = [
    "ActivityCompletionHandle",
    "AsyncActivityCancelledError",
    "AsyncActivityHandle",
    "AsyncClient",
    "AsyncUpdateHandle",
    "AsyncWorkflowHandle",
    "Client",
    "WithStartWorkflowOperation",
    "WorkflowDescription",
    "WorkflowExecutionDescription",
    "WorkflowExecutionStatus",
    "WorkflowFailureError",
    "WorkflowHandle",
    "WorkflowHistory",
    "WorkflowQueryFailedError",
    "WorkflowSummary",
    "WorkflowUpdateFailedError",
    "WorkflowUpdateHandle",
    "WorkflowUpdateStage",
]

T = TypeVar("T")
P = ParamSpec("P")


def _async(fn: Callable[P, T]) -> Callable[P, Coroutine[Any, Any, T]]:
    return sync_to_async(fn, thread_sensitive=False)


@dataclass(frozen=True)
class WorkflowHistory:
    """A run's events, in order; ``to_json()`` is what the Replayer reads."""

    workflow_id: str
    run_id: str
    events: list[HistoryEvent]

    def to_json(self) -> str:
        return _json.dumps_readable(
            {
                "workflow_id": self.workflow_id,
                "run_id": self.run_id,
                "events": [event.to_dict() for event in self.events],
            },
            indent=2,
            ensure_ascii=True,
        )

    @classmethod
    def from_json(cls, text: str) -> WorkflowHistory:
        data = _json.loads(text)
        return cls(
            workflow_id=data["workflow_id"],
            run_id=data["run_id"],
            events=[HistoryEvent.from_dict(e) for e in data["events"]],
        )


@dataclass(frozen=True)
class WorkflowExecutionDescription(WorkflowDescription):
    """What ``describe()`` returns (Temporal's name): a :class:`WorkflowDescription` that
    also offers Temporal's ``raw_description.pending_activities``."""

    @property
    def raw_description(self) -> RawWorkflowDescription:
        """The pending activities in the shape of Temporal's DescribeWorkflowExecution
        response (see :class:`~durable_workflows.common.PendingActivityInfo` for how the
        values differ); the same activities as :attr:`pending_activities`."""
        return RawWorkflowDescription(
            pending_activities=[_temporal_shape(a) for a in self.pending_activities]
        )

    @classmethod
    def of(cls, description: WorkflowDescription) -> WorkflowExecutionDescription:
        return cls(**{f.name: getattr(description, f.name) for f in fields(description)})


def _temporal_shape(activity: PendingActivity) -> PendingActivityInfo:
    if activity.cancel_requested:
        state = PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
    elif activity.status == "STARTED":
        state = PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
    else:
        state = PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED
    return PendingActivityInfo(
        activity_id=activity.activity_id,
        activity_type=ActivityType(activity.activity_type),
        state=state,
        attempt=activity.attempt,
        maximum_attempts=activity.maximum_attempts,
        scheduled_time=activity.scheduled_time,
        last_started_time=activity.started_time,
        last_heartbeat_time=activity.last_heartbeat_time,
        heartbeat_details=list(activity.heartbeat_details or []),
        last_failure=Failure.from_dict(activity.last_failure) if activity.last_failure else None,
        last_worker_identity=activity.last_worker_identity,
    )


class WithStartWorkflowOperation:
    """The start half of update-with-start (Temporal's name): which workflow to start, and
    how, if no run of the id is running. Arguments as ``Client.start_workflow``;
    ``id_conflict_policy`` is required, as in Temporal (``USE_EXISTING`` sends the update to
    the running run; ``FAIL`` refuses when one runs).

    After the call, ``handle`` (or ``await workflow_handle()``) is the workflow's handle.
    """

    def __init__(
        self,
        workflow: Any,
        *args: Any,
        id: str,
        id_conflict_policy: WorkflowIDConflictPolicy,
        **kwargs: Any,
    ) -> None:
        self.workflow = workflow
        self.args = args
        self.id = id
        self.id_conflict_policy = WorkflowIDConflictPolicy(id_conflict_policy)
        self.kwargs = kwargs
        self.handle: WorkflowHandle | None = None

    async def workflow_handle(self) -> AsyncWorkflowHandle:
        """The started (or existing) workflow's handle, once the update-with-start ran."""
        if self.handle is None:
            raise RuntimeError("The update-with-start using this operation has not run yet.")
        return AsyncWorkflowHandle(self.handle)


class WorkflowUpdateHandle:
    """An update a run has accepted: ``result()`` waits for its handler (Temporal's shape).

    ``await handle.result()`` works too, in async code.
    """

    def __init__(self, accepted: _services.AcceptedUpdate) -> None:
        self._accepted = accepted
        self._outcome: tuple[Any] | None = None

    @property
    def id(self) -> str:
        return self._accepted.update_id

    @property
    def workflow_id(self) -> str:
        return self._accepted.workflow_id

    @property
    def workflow_run_id(self) -> str:
        return self._accepted.run_id

    @property
    def name(self) -> str:
        return self._accepted.name

    def result(self, timeout: float | timedelta | None = None) -> Any:
        """Wait for the handler and return its result.

        Raises:
            WorkflowUpdateFailedError: the handler failed; ``cause`` says why.
            WorkflowClosedError: the run closed before the handler finished.
            WorkflowResultTimeoutError: no outcome within ``timeout``.
        """
        if self._outcome is None:
            seconds = _arguments.check_wait_seconds(timeout, "The update timeout")
            value = _services.wait_for_update(self._accepted, seconds)
            self._outcome = (
                _services.decode_handler_result(
                    self._accepted.workflow_type, "update", self._accepted.name, value
                ),
            )
        return self._outcome[0]

    async def aresult(self, timeout: float | timedelta | None = None) -> Any:
        return await _async(self.result)(timeout)


class WorkflowHandle:
    """A workflow by id (and optionally one run of it); nothing is read until a method is called.

    A handle that ``start_workflow`` returns knows the run it started (``run_id`` and
    ``first_execution_run_id``): ``result()``, ``describe()`` and ``fetch_history()`` read
    that run (``result()`` then follows its continue-as-new chain), while signals, queries,
    updates, cancel and terminate go to the workflow id's running run, as Temporal's
    handle does, so they reach the run a continue-as-new put in its place.
    """

    def __init__(
        self,
        workflow_id: str,
        *,
        run_id: str | None = None,
        result_type: Any = None,
        first_execution_run_id: str | None = None,
    ) -> None:
        self.workflow_id = workflow_id
        self.run_id = run_id or first_execution_run_id
        self.first_execution_run_id = first_execution_run_id
        self.result_type = result_type
        #: The run messages go to: the one named, or (None) the latest of the id.
        self._message_run_id = None if first_execution_run_id else run_id

    def __repr__(self) -> str:
        return f"<WorkflowHandle {self.workflow_id!r} run={self.run_id}>"

    @property
    def id(self) -> str:
        """The workflow id (Temporal's name for it)."""
        return self.workflow_id

    def _execution(self) -> Any:
        return _services.get_execution(self.workflow_id, self.run_id)

    def result(self, timeout: float | timedelta | None = None) -> Any:
        """Wait for the run to close and return its result; a run that continued as new is
        followed to the last run of its chain (as Temporal's client does).

        Waiting wakes on a PostgreSQL notification (or a gentle poll elsewhere),
        not a tight loop.

        Raises:
            WorkflowFailureError: the run failed, was cancelled, terminated or timed out;
                ``cause`` says why.
            WorkflowResultTimeoutError: still running after ``timeout``.
            WorkflowNotFoundError: no such workflow.
            InvalidArgumentError: ``timeout`` is negative or over ten years.
        """
        seconds = _arguments.check_wait_seconds(timeout, "The result timeout")
        execution = self._execution()
        outcome = _services.wait_for_outcome(execution, seconds)
        value = _services.raise_for_outcome(outcome, self.workflow_id)
        return from_json(value, self._result_hint(outcome.workflow_type))

    def _result_hint(self, workflow_type: str) -> Any:
        if self.result_type is not None:
            return self.result_type
        try:
            return _services.resolve_definition(workflow_type).run_signature.return_hint
        except Exception:  # the type is not registered in this process: plain JSON
            return None

    def describe(self) -> WorkflowExecutionDescription:
        """Status, times, history length, pending activities and timers of the run.

        ``status`` is a :class:`WorkflowExecutionStatus` (equal to its name as a string);
        ``raw_description.pending_activities`` has Temporal's shape.
        """
        return WorkflowExecutionDescription.of(_services.describe(self._execution()))

    def fetch_history(self) -> WorkflowHistory:
        """All events of the run, in order."""
        execution = self._execution()
        return WorkflowHistory(
            workflow_id=execution.workflow_id,
            run_id=str(execution.run_id),
            events=_services.history(execution),
        )

    def signal(self, signal: Any, *args: Any, **kwargs: Any) -> None:
        """Send a signal (a ``@workflow.signal`` method or its name); returns once it is recorded.

        Raises:
            UnknownHandlerError: the workflow type has no such signal.
            InvalidArgumentError, PayloadError: the arguments do not fit or cannot be stored.
            WorkflowClosedError: the run has closed.
            WorkflowNotFoundError: no such workflow.
        """
        _services.signal_workflow(
            self.workflow_id, signal, _call_args(args, kwargs, "signal"), self._message_run_id
        )

    def query(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        """Ask a ``@workflow.query`` handler; answered by replaying the history in this process.

        Works without any worker running, and on closed runs (their final state).

        Raises:
            UnknownHandlerError, InvalidArgumentError, WorkflowQueryFailedError,
            WorkflowNotFoundError.
        """
        execution = _services.get_execution(self.workflow_id, self._message_run_id)
        name = _services.handler_name(query, "query")
        value = _services.query_workflow(
            self.workflow_id, name, _call_args(args, kwargs, "query"), str(execution.run_id)
        )
        return _services.decode_handler_result(execution.workflow_type, "query", name, value)

    def execute_update(
        self,
        update: Any,
        *args: Any,
        id: str | None = None,
        timeout: float | timedelta | None = None,
        **kwargs: Any,
    ) -> Any:
        """Send an update and wait for its handler's result.

        The validator (if any) runs first; a rejection raises and records nothing.

        Raises:
            WorkflowUpdateFailedError: rejected, or the handler raised; ``cause`` says why.
            WorkflowClosedError: the run is (or became) closed.
            InvalidArgumentError: arguments that do not fit, a malformed ``id``, or a
                ``timeout`` that is negative or over ten years.
        """
        seconds = _arguments.check_wait_seconds(timeout, "The update timeout")
        if id is not None:
            _arguments.check_identifier(id, "The update id")
        execution = _services.get_execution(self.workflow_id, self._message_run_id)
        name = _services.handler_name(update, "update")
        value = _services.update_workflow(
            self.workflow_id,
            name,
            _call_args(args, kwargs, "execute_update"),
            run_id=str(execution.run_id),
            update_id=id,
            timeout=seconds,
        )
        return _services.decode_handler_result(execution.workflow_type, "update", name, value)

    def start_update(
        self,
        update: Any,
        *args: Any,
        wait_for_stage: WorkflowUpdateStage,
        id: str | None = None,
        **kwargs: Any,
    ) -> WorkflowUpdateHandle:
        """Send an update and return a handle once it reaches ``wait_for_stage``.

        ``ACCEPTED``: once the validator passed and the update is recorded (its handler
        runs in the next workflow task); ``COMPLETED``: once its handler finished.
        ``handle.result()`` waits for the handler. ``ADMITTED`` is refused, as by Temporal.

        Raises:
            ValueError: ``wait_for_stage`` is ADMITTED.
            WorkflowUpdateFailedError: rejected by the validator (or, with COMPLETED, the
                handler failed).
            WorkflowClosedError, InvalidArgumentError: as :meth:`execute_update`.
        """
        stage = WorkflowUpdateStage(wait_for_stage)
        if stage is WorkflowUpdateStage.ADMITTED:
            raise ValueError(
                "wait_for_stage=ADMITTED is not supported (as in Temporal): wait for ACCEPTED "
                "or COMPLETED."
            )
        if id is not None:
            _arguments.check_identifier(id, "The update id")
        accepted = _services.start_update(
            self.workflow_id,
            _services.handler_name(update, "update"),
            _call_args(args, kwargs, "start_update"),
            run_id=self._message_run_id,
            update_id=id,
        )
        handle = WorkflowUpdateHandle(accepted)
        if stage is WorkflowUpdateStage.COMPLETED:
            handle.result()
        return handle

    def get_update_handle(self, update_id: str) -> WorkflowUpdateHandle:
        """A handle on an update this workflow's run has accepted, by its id.

        Raises:
            UnknownHandlerError: the run accepted no update with that id.
            WorkflowNotFoundError: no such workflow.
        """
        return WorkflowUpdateHandle(
            _services.find_update(self.workflow_id, update_id, self._message_run_id)
        )

    async def astart_update(self, update: Any, *args: Any, **kwargs: Any) -> WorkflowUpdateHandle:
        return await _async(self.start_update)(update, *args, **kwargs)

    def cancel(self, reason: str = "") -> None:
        """Request cancellation: the workflow sees ``asyncio.CancelledError`` where it awaits."""
        _services.cancel_workflow(self.workflow_id, self._message_run_id, reason)

    def terminate(self, reason: str = "") -> None:
        """Close the run as TERMINATED at once; no workflow code runs."""
        _services.terminate_workflow(self.workflow_id, reason, self._message_run_id)

    async def aresult(self, timeout: float | timedelta | None = None) -> Any:
        return await _async(self.result)(timeout)

    async def asignal(self, signal: Any, *args: Any, **kwargs: Any) -> None:
        await _async(self.signal)(signal, *args, **kwargs)

    async def aquery(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        return await _async(self.query)(query, *args, **kwargs)

    async def aexecute_update(self, update: Any, *args: Any, **kwargs: Any) -> Any:
        return await _async(self.execute_update)(update, *args, **kwargs)

    async def acancel(self, reason: str = "") -> None:
        await _async(self.cancel)(reason)

    async def aterminate(self, reason: str = "") -> None:
        await _async(self.terminate)(reason)

    async def adescribe(self) -> WorkflowExecutionDescription:
        return await _async(self.describe)()

    async def afetch_history(self) -> WorkflowHistory:
        return await _async(self.fetch_history)()


class Client:
    """Starts workflows and hands out handles. Uses the Django database and Celery settings."""

    def __init__(self) -> None:
        _ensure_django()

    @classmethod
    async def connect(cls, target_host: str | None = None, **_ignored: Any) -> AsyncClient:
        """Temporal's entry point: returns an awaitable-style client.

        ``target_host`` and other connection options are accepted and ignored:
        the Django database is the server.
        """
        return AsyncClient(cls())

    def start_workflow(
        self,
        workflow: Any,
        *args: Any,
        id: str,
        task_queue: str | None = None,
        execution_timeout: timedelta | float | None = None,
        id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        search_attributes: dict[str, Any] | None = None,
        memo: dict[str, Any] | None = None,
        start_signal: Any = None,
        start_signal_args: Sequence[Any] = (),
        cron_schedule: str | None = None,
        id_conflict_policy: WorkflowIDConflictPolicy = WorkflowIDConflictPolicy.FAIL,
        **kwargs: Any,
    ) -> WorkflowHandle:
        """Start a workflow and return its handle without waiting.

        Args:
            workflow: The ``@workflow.run`` method (``OrderWorkflow.run``), the
                class, or the registered type name.
            *args: Arguments of the run method (or ``args=[...]``).
            id: The workflow id; one run per id may be RUNNING at a time.
            task_queue: Celery queue of the workers; default ``DEFAULT_TASK_QUEUE``. Letters,
                digits and ``_.-:@``, up to 100 characters; one of ``ALLOWED_TASK_QUEUES``
                if that setting is set.
            execution_timeout: Close the run as TIMED_OUT after this long (a timedelta or
                seconds; at most ten years).
            id_reuse_policy: Whether the id of a closed run may be reused.
            id_conflict_policy: When a run of the id is RUNNING: FAIL (raise), USE_EXISTING
                (return its handle, start nothing) or TERMINATE_EXISTING (terminate it and
                start this one, atomically).
            search_attributes: Values to filter by in the admin and the API.
            memo: Free-form data shown with the run.
            start_signal: Signal-with-start: a ``@workflow.signal`` method or name.
                If the id is running, only the signal is delivered (to that run);
                otherwise the run is started and receives the signal first, atomically.
            start_signal_args: Arguments of ``start_signal``.
            cron_schedule: Five crontab fields (``"*/5 * * * *"``): a cron workflow, as
                Temporal's. Each run starts at the next firing (its first workflow task is
                due then); when one closes (completed, failed or timed out, but not
                cancelled or terminated) the next run of the same id is started with the
                same arguments. Evaluated in Celery's time zone (UTC unless configured).
                ``result()`` returns the result of the run it was called on.

        Raises:
            UnknownWorkflowTypeError: ``workflow`` is not a registered workflow.
            InvalidArgumentError: the arguments do not fit the run method's type hints; an
                id or task queue that is malformed (or not allowed); a timeout out of range.
            PayloadError: an argument, the memo or the search attributes are not
                JSON-serializable, nested deeper than ``MAX_PAYLOAD_DEPTH`` (or contain
                themselves), hold NUL characters or lone surrogates, or are too large.
            WorkflowAlreadyStartedError: the id is running (or may not be reused).
        """
        call_args = _call_args(args, kwargs, "start_workflow")
        definition = _services.resolve_definition(workflow)
        signal = None
        if start_signal is not None:
            signal = _services.prepare_signal(
                definition.name, start_signal, list(start_signal_args)
            )
        options = StartOptions(
            workflow_id=id,
            task_queue=task_queue,
            execution_timeout=_as_timedelta(execution_timeout, "The execution timeout"),
            id_reuse_policy=id_reuse_policy,
            search_attributes=search_attributes or {},
            memo=memo or {},
            cron_schedule=cron_schedule,
            id_conflict_policy=WorkflowIDConflictPolicy(id_conflict_policy),
        )
        execution = _services.start_workflow(definition, call_args, options, start_signal=signal)
        return WorkflowHandle(execution.workflow_id, first_execution_run_id=str(execution.run_id))

    def start_update_with_start_workflow(
        self,
        update: Any,
        *args: Any,
        start_workflow_operation: WithStartWorkflowOperation,
        wait_for_stage: WorkflowUpdateStage,
        id: str | None = None,
        **kwargs: Any,
    ) -> WorkflowUpdateHandle:
        """Start the workflow (or take the running run, per the operation's conflict policy)
        and send it an update, in one transaction: a rejected update starts nothing.

        The workflow's handle is then ``start_workflow_operation.handle``.

        Raises:
            ValueError: ``wait_for_stage`` is ADMITTED.
            WorkflowAlreadyStartedError: the id is running and the policy is FAIL.
            WorkflowUpdateFailedError: the validator rejected the update (nothing written).
        """
        stage = WorkflowUpdateStage(wait_for_stage)
        if stage is WorkflowUpdateStage.ADMITTED:
            raise ValueError("wait_for_stage=ADMITTED is not supported: use ACCEPTED or COMPLETED.")
        operation = start_workflow_operation
        definition = _services.resolve_definition(operation.workflow)
        start_kwargs = dict(operation.kwargs)
        run_args = _call_args(operation.args, start_kwargs, "WithStartWorkflowOperation")
        options = StartOptions(
            workflow_id=operation.id,
            task_queue=start_kwargs.get("task_queue"),
            execution_timeout=_as_timedelta(
                start_kwargs.get("execution_timeout"), "The execution timeout"
            ),
            id_reuse_policy=start_kwargs.get(
                "id_reuse_policy", WorkflowIDReusePolicy.ALLOW_DUPLICATE
            ),
            search_attributes=start_kwargs.get("search_attributes") or {},
            memo=start_kwargs.get("memo") or {},
            id_conflict_policy=operation.id_conflict_policy,
        )
        unknown = set(start_kwargs) - {
            "task_queue",
            "execution_timeout",
            "id_reuse_policy",
            "search_attributes",
            "memo",
        }
        if unknown:
            raise TypeError(f"WithStartWorkflowOperation got unexpected options: {sorted(unknown)}")
        if id is not None:
            _arguments.check_identifier(id, "The update id")
        execution, accepted = _services.update_with_start(
            lambda: _services.start_workflow(definition, run_args, options),
            _services.handler_name(update, "update"),
            _call_args(args, kwargs, "start_update_with_start_workflow"),
            update_id=id,
        )
        operation.handle = WorkflowHandle(
            execution.workflow_id, first_execution_run_id=str(execution.run_id)
        )
        handle = WorkflowUpdateHandle(accepted)
        if stage is WorkflowUpdateStage.COMPLETED:
            handle.result()
        return handle

    def execute_update_with_start_workflow(
        self,
        update: Any,
        *args: Any,
        start_workflow_operation: WithStartWorkflowOperation,
        id: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Update-with-start, waiting for the update's result (see
        :meth:`start_update_with_start_workflow`)."""
        return self.start_update_with_start_workflow(
            update,
            *args,
            start_workflow_operation=start_workflow_operation,
            wait_for_stage=WorkflowUpdateStage.COMPLETED,
            id=id,
            **kwargs,
        ).result()

    def execute_workflow(self, workflow: Any, *args: Any, **kwargs: Any) -> Any:
        """Start a workflow and wait for its result (arguments as :meth:`start_workflow`)."""
        return self.start_workflow(workflow, *args, **kwargs).result()

    def get_workflow_handle(
        self, workflow_id: str, *, run_id: str | None = None, result_type: Any = None
    ) -> WorkflowHandle:
        """A handle on ``workflow_id`` (its latest run unless ``run_id`` is given)."""
        return WorkflowHandle(workflow_id, run_id=run_id, result_type=result_type)

    def get_async_activity_handle(self, *, task_token: bytes | str) -> ActivityCompletionHandle:
        """A handle to settle an activity attempt that called ``activity.raise_complete_async()``.

        ``task_token`` is the attempt's ``activity.info().task_token`` (bytes, or the same
        text as a string). Nothing is read until a method of the handle is called.
        Temporal also finds an activity by workflow id and activity id; here only the
        token does.
        """
        return ActivityCompletionHandle(task_token)

    def list_workflows(
        self,
        status: str | None = None,
        workflow_type: str | None = None,
        *,
        query: str | None = None,
        limit: int = 100,
        **search_attributes: Any,
    ) -> list[WorkflowSummary]:
        """The newest runs matching the filters, as the admin and the API list them.

        Search attributes given as keywords are compared as text (``priority=3`` matches
        the number 3 and the string ``"3"``). ``query`` is a list filter in Temporal's
        syntax (a subset: conditions joined by AND), compared by type:
        ``'CustomerId = "c-7" AND Amount > 10'``. A summary carries no payloads:
        :meth:`WorkflowHandle.describe` one run for its input, result and pending work.

        Raises:
            InvalidArgumentError: an unknown status, an unusable search attribute name, or
                a query that does not parse (the message says where).
        """
        return _services.list_runs(
            status=status,
            workflow_type=workflow_type,
            search_attributes=search_attributes,
            query=query,
            limit=limit,
        )

    async def astart_workflow(self, workflow: Any, *args: Any, **kwargs: Any) -> WorkflowHandle:
        return await _async(self.start_workflow)(workflow, *args, **kwargs)

    async def aexecute_workflow(self, workflow: Any, *args: Any, **kwargs: Any) -> Any:
        handle = await self.astart_workflow(workflow, *args, **kwargs)
        return await handle.aresult()

    async def alist_workflows(self, *args: Any, **kwargs: Any) -> list[WorkflowSummary]:
        return await _async(self.list_workflows)(*args, **kwargs)


def _as_timedelta(value: timedelta | float | None, what: str) -> timedelta | None:
    """A timeout given as seconds or a timedelta, as a timedelta (the service checks its range)."""
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError(
            f"{what} must be a timedelta or a number of seconds, got {type(value).__name__}."
        )
    try:
        return timedelta(seconds=value)
    except (OverflowError, ValueError):  # 1e300, NaN
        raise InvalidArgumentError(
            f"{what} must be a timedelta or a number of seconds, got {value!r}."
        ) from None


def _call_args(args: Sequence[Any], kwargs: dict[str, Any], where: str) -> list[Any]:
    extra = kwargs.pop("args", None)
    if kwargs:
        raise TypeError(f"{where}() got unexpected keyword arguments: {', '.join(sorted(kwargs))}")
    if extra is not None and args:
        raise TypeError(f"{where}(): pass arguments positionally or as args=[...], not both.")
    return list(extra if extra is not None else args)


class ActivityCompletionHandle:
    """Completes, fails or heartbeats one activity attempt from outside its worker.

    What ``Client().get_async_activity_handle(task_token=...)`` returns; the attempt is
    the one whose ``activity.info().task_token`` this is, and it must have called
    ``activity.raise_complete_async()`` (or still be running). Each method records at
    once, in one transaction, and the workflow is woken as by a worker's outcome.

    Every method raises:
        InvalidTaskTokenError: the token was not issued by this project (forged, altered,
            or signed with another SECRET_KEY).
        AsyncActivityAlreadyCompletedError: the attempt is over: settled already, timed
            out (a retry has a token of its own), cancelled, or its workflow closed.
    """

    def __init__(self, task_token: bytes | str) -> None:
        if not isinstance(task_token, bytes | str):
            raise TypeError(f"task_token must be bytes or str, got {type(task_token).__name__}.")
        self.task_token = task_token

    def __repr__(self) -> str:
        return "<ActivityCompletionHandle>"  # the token is a credential: not shown

    def complete(self, result: Any = None) -> None:
        """Complete the activity with ``result`` (what the workflow's await returns).

        Raises:
            PayloadError: ``result`` cannot be stored (not JSON, too deep, too large).
        """
        _services.complete_activity(self.task_token, result)

    def fail(self, error: BaseException, *, last_heartbeat_details: Sequence[Any] = ()) -> None:
        """Fail this attempt with ``error``: it is retried per the activity's retry policy,
        or the workflow sees ``ActivityError`` whose cause is ``error``.

        An ``ApplicationError`` keeps its ``type``, details and ``non_retryable``; any other
        exception becomes an application failure named after its class.
        """
        _services.fail_activity(self.task_token, error, last_heartbeat_details)

    def heartbeat(self, *details: Any) -> None:
        """Record progress (``details`` reach a retry as ``info().heartbeat_details``) and
        push back the heartbeat timeout.

        Raises:
            AsyncActivityCancelledError: cancellation of the activity was requested (the
                details are recorded all the same); stop, and call
                :meth:`report_cancellation`. It is a ``CancelledError``.
        """
        if _services.heartbeat_activity(self.task_token, details):
            raise AsyncActivityCancelledError()

    def report_cancellation(self, *details: Any) -> None:
        """Close the activity as cancelled, after :meth:`heartbeat` reported a cancellation.

        Raises:
            ActivityNotCancelRequestedError: no one asked to cancel it.
        """
        _services.report_activity_cancellation(self.task_token, details)

    async def acomplete(self, result: Any = None) -> None:
        await _async(self.complete)(result)

    async def afail(
        self, error: BaseException, *, last_heartbeat_details: Sequence[Any] = ()
    ) -> None:
        await _async(self.fail)(error, last_heartbeat_details=last_heartbeat_details)

    async def aheartbeat(self, *details: Any) -> None:
        await _async(self.heartbeat)(*details)

    async def areport_cancellation(self, *details: Any) -> None:
        await _async(self.report_cancellation)(*details)


class AsyncActivityHandle:
    """Temporal's async activity handle: an :class:`ActivityCompletionHandle` whose methods
    are awaitable (what ``AsyncClient.get_async_activity_handle`` returns)."""

    def __init__(self, handle: ActivityCompletionHandle) -> None:
        self._handle = handle

    async def complete(self, result: Any = None) -> None:
        await self._handle.acomplete(result)

    async def fail(
        self, error: BaseException, *, last_heartbeat_details: Sequence[Any] = ()
    ) -> None:
        await self._handle.afail(error, last_heartbeat_details=last_heartbeat_details)

    async def heartbeat(self, *details: Any) -> None:
        await self._handle.aheartbeat(*details)

    async def report_cancellation(self, *details: Any) -> None:
        await self._handle.areport_cancellation(*details)


class AsyncUpdateHandle:
    """An accepted update, for async code: ``await handle.result()`` (Temporal's shape)."""

    def __init__(self, handle: WorkflowUpdateHandle) -> None:
        self._handle = handle

    @property
    def id(self) -> str:
        return self._handle.id

    @property
    def workflow_id(self) -> str:
        return self._handle.workflow_id

    async def result(self, timeout: float | timedelta | None = None) -> Any:
        return await self._handle.aresult(timeout)


class AsyncWorkflowHandle:
    """A :class:`WorkflowHandle` whose methods are awaitable and carry Temporal's names."""

    def __init__(self, handle: WorkflowHandle) -> None:
        self._handle = handle

    @property
    def id(self) -> str:
        return self._handle.workflow_id

    @property
    def run_id(self) -> str | None:
        return self._handle.run_id

    async def result(self, timeout: float | timedelta | None = None) -> Any:
        return await self._handle.aresult(timeout)

    async def describe(self) -> WorkflowExecutionDescription:
        return await self._handle.adescribe()

    async def fetch_history(self) -> WorkflowHistory:
        return await self._handle.afetch_history()

    async def signal(self, signal: Any, *args: Any, **kwargs: Any) -> None:
        await self._handle.asignal(signal, *args, **kwargs)

    async def query(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        return await self._handle.aquery(query, *args, **kwargs)

    async def execute_update(self, update: Any, *args: Any, **kwargs: Any) -> Any:
        return await self._handle.aexecute_update(update, *args, **kwargs)

    async def start_update(self, update: Any, *args: Any, **kwargs: Any) -> AsyncUpdateHandle:
        return AsyncUpdateHandle(await self._handle.astart_update(update, *args, **kwargs))

    def get_update_handle(self, update_id: str) -> AsyncUpdateHandle:
        return AsyncUpdateHandle(self._handle.get_update_handle(update_id))

    async def cancel(self, reason: str = "") -> None:
        await self._handle.acancel(reason)

    async def terminate(self, reason: str = "") -> None:
        await self._handle.aterminate(reason)


class AsyncClient:
    """What ``await Client.connect()`` returns: Temporal's client shape over a :class:`Client`."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def start_workflow(self, workflow: Any, *args: Any, **kwargs: Any) -> AsyncWorkflowHandle:
        return AsyncWorkflowHandle(await self._client.astart_workflow(workflow, *args, **kwargs))

    async def execute_workflow(self, workflow: Any, *args: Any, **kwargs: Any) -> Any:
        return await self._client.aexecute_workflow(workflow, *args, **kwargs)

    def get_workflow_handle(
        self, workflow_id: str, *, run_id: str | None = None, result_type: Any = None
    ) -> AsyncWorkflowHandle:
        return AsyncWorkflowHandle(
            self._client.get_workflow_handle(workflow_id, run_id=run_id, result_type=result_type)
        )

    async def list_workflows(self, *args: Any, **kwargs: Any) -> list[WorkflowSummary]:
        return await self._client.alist_workflows(*args, **kwargs)

    async def start_update_with_start_workflow(
        self, update: Any, *args: Any, **kwargs: Any
    ) -> AsyncUpdateHandle:
        handle = await _async(self._client.start_update_with_start_workflow)(
            update, *args, **kwargs
        )
        return AsyncUpdateHandle(handle)

    async def execute_update_with_start_workflow(
        self, update: Any, *args: Any, **kwargs: Any
    ) -> Any:
        return await _async(self._client.execute_update_with_start_workflow)(
            update, *args, **kwargs
        )

    def get_async_activity_handle(self, *, task_token: bytes | str) -> AsyncActivityHandle:
        """Temporal's: a handle whose awaitable methods settle the attempt of ``task_token``."""
        return AsyncActivityHandle(self._client.get_async_activity_handle(task_token=task_token))
