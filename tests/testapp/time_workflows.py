"""Workflows for the time, failure and crash tests: timers, timeouts, retries."""

import asyncio
from datetime import timedelta
from typing import Any

from durable_workflows import RetryPolicy, workflow

from .activities import record, wait_for_file

SHORT = timedelta(seconds=20)


def _seconds(options: dict[str, Any], key: str) -> timedelta | None:
    value = options.get(key)
    return timedelta(seconds=value) if value is not None else None


@workflow.defn
class RunActivityWorkflow:
    """Run one activity by name with the timeouts and retry policy given as plain data.

    ``options`` keys: task_queue, start_to_close, schedule_to_close, schedule_to_start,
    heartbeat (seconds), and retry: RetryPolicy arguments (intervals in seconds).
    """

    @workflow.run
    async def run(self, activity: str, args: list[Any], options: dict[str, Any]) -> Any:
        retry = dict(options.get("retry") or {})
        for key in ("initial_interval", "maximum_interval"):
            if retry.get(key) is not None:
                retry[key] = timedelta(seconds=retry[key])
        return await workflow.execute_activity(
            activity,
            args=args,
            task_queue=options.get("task_queue"),
            start_to_close_timeout=_seconds(options, "start_to_close"),
            schedule_to_close_timeout=_seconds(options, "schedule_to_close"),
            schedule_to_start_timeout=_seconds(options, "schedule_to_start"),
            heartbeat_timeout=_seconds(options, "heartbeat"),
            retry_policy=RetryPolicy(**retry) if retry else None,
        )


@workflow.defn
class NapWorkflow:
    """Sleep ``seconds``, then report when (by workflow time) it woke."""

    @workflow.run
    async def run(self, seconds: float) -> float:
        await workflow.sleep(seconds)
        return workflow.time()


@workflow.defn
class SleepUntilWorkflow:
    """Start ``timers`` timers that all fall due at ``wake_at`` (epoch seconds)."""

    @workflow.run
    async def run(self, wake_at: float, timers: int) -> int:
        delay = max(0.0, wake_at - workflow.time())
        await asyncio.gather(*(workflow.sleep(delay) for _ in range(timers)))
        return timers


@workflow.defn
class StepsWorkflow:
    """``steps`` activities with a short durable sleep after each: always something in flight."""

    @workflow.run
    async def run(self, key: str, steps: int, nap: float) -> int:
        for step in range(steps):
            await workflow.execute_activity(
                record, key, f"step-{step}", start_to_close_timeout=SHORT
            )
            await workflow.sleep(nap)
        return steps


@workflow.defn
class ConditionOrTimeoutWorkflow:
    """Wait for an activity's result to set a condition, giving up after ``timeout`` seconds."""

    def __init__(self) -> None:
        self.gate_open: bool | None = None

    @workflow.run
    async def run(self, gate_file: str, timeout: float, activity_queue: str) -> str:
        async def open_gate() -> None:
            self.gate_open = await workflow.execute_activity(
                wait_for_file,
                gate_file,
                60.0,
                task_queue=activity_queue,
                start_to_close_timeout=SHORT,
            )

        opener = asyncio.ensure_future(open_gate())
        try:
            await workflow.wait_condition(lambda: self.gate_open is not None, timeout=timeout)
        except TimeoutError:  # asyncio.TimeoutError is this builtin since Python 3.11
            return "timed out"
        await opener
        return "condition met"
