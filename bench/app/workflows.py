from datetime import timedelta

from durable_workflows import RetryPolicy, workflow

with workflow.unsafe.imports_passed_through():
    from bench.app.activities import bench_noop, chaos_step


@workflow.defn
class BenchWorkflow:
    """One activity: three Celery messages (workflow task, activity task, workflow task)."""

    @workflow.run
    async def run(self, value: int) -> int:
        return await workflow.execute_activity(
            bench_noop, value, start_to_close_timeout=timedelta(seconds=60)
        )


@workflow.defn
class BenchSleepWorkflow:
    """One durable timer."""

    @workflow.run
    async def run(self, seconds: float) -> float:
        await workflow.sleep(seconds)
        return seconds


@workflow.defn
class ChaosWorkflow:
    """``len(naps) + 1`` activities in sequence, with a durable sleep of ``naps[i]`` after step i.

    Returns the activities' results in order. Attempts are short (``start_to_close``
    seconds) and retried after at most 2 s, so an attempt killed with its worker is
    timed out by the tick and retried quickly.
    """

    @workflow.run
    async def run(
        self, tag: int, naps: list[float], body_seconds: float, start_to_close: float
    ) -> list[int]:
        results = []
        for step in range(len(naps) + 1):
            if step:
                await workflow.sleep(naps[step - 1])
            results.append(
                await workflow.execute_activity(
                    chaos_step,
                    tag,
                    step,
                    body_seconds,
                    activity_id=f"step-{step}",
                    start_to_close_timeout=timedelta(seconds=start_to_close),
                    retry_policy=RetryPolicy(
                        initial_interval=timedelta(seconds=1),
                        maximum_interval=timedelta(seconds=2),
                    ),
                )
            )
        return results


@workflow.defn
class BenchSequenceWorkflow:
    """``steps`` activities one after another: the cost of a step, and of a long history.

    Each step adds four events (WorkflowTaskCompleted, ActivityTaskScheduled,
    ActivityTaskStarted, ActivityTaskCompleted). Returns ``sum(range(steps))``.
    """

    @workflow.run
    async def run(self, steps: int) -> int:
        total = 0
        for step in range(steps):
            total += await workflow.execute_activity(
                bench_noop, step, start_to_close_timeout=timedelta(seconds=60)
            )
        return total


@workflow.defn
class BenchParkedWorkflow:
    """One activity on ``queue``, which no worker serves: the run stays out on it.

    A worker's sticky cache keeps such a run's instance (an activity is out), so N of
    them fill the cache of the workers that ran their first task.
    """

    @workflow.run
    async def run(self, queue: str) -> int:
        return await workflow.execute_activity(
            bench_noop, 0, task_queue=queue, start_to_close_timeout=timedelta(hours=1)
        )


@workflow.defn
class BenchNamedActivityWorkflow:
    """One activity, chosen by name (to compare activities of the same shape)."""

    @workflow.run
    async def run(self, activity: str, value: int) -> int:
        result: int = await workflow.execute_activity(
            activity, value, start_to_close_timeout=timedelta(seconds=60)
        )
        return result
