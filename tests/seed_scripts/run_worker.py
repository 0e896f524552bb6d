# Seed 001's run_worker.py. Only the import lines differ from the seed.
import asyncio
import concurrent.futures

from durable_workflows.client import Client
from durable_workflows.worker import Worker

from example_project.app.activities import say_hello
from example_project.app.workflows import SayHello


async def main():
    client = await Client.connect("localhost:7233")

    with concurrent.futures.ThreadPoolExecutor(max_workers=100) as activity_executor:
        worker = Worker(
            client,
            task_queue="my-task-queue",
            workflows=[SayHello],
            activities=[say_hello],
            activity_executor=activity_executor,
        )
        await worker.run()


if __name__ == "__main__":
    asyncio.run(main())
