"""A greeting workflow and activity, named as in another module (greetings_b)."""

from datetime import timedelta

from durable_workflows import activity, workflow


@activity.defn
def sample_compose_greeting(name: str) -> str:
    return f"Hello, {name}!"


@workflow.defn
class SampleGreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            "sample_compose_greeting", name, start_to_close_timeout=timedelta(seconds=10)
        )
