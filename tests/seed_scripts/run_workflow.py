# Seed 001's run_workflow.py. Only the import lines differ from the seed.
import asyncio

from durable_workflows.client import Client

from example_project.app.workflows import SayHello


async def main():
    # Connect to the Temporal server
    client = await Client.connect("localhost:7233")

    # Start the workflow
    result = await client.execute_workflow(
        SayHello.run,
        "Alice",
        id="hello-world-workflow-id-001",
        task_queue="my-task-queue",
    )

    print(f"Workflow result: {result}")


if __name__ == "__main__":
    asyncio.run(main())
