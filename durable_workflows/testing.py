"""Testing helpers: replay saved histories against current code, in CI, with no database.

Save a history with ``handle.fetch_history().to_json()`` (or the admin / API),
check it in, and let a test replay it::

    Replayer(workflows=[OrderWorkflow]).replay_workflow(WorkflowHistory.from_json(text))

A code change that would break running workflows then fails the test with a
``NondeterminismError`` naming the event and the command that differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import _registry
from ._engine import EventType, WorkflowInfo, WorkflowTaskError, split_history
from ._engine.replay import new_instance, replay_tasks
from .client import WorkflowHistory
from .exceptions import NondeterminismError, UnknownWorkflowTypeError

__all__ = ["ReplayResult", "Replayer", "WorkflowHistory"]


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
        self._allowed = {_registry.resolve_workflow(cls).name for cls in workflows} or None

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
        definition = _registry.get_workflow(workflow_type)
        info = WorkflowInfo(
            workflow_id=history.workflow_id,
            run_id=history.run_id,
            workflow_type=workflow_type,
            task_queue=started.get("task_queue", ""),
            start_time=events[0].timestamp,
        )
        instance = new_instance(definition, info, events)
        replay_tasks(instance, split_history(events).tasks)
