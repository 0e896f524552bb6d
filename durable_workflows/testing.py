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

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import _clock, _dispatch, _registry
from ._engine import EventType, WorkflowInfo, WorkflowTaskError, split_history
from ._engine.replay import new_instance, replay_tasks
from .client import WorkflowHistory
from .exceptions import NondeterminismError, UnknownWorkflowTypeError, WorkflowTaskFailedError

if TYPE_CHECKING:
    from ._local import LocalTransport

__all__ = [
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

    def __init__(self) -> None:
        self._transport: LocalTransport | None = None

    @classmethod
    def start_time_skipping(cls) -> WorkflowEnvironment:
        """A new environment; enter it with ``with`` (or ``async with``, optionally awaited)."""
        return cls()

    @classmethod
    def start_local(cls) -> WorkflowEnvironment:
        """Temporal's other constructor; the same in-process environment here."""
        return cls()

    def __await__(self) -> Generator[Any, None, WorkflowEnvironment]:
        # Temporal's constructors are coroutines: ``async with await ...start_time_skipping()``.
        if False:  # pragma: no cover - makes this a generator that finishes at once
            yield
        return self

    @property
    def client(self) -> Any:
        """A Temporal-shaped client (``await client.execute_workflow(...)``)."""
        from .client import AsyncClient, Client

        return AsyncClient(Client())

    def now(self) -> datetime:
        """The environment's clock: real time plus every skip so far."""
        return _clock.now()

    def sleep(self, duration: timedelta | float) -> None:
        """Move the clock forward by ``duration``, running whatever comes due on the way."""
        if self._transport is None:
            raise RuntimeError("Enter the environment (with ... as env) before env.sleep().")
        self._transport.sleep(
            duration if isinstance(duration, timedelta) else timedelta(seconds=duration)
        )

    async def asleep(self, duration: timedelta | float) -> None:
        from asgiref.sync import sync_to_async

        await sync_to_async(self.sleep)(duration)

    def __enter__(self) -> WorkflowEnvironment:
        from ._local import LocalTransport  # the ORM: only once Django is set up

        transport = LocalTransport()
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
        return self.__enter__()

    async def __aexit__(self, *exc_info: object) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        """Leave the environment: the clock is real again and Celery carries hints again."""
        if self._transport is not None:
            _dispatch.uninstall(self._transport)
            self._transport = None
            _clock.reset()
