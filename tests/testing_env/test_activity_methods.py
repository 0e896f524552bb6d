"""A worker given ``instance.method`` runs that instance's method for every attempt; the
workflow names the class's method with ``execute_activity_method``."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from durable_workflows import RetryPolicy, activity, workflow
from durable_workflows.client import Client
from durable_workflows.exceptions import ActivityError, WorkflowFailureError
from durable_workflows.testing import WorkflowEnvironment
from durable_workflows.worker import Worker

pytestmark = pytest.mark.usefixtures("live_db")

TIMEOUT = timedelta(seconds=30)


class Ledger:
    """Stands for an activity class holding a client (a database, an HTTP session)."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.entries: list[str] = []

    @activity.defn(name="EnvTestLedgerRecord")
    def record(self, entry: str) -> int:
        self.entries.append(entry)
        return len(self.entries)

    @activity.defn(name="EnvTestLedgerOwner")
    async def owner_of(self, entry: str) -> str:
        await asyncio.sleep(0)
        return f"{entry} by {self.owner}"


@workflow.defn(name="EnvTestLedgerWorkflow")
class LedgerWorkflow:
    @workflow.run
    async def run(self, entries: list[str]) -> list[str]:
        out = []
        for entry in entries:
            count = await workflow.execute_activity_method(
                Ledger.record, entry, start_to_close_timeout=TIMEOUT
            )
            owner = await workflow.start_activity_method(
                Ledger.owner_of, entry, start_to_close_timeout=TIMEOUT
            )
            out.append(f"{count}: {owner}")
        return out


def test_the_workers_instance_runs_every_attempt_of_its_method_activities(unique):
    ledger = Ledger("ada")

    async def main() -> list[str]:
        async with (
            await WorkflowEnvironment.start_time_skipping() as env,
            Worker(
                env.client,
                task_queue=f"methods-{unique}",
                workflows=[LedgerWorkflow],
                activities=[ledger.record, ledger.owner_of],
            ),
        ):
            result: list[str] = await env.client.execute_workflow(
                LedgerWorkflow.run,
                ["rent", "food"],
                id=f"ledger-{unique}",
                task_queue=f"methods-{unique}",
            )
            return result

    assert asyncio.run(main()) == ["1: rent by ada", "2: food by ada"]
    assert ledger.entries == ["rent", "food"]


class Unregistered:
    @activity.defn(name="EnvTestNeverRegistered")
    def work(self) -> str:
        return "unreachable"


@workflow.defn(name="EnvTestNoInstanceWorkflow")
class NoInstanceWorkflow:
    @workflow.run
    async def run(self) -> str:
        result: str = await workflow.execute_activity_method(
            Unregistered.work,
            start_to_close_timeout=TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
        return result


def test_a_method_activity_without_a_registered_instance_fails_with_the_fix(unique):
    with WorkflowEnvironment.start_time_skipping():
        handle = Client().start_workflow(
            NoInstanceWorkflow.run, id=f"no-instance-{unique}", task_queue=f"methods-{unique}"
        )
        with pytest.raises(WorkflowFailureError) as caught:
            handle.result()
    assert isinstance(caught.value.cause, ActivityError)
    message = str(caught.value.cause.cause)
    assert "is a method of Unregistered" in message
    assert "Worker(activities=[instance.method])" in message


def test_a_worker_that_starts_a_celery_process_refuses_instance_methods(unique):
    worker = Worker(None, task_queue=f"methods-{unique}", activities=[Ledger("bo").record])
    with pytest.raises(ImproperlyConfigured, match="cannot receive the instances"):
        asyncio.run(worker.run())
