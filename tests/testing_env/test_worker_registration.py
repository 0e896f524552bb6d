"""Registration per worker: two definitions may share a name until one worker runs both."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from durable_workflows import _registration, _registry, activity
from durable_workflows.client import Client
from durable_workflows.exceptions import WorkflowDefinitionError
from durable_workflows.testing import WorkflowEnvironment
from durable_workflows.worker import Worker
from tests.testapp import greetings_a, greetings_b

pytestmark = pytest.mark.usefixtures("live_db")


@activity.defn(name="sample_compose_greeting")
def compose_greeting_mocked(name: str) -> str:
    return f"Mocked hello, {name}!"


def queue() -> str:
    return f"greet-{uuid.uuid4().hex[:10]}"


def test_a_worker_runs_the_definitions_it_lists_and_a_mock_under_the_real_name() -> None:
    task_queue = queue()

    async def scenario() -> str:
        client = await Client.connect("localhost:7233")
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[greetings_a.SampleGreetingWorkflow],
            activities=[compose_greeting_mocked],
        ):
            result: str = await client.execute_workflow(
                greetings_a.SampleGreetingWorkflow.run,
                "World",
                id=f"greet-{uuid.uuid4().hex[:10]}",
                task_queue=task_queue,
            )
            return result

    with WorkflowEnvironment.start_time_skipping():
        assert asyncio.run(scenario()) == "Mocked hello, World!"


def test_the_other_definition_runs_on_a_queue_that_lists_it() -> None:
    task_queue = queue()
    Worker(
        task_queue=task_queue,
        workflows=[greetings_a.SampleGreetingWorkflow],
        activities=[greetings_b.sample_compose_greeting],
    )
    with WorkflowEnvironment.start_time_skipping():
        result = Client().execute_workflow(
            greetings_a.SampleGreetingWorkflow.run,
            "Monde",
            id=f"g-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )
    assert result == "Bonjour, Monde !"


def test_a_name_nothing_chose_for_the_queue_fails_with_both_origins_and_the_fix() -> None:
    with pytest.raises(
        WorkflowDefinitionError, match="greetings_a.sample_compose_greeting"
    ) as raised:
        _registry.get_activity("sample_compose_greeting", queue())
    assert "greetings_b.sample_compose_greeting" in str(raised.value)
    assert "Worker(task_queue=" in str(raised.value)
    task_queue = queue()
    Worker(task_queue=task_queue, workflows=[greetings_a.SampleGreetingWorkflow])
    with WorkflowEnvironment.start_time_skipping() as env:
        handle = Client().start_workflow(
            greetings_a.SampleGreetingWorkflow.run,
            "X",
            id=f"g-{uuid.uuid4().hex}",
            task_queue=task_queue,
        )
        env.sleep(timedelta(seconds=3))
        # The activity cannot tell which definition to run: it fails, and is retried.
        [pending] = handle.describe().pending_activities
        assert pending.last_failure is not None
        assert "Two activity definitions" in pending.last_failure["message"]
        handle.terminate()


def test_one_worker_cannot_list_two_definitions_of_one_name() -> None:
    with pytest.raises(WorkflowDefinitionError, match="One worker cannot run two"):
        Worker(
            task_queue=queue(),
            activities=[greetings_a.sample_compose_greeting, greetings_b.sample_compose_greeting],
        )


def test_the_worker_process_it_starts_gets_the_same_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    task_queue = queue()
    worker = Worker(task_queue=task_queue, activities=[greetings_b.sample_compose_greeting])
    for name, value in worker.registration.items():
        monkeypatch.setenv(name, value)
    fresh = queue()
    monkeypatch.setenv(
        _registration.REGISTRATION_ENV,
        worker.registration[_registration.REGISTRATION_ENV].replace(task_queue, fresh),
    )
    _registration.apply_from_environment()  # what the new process's ready() does
    assert (
        _registry.get_activity("sample_compose_greeting", fresh).fn
        is greetings_b.sample_compose_greeting
    )
