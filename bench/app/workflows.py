from datetime import timedelta

from durable_workflows import workflow

with workflow.unsafe.imports_passed_through():
    from bench.app.activities import bench_noop


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
