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

from .converter import Signature
from .options import ActivityOptions


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


class ActivityHandle(asyncio.Future[Any]):
    """What ``workflow.start_activity`` returns: await it for the result, or ``cancel()`` it."""

    def __init__(
        self, *, loop: asyncio.AbstractEventLoop, seq: int, activity_type: str, activity_id: str
    ) -> None:
        super().__init__(loop=loop)
        self.seq = seq
        self.activity_type = activity_type
        self.activity_id = activity_id


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
