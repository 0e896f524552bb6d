"""The same names as greetings_a, defined again (as two samples in one project would)."""

from durable_workflows import activity, workflow


@activity.defn
def sample_compose_greeting(name: str) -> str:
    return f"Bonjour, {name} !"


@workflow.defn
class SampleGreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"B says hi to {name}"
