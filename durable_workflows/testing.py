"""Testing helpers: replay saved histories against current code, in CI, with no database.

Save a history with ``handle.fetch_history().to_json()`` (or the admin / API),
check it in, and let a test replay it::

    Replayer(workflows=[OrderWorkflow]).replay_workflow(WorkflowHistory.from_json(text))

A code change that would break running workflows then fails the test with a
``NondeterminismError`` naming the event and the command that differ.

:class:`WorkflowEnvironment` runs workflows and their activities in the test's own
process, against the test database, and skips time whenever the test waits::

    def test_reminder(transactional_db):
        with WorkflowEnvironment.start_time_skipping() as env:
            handle = Client().start_workflow(ReminderWorkflow.run, "pay", id="r-1")
            assert handle.result() == "reminded: pay"    # a 30-day sleep, in milliseconds
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import _clock, _dispatch, _registry
from ._engine import EventType, WorkflowInfo, WorkflowTaskError, split_history
from ._engine.definitions import ACTIVITY_ATTR
from ._engine.replay import new_instance, replay_tasks
from .activity import ActivityContext, reset_context, use_context
from .activity import Info as ActivityInfo
from .client import WorkflowHistory
from .exceptions import (
    CancelledError,
    NondeterminismError,
    UnknownWorkflowTypeError,
    WorkflowTaskFailedError,
)

if TYPE_CHECKING:
    from ._local import LocalTransport

__all__ = [
    "ActivityEnvironment",
    "ReplayResult",
    "Replayer",
    "WorkflowEnvironment",
    "WorkflowHistory",
    "WorkflowTaskFailedError",
]


@dataclass(frozen=True)
class ReplayResult:
    """The outcome of replaying one history; ``replay_failure`` is None when it matched."""

    history: WorkflowHistory
    replay_failure: Exception | None


class Replayer:
    """Replays recorded histories against the workflow classes of the current code.

    Args:
        workflows: The workflow classes that may appear in the histories. Default:
            every registered workflow.
    """

    def __init__(self, *, workflows: Sequence[type] = ()) -> None:
        listed = [_registry.resolve_workflow(cls) for cls in workflows]
        #: The Replayer's own workflows, by name: they win over others of the same name.
        self._definitions = {definition.name: definition for definition in listed}
        self._allowed = set(self._definitions) or None

    def replay_workflow(
        self, history: WorkflowHistory | str, *, raise_on_replay_failure: bool = True
    ) -> ReplayResult:
        """Replay every recorded workflow task of ``history`` (a WorkflowHistory or its JSON).

        Raises:
            NondeterminismError: the code issues different commands than were recorded.
            WorkflowTaskError: the code raised while replaying.
            UnknownWorkflowTypeError: the history's workflow type is not allowed or known.
        """
        if isinstance(history, str):
            history = WorkflowHistory.from_json(history)
        try:
            self._replay(history)
        except (NondeterminismError, WorkflowTaskError) as failure:
            if raise_on_replay_failure:
                raise
            return ReplayResult(history=history, replay_failure=failure)
        return ReplayResult(history=history, replay_failure=None)

    def replay_workflows(self, histories: Sequence[WorkflowHistory | str]) -> list[ReplayResult]:
        """Replay several histories, collecting failures instead of raising."""
        return [self.replay_workflow(h, raise_on_replay_failure=False) for h in histories]

    async def areplay_workflow(self, history: WorkflowHistory | str, **kwargs: Any) -> ReplayResult:
        return self.replay_workflow(history, **kwargs)

    def _replay(self, history: WorkflowHistory) -> None:
        events = history.events
        if not events or events[0].event_type is not EventType.WORKFLOW_EXECUTION_STARTED:
            raise ValueError("A history starts with WorkflowExecutionStarted.")
        started = events[0].attributes
        workflow_type = started.get("workflow_type", "")
        if self._allowed is not None and workflow_type not in self._allowed:
            raise UnknownWorkflowTypeError(
                f"The history is of workflow type {workflow_type!r}, which is not among this "
                f"Replayer's workflows ({', '.join(sorted(self._allowed))})."
            )
        definition = self._definitions.get(workflow_type) or _registry.get_workflow(
            workflow_type, started.get("task_queue")
        )
        info = WorkflowInfo(
            workflow_id=history.workflow_id,
            run_id=history.run_id,
            workflow_type=workflow_type,
            task_queue=started.get("task_queue", ""),
            start_time=events[0].timestamp,
        )
        instance = new_instance(definition, info, events)
        replay_tasks(instance, split_history(events).tasks)


class WorkflowEnvironment:
    """Workflows and activities run in this process, and time skips while the test waits.

    While the environment is active (a ``with`` or ``async with`` block), no Celery
    worker, broker or beat is used: a workflow task or activity attempt runs as soon as
    the transaction that made it due commits, and whoever waits (``handle.result()``,
    ``execute_update``, :meth:`sleep`) runs what is due and then moves the clock to the
    next timer, retry or timeout, so a month of sleeping passes at once. Every part of
    the app (history timestamps, ``workflow.now()``, deadlines) reads the moved clock.

    It uses the Django database, so a pytest test needs ``transactional_db`` (activity
    heartbeats are written on a connection of their own, which must see committed rows);
    a Django test case, ``TransactionTestCase``. Any :class:`~durable_workflows.Client`
    works inside the block; :attr:`client` is the Temporal-shaped async one, and
    ``async with Worker(env.client, ...)`` starts nothing, so Temporal tests port as::

        async with await WorkflowEnvironment.start_time_skipping() as env:
            async with Worker(env.client, task_queue="q", workflows=[W], activities=[a]):
                assert await env.client.execute_workflow(W.run, id="w-1", task_queue="q") == 1

    A workflow task that fails (an exception in workflow code, a nondeterminism) raises
    :class:`WorkflowTaskFailedError` in the waiting caller instead of being retried
    forever; a run that waits for a signal no one sends raises
    :class:`~durable_workflows.exceptions.WorkflowResultTimeoutError` at once (so the
    ``timeout`` of ``result()`` is not needed, and not applied, inside the environment).
    Only runs started inside the environment are driven.
    """

    def __init__(self, *, skip_time: bool = True) -> None:
        self._transport: LocalTransport | None = None
        self._skip_time = skip_time

    @classmethod
    def start_time_skipping(cls, **_options: Any) -> WorkflowEnvironment:
        """A new environment that skips time while the test waits; enter it with ``with`` or
        ``async with``, or ``await`` it (Temporal's options are accepted and ignored)."""
        return cls()

    @classmethod
    def start_local(cls, **_options: Any) -> WorkflowEnvironment:
        """A new environment on the real clock (Temporal's local dev server: no time
        skipping; a timer takes as long as it says). Options are accepted and ignored."""
        return cls(skip_time=False)

    @property
    def supports_time_skipping(self) -> bool:
        """Whether waiting moves the clock to the next due time (as Temporal's property)."""
        return self._skip_time

    def __await__(self) -> Generator[Any, None, WorkflowEnvironment]:
        # Temporal's constructors are coroutines: ``env = await ...start_local()`` gives an
        # environment in use at once (``await env.shutdown()`` ends it), and
        # ``async with await ...start_time_skipping() as env`` works as well.
        if False:  # pragma: no cover - makes this a generator that finishes at once
            yield
        return self._enter(concurrent=True)

    @property
    def client(self) -> Any:
        """A Temporal-shaped client (``await client.execute_workflow(...)``)."""
        from .client import AsyncClient, Client

        return AsyncClient(Client())

    def now(self) -> datetime:
        """The environment's clock: real time plus every skip so far."""
        return _clock.now()

    def sleep(self, duration: timedelta | float) -> Any:
        """Let ``duration`` pass, running whatever comes due on the way (with time skipping,
        the clock moves at once). In synchronous code it returns once done; in async code
        (a running event loop) it returns an awaitable, as Temporal's: ``await env.sleep(3)``.
        """
        transport = self._transport
        if transport is None:
            raise RuntimeError("Enter the environment (with ... as env) before env.sleep().")
        span = duration if isinstance(duration, timedelta) else timedelta(seconds=duration)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            transport.sleep(span)
            return _Done()
        from asgiref.sync import sync_to_async  # the database is used off the loop's thread

        return sync_to_async(transport.sleep, thread_sensitive=False)(span)

    async def asleep(self, duration: timedelta | float) -> None:
        await self.sleep(duration)

    def __enter__(self) -> WorkflowEnvironment:
        return self._enter(concurrent=False)

    def _enter(self, *, concurrent: bool) -> WorkflowEnvironment:
        """Install the in-process transport. ``concurrent`` (the async shapes, as Temporal
        tests use them): workflow tasks and activities run on worker threads while the
        test's own code goes on; otherwise they run in the caller, as soon as they are due.
        """
        from ._local import LocalTransport  # the ORM: only once Django is set up

        if self._transport is not None:
            return self  # awaited, then entered: one environment
        transport = LocalTransport(skip_time=self._skip_time, concurrent=concurrent)
        _dispatch.install(transport)
        self._transport = transport
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.shutdown()

    async def __aenter__(self) -> WorkflowEnvironment:
        return self._enter(concurrent=True)

    async def __aexit__(self, *exc_info: object) -> None:
        self.shutdown()

    def shutdown(self) -> _Done:
        """Leave the environment: the clock is real again and Celery carries hints again.
        Usable as ``env.shutdown()`` and ``await env.shutdown()``."""
        if self._transport is not None:
            _dispatch.uninstall(self._transport)
            self._transport.close()
            self._transport = None
            _clock.reset()
        return _Done()


class _Done:
    """What a call that has already finished returns, so that it may also be awaited."""

    def __await__(self) -> Generator[Any, None, None]:
        if False:  # pragma: no cover - makes this a generator that finishes at once
            yield


class ActivityEnvironment:
    """Run one activity function outside any workflow, as Temporal's ``ActivityEnvironment``.

    ``info`` is what ``activity.info()`` returns inside (change it before ``run``);
    ``on_heartbeat`` receives each ``activity.heartbeat(*details)``; ``cancel()`` requests
    cancellation: ``activity.is_cancelled()`` turns true, the next ``heartbeat()`` raises
    ``CancelledError``, and an async activity running in ``run`` is cancelled where it
    awaits. ``run(fn, *args)`` returns the result (a coroutine for an ``async def``).
    No database, broker or worker is involved.
    """

    def __init__(self) -> None:
        now = datetime.now(UTC)
        self.info = ActivityInfo(
            activity_id="test",
            activity_type="unknown",
            attempt=1,
            workflow_id="test",
            workflow_run_id="test-run",
            workflow_type="test",
            task_queue="test",
            scheduled_time=now,
            started_time=now,
        )
        self.on_heartbeat: Callable[..., None] = lambda *details: None
        self._cancelled = False
        self._task: asyncio.Task[Any] | None = None

    def cancel(self) -> None:
        """Request cancellation of the running activity."""
        self._cancelled = True
        if self._task is not None and not self._task.done():
            self._task.get_loop().call_soon_threadsafe(self._task.cancel)

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` with this environment's context (await the result of an async one)."""
        definition = getattr(fn, ACTIVITY_ATTR, None)
        info = self.info
        if definition is not None and info.activity_type == "unknown":
            info = replace(info, activity_type=definition.name)

        def heartbeat(details: Sequence[Any]) -> None:
            if self._cancelled:
                raise CancelledError("Activity cancelled")
            self.on_heartbeat(*details)

        context = ActivityContext(
            info=info, heartbeat=heartbeat, is_cancelled=lambda: self._cancelled
        )
        if inspect.iscoroutinefunction(fn):
            return self._run_async(fn, context, args, kwargs)
        token = use_context(context)
        try:
            return fn(*args, **kwargs)
        finally:
            reset_context(token)

    async def _run_async(
        self,
        fn: Callable[..., Any],
        context: ActivityContext,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        async def body() -> Any:
            token = use_context(context)
            try:
                return await fn(*args, **kwargs)
            finally:
                reset_context(token)

        self._task = asyncio.ensure_future(body())
        if self._cancelled:
            self._task.cancel()
        try:
            return await self._task
        finally:
            self._task = None
