"""F: replay cost in memory, no database, no broker: the engine alone.

A history is built as the store writes one (the approach of tests/engine/memory.py,
reduced to what a run of sequential activities needs): a workflow task appends
WorkflowTaskCompleted and one event per command; an activity outcome appends
ActivityTaskStarted and ActivityTaskCompleted. Each step of ``BenchSequenceWorkflow``
adds those four events, so a history of ~10,000 events is ~2,500 steps.

Measured:

* cold replay: ``run_workflow_task`` over the whole history (the last activity's
  completion pending), as a worker that never saw the run does; also
  ``replay_for_query`` (a query's replay, the pending activation not run);
* cached task: ``continue_workflow_task`` with the new events of one step, as the
  sticky cache runs it, near the start of a run and near event 10,000; plus
  ``awaits_activity``, which the worker asks after each task to decide whether to keep
  the instance.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

#: Goals the figures are printed against.
COLD_REPLAY_GOAL_SECONDS = 0.5
CACHED_RATIO_GOAL = 1.5


class MemoryHistory:
    """One run of a workflow whose history is a list, driven like a worker drives it."""

    def __init__(self, workflow_cls: Any, *args: Any) -> None:
        from durable_workflows import workflow
        from durable_workflows._engine import EventType, HistoryEvent, WorkflowInfo, to_json

        self._event_cls, self._types = HistoryEvent, EventType
        self.definition = workflow.get_definition(workflow_cls)
        self.clock = T0
        self.info = WorkflowInfo(
            workflow_id="bench-replay",
            run_id="bench-replay-run",
            workflow_type=self.definition.name,
            task_queue="bench",
            start_time=T0,
        )
        self.events: list[Any] = []
        self._open: dict[int, Any] = {}  # scheduled event id -> the activity's input
        self.instance: Any = None
        self._issued: list[Any] = []
        self._seen = 0
        self.append(
            EventType.WORKFLOW_EXECUTION_STARTED,
            {
                "workflow_type": self.definition.name,
                "task_queue": "bench",
                "input": to_json(list(args)),
                "execution_timeout": None,
                "randomness_seed": 1234,
                "search_attributes": {},
                "memo": {},
            },
        )

    def append(self, event_type: Any, attributes: dict[str, Any]) -> Any:
        self.clock += timedelta(milliseconds=1)
        event = self._event_cls(len(self.events) + 1, event_type, self.clock, attributes)
        self.events.append(event)
        return event

    # --- workflow tasks ----------------------------------------------------------------

    def cold_task(self) -> Any:
        """Replay the whole history and run its pending activation."""
        from durable_workflows._engine import run_workflow_task

        return run_workflow_task(self.definition, self.info, list(self.events), self.clock)

    def cached_task(self) -> Any:
        """Continue the instance of the previous task with the events recorded since."""
        from durable_workflows._engine import continue_workflow_task

        return continue_workflow_task(
            self.instance, self._issued, self.events[self._seen :], self.clock
        )

    def record(self, result: Any) -> None:
        """Record a task's outcome as the store does; keep its instance (a sticky cache)."""
        from durable_workflows._engine import (
            CompleteWorkflowExecution,
            ScheduleActivityTask,
        )

        types = self._types
        self.instance, self._issued, self._seen = result.instance, result.commands, len(self.events)
        self.append(types.WORKFLOW_TASK_COMPLETED, {})
        for command in result.commands:
            if isinstance(command, ScheduleActivityTask):
                options = command.options
                event = self.append(
                    types.ACTIVITY_TASK_SCHEDULED,
                    {
                        "activity_id": command.activity_id,
                        "activity_type": command.activity_type,
                        "task_queue": options.task_queue or self.info.task_queue,
                        "input": command.input,
                        "start_to_close_timeout": options.start_to_close_timeout,
                        "schedule_to_close_timeout": options.schedule_to_close_timeout,
                        "schedule_to_start_timeout": options.schedule_to_start_timeout,
                        "heartbeat_timeout": options.heartbeat_timeout,
                        "retry_policy": options.retry_policy or {},
                    },
                )
                self._open[event.event_id] = command.input
            elif isinstance(command, CompleteWorkflowExecution):
                self.append(types.WORKFLOW_EXECUTION_COMPLETED, {"result": command.result})
            else:
                raise AssertionError(f"The bench workflow issued {command!r}.")

    def complete_activities(self) -> None:
        """Every open activity returns its first argument (as ``bench_noop`` does)."""
        types = self._types
        for scheduled, payloads in sorted(self._open.items()):
            started = self.append(
                types.ACTIVITY_TASK_STARTED,
                {
                    "scheduled_event_id": scheduled,
                    "attempt": 1,
                    "identity": "bench",
                    "started_time": self.clock.isoformat(),
                    "last_failure": None,
                },
            )
            self.append(
                types.ACTIVITY_TASK_COMPLETED,
                {
                    "scheduled_event_id": scheduled,
                    "started_event_id": started.event_id,
                    "attempt": 1,
                    "result": payloads[0],
                },
            )
        self._open.clear()


def _sequence_workflow() -> Any:
    from bench.app.workflows import BenchSequenceWorkflow

    return BenchSequenceWorkflow


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def start(steps: int) -> MemoryHistory:
    """A run of ``steps`` sequential activities after its first (cold) task, the first
    activity's completion pending."""
    run = MemoryHistory(_sequence_workflow(), steps)
    run.record(run.cold_task())
    run.complete_activities()
    return run


def cached_step(run: MemoryHistory) -> tuple[int, float, float]:
    """Run the pending task on the cached path and record it; the next completion pending.

    Returns (history length the task saw, seconds in continue_workflow_task, seconds in
    the worker's ``awaits_activity`` check that follows it)."""
    length = len(run.events)
    seconds, result = _timed(run.cached_task)
    waits, awaits = _timed(lambda: result.instance.awaits_activity)
    if not awaits:
        raise AssertionError("The instance no longer awaits an activity.")
    run.record(result)
    run.complete_activities()
    return length, seconds, waits


def early_cached_step(at_step: int = 3) -> tuple[int, float, float]:
    """The cached task of step ``at_step`` (history ~4 x step events) of a fresh run."""
    run = start(at_step + 5)
    for _ in range(at_step - 2):
        cached_step(run)
    return cached_step(run)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _us(seconds: float) -> float:
    return round(seconds * 1e6, 1)


def replay_costs(events: int = 10_000, repeats: int = 5, window: int = 200) -> dict[str, Any]:
    """Cold replay of an ``events``-event history; cached tasks at its start and its end.

    The cached task of the last ``window`` steps before ``events`` is timed interleaved
    with that of step 3 of ``window`` fresh runs, so both see the same machine load.
    """
    from durable_workflows._engine import replay_for_query, run_workflow_task

    steps = max(window + 1, (events - 1 + 3) // 4)
    started = time.perf_counter()
    run = start(steps + 1)  # one activity more: the last task schedules it, not completes
    while len(run.events) + 4 * window < events:
        cached_step(run)
    build_seconds = time.perf_counter() - started
    early, late = [], []
    for _ in range(window):
        early.append(early_cached_step())
        late.append(cached_step(run))
    history = list(run.events)  # the last activity's completion pending
    cold = []
    for _ in range(repeats):
        gc.collect()
        seconds, result = _timed(
            lambda: run_workflow_task(run.definition, run.info, history, run.clock)
        )
        if [type(c).__name__ for c in result.commands] != ["ScheduleActivityTask"]:
            raise AssertionError(f"Cold replay issued {result.commands!r}.")
        cold.append(seconds)
    query = []
    for _ in range(repeats):
        gc.collect()
        query.append(_timed(lambda: replay_for_query(run.definition, run.info, history))[0])
    early_p50 = statistics.median(s for _, s, _ in early)
    late_p50 = statistics.median(s for _, s, _ in late)
    return {
        "history_events": len(history),
        "steps": (len(history) - 1) // 4,
        "build_seconds": round(build_seconds, 3),
        "cold_replay": {
            "repeats": repeats,
            "median_ms": _ms(statistics.median(cold)),
            "min_ms": _ms(min(cold)),
            "max_ms": _ms(max(cold)),
            "per_1000_events_ms": _ms(statistics.median(cold) / len(history) * 1000),
        },
        "query_replay": {"repeats": repeats, "median_ms": _ms(statistics.median(query))},
        "cached_task": {
            "early": {
                "history_events": sorted({n for n, _, _ in early}),
                "samples": len(early),
                "p50_us": _us(early_p50),
                "mean_us": _us(statistics.fmean(s for _, s, _ in early)),
                "awaits_activity_p50_us": _us(statistics.median(w for _, _, w in early)),
            },
            "late": {
                "history_events": [late[0][0], late[-1][0]],
                "samples": len(late),
                "p50_us": _us(late_p50),
                "mean_us": _us(statistics.fmean(s for _, s, _ in late)),
                "awaits_activity_p50_us": _us(statistics.median(w for _, _, w in late)),
            },
            "ratio_p50": round(late_p50 / early_p50, 2),
            "ratio_with_awaits_activity_p50": round(
                statistics.median(s + w for _, s, w in late)
                / statistics.median(s + w for _, s, w in early),
                2,
            ),
        },
        "goals": {
            "cold_replay_seconds_max": COLD_REPLAY_GOAL_SECONDS,
            "cached_ratio_max": CACHED_RATIO_GOAL,
        },
    }
