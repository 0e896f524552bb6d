"""The seam between ``durable_workflows.workflow`` and the running workflow.

Public calls in ``workflow`` find the current :class:`WorkflowRuntime` (the one
of the deterministic loop running their code: ``loop.current_runtime()``) and
delegate to it, as Temporal's do; the engine's ``WorkflowInstance`` implements
it. Nothing else in ``workflow`` knows how a run is executed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from random import Random
from typing import Any, Protocol

from ..common import TypedSearchAttributes
from .converter import Signature
from .definitions import HANDLER_MARK
from .options import ActivityOptions, ChildWorkflowOptions


@dataclass(frozen=True)
class ParentInfo:
    """The run that started this one as its child (``workflow.info().parent``)."""

    workflow_id: str
    run_id: str


def _no_history() -> int:
    return 0


@dataclass(frozen=True)
class WorkflowInfo:
    """What ``workflow.info()`` returns."""

    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    start_time: datetime
    attempt: int = 1
    execution_timeout: float | None = None
    search_attributes: dict[str, Any] = field(default_factory=dict)
    memo: dict[str, Any] = field(default_factory=dict)
    #: The run this one continued (continue-as-new), if any.
    continued_run_id: str | None = None
    #: The run that started this one as a child, if any.
    parent: ParentInfo | None = None
    #: History length from which ``is_continue_as_new_suggested()`` answers True.
    continue_as_new_suggested_after: int | None = None
    #: Answers ``get_current_history_length()``; the running instance sets it.
    history_length: Callable[[], int] = field(default=_no_history, compare=False, repr=False)

    @property
    def typed_search_attributes(self) -> TypedSearchAttributes:
        """``search_attributes`` with their types (Temporal's typed form)."""
        return TypedSearchAttributes.from_json(self.search_attributes)

    def get_current_history_length(self) -> int:
        """Events in the history as of the workflow task being run (the same on replay)."""
        return self.history_length()

    def is_continue_as_new_suggested(self) -> bool:
        """Whether the history has grown long enough that this run should continue as new."""
        limit = self.continue_as_new_suggested_after
        return limit is not None and self.get_current_history_length() >= limit


class ActivityHandle(asyncio.Future[Any]):
    """What ``workflow.start_activity`` returns: await it for the result, or ``cancel()`` it."""

    def __init__(
        self, *, loop: asyncio.AbstractEventLoop, seq: int, activity_type: str, activity_id: str
    ) -> None:
        super().__init__(loop=loop)
        self.seq = seq
        self.activity_type = activity_type
        self.activity_id = activity_id


class ChildWorkflowHandle(asyncio.Future[Any]):
    """A started child workflow: await it for its result; ``signal()`` it; ``cancel()`` it.

    Awaiting raises :class:`~durable_workflows.exceptions.ChildWorkflowError` (its cause
    says why) if the child does not complete. ``cancel()`` asks the child to cancel; with
    the default cancellation type the handle resolves once the child has closed.
    """

    def __init__(
        self,
        *,
        loop: asyncio.AbstractEventLoop,
        runtime: WorkflowRuntime,
        seq: int,
        workflow_id: str,
        workflow_type: str,
        on_cancel: Callable[[], bool],
    ) -> None:
        super().__init__(loop=loop)
        self.seq = seq
        self.id = workflow_id
        self.workflow_type = workflow_type
        self.run_id: str | None = None
        self.first_execution_run_id: str | None = None
        self._runtime = runtime
        self._on_cancel = on_cancel

    @property
    def workflow_id(self) -> str:
        return self.id

    async def signal(self, signal: Any, *args: Any) -> None:
        """Signal the child (a ``@workflow.signal`` method or its name); returns once the
        signal is delivered. Raises ``ApplicationError`` if the child has closed."""
        await self._runtime.signal_external(
            self.id, self.run_id, signal_name(signal), list(args), child_workflow_only=True
        )

    def cancel(self, msg: Any = None) -> bool:
        if self.done():
            return False
        if self._on_cancel():
            return super().cancel(msg)
        return False  # resolved when the child closes (WAIT_CANCELLATION_COMPLETED)


def signal_name(signal: Any) -> str:
    """The name of a signal given as a ``@workflow.signal`` method or a string."""
    if isinstance(signal, str):
        return signal
    handler = getattr(signal, HANDLER_MARK, None)
    if handler is None or handler.kind != "signal":
        raise TypeError(f"{signal!r} is not a @workflow.signal method; pass it or its name.")
    name: str = handler.name
    return name


class WorkflowRuntime(Protocol):
    """What workflow code can ask of the run it belongs to."""

    @property
    def info(self) -> WorkflowInfo:
        """Identity and settings of the run."""
        ...

    @property
    def is_replaying(self) -> bool:
        """True while the code re-runs decisions already recorded in the history."""
        ...

    def now(self) -> datetime:
        """The time of the activation being run (UTC), the same on every replay."""
        ...

    def random(self) -> Random:
        """The run's deterministic random source."""
        ...

    def start_activity(
        self,
        activity_type: str,
        args: Sequence[Any],
        options: ActivityOptions,
        *,
        result_signature: Signature | None,
    ) -> ActivityHandle:
        """Issue ScheduleActivityTask; the handle resolves with the activity's outcome."""
        ...

    async def wait_condition(self, condition: Callable[[], bool], timeout: float | None) -> None:
        """Return once ``condition()`` is true; raise ``asyncio.TimeoutError`` after ``timeout``."""
        ...

    def all_handlers_finished(self) -> bool:
        """Whether no signal or update handler of the run is still running."""
        ...

    def patched(self, patch_id: str, *, deprecated: bool = False) -> bool:
        """Whether this run takes the patched branch (recording a marker when it does)."""
        ...

    def start_local_activity(
        self,
        activity_type: str,
        args: Sequence[Any],
        options: ActivityOptions,
        *,
        result_signature: Signature | None,
    ) -> ActivityHandle:
        """Ask the worker to run an activity during this task; recorded as a marker."""
        ...

    async def start_child_workflow(
        self,
        workflow_type: str,
        args: Sequence[Any],
        options: ChildWorkflowOptions,
        *,
        result_signature: Signature | None,
    ) -> ChildWorkflowHandle:
        """Issue StartChildWorkflowExecution; return the handle once the child has started.

        Raises ``WorkflowAlreadyStartedError`` if a run with the child's id is running.
        """
        ...

    async def signal_external(
        self,
        workflow_id: str,
        run_id: str | None,
        signal_name: str,
        args: Sequence[Any],
        *,
        child_workflow_only: bool = False,
    ) -> None:
        """Issue SignalExternalWorkflowExecution; return once it is delivered."""
        ...

    async def cancel_external(self, workflow_id: str, run_id: str | None) -> None:
        """Issue RequestCancelExternalWorkflowExecution; return once it is delivered."""
        ...

    def upsert_search_attributes(self, updates: dict[str, Any]) -> None:
        """Issue UpsertWorkflowSearchAttributes; ``info.search_attributes`` shows it at once."""
        ...

    def upsert_memo(self, updates: dict[str, Any]) -> None:
        """Issue ModifyWorkflowProperties; ``info.memo`` shows it at once."""
        ...
