"""The test environment's Temporal shapes: start_local on the real clock, awaiting the
constructors and sleep()/shutdown() without a block, and ActivityEnvironment."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from durable_workflows import activity
from durable_workflows.exceptions import CancelledError
from durable_workflows.models import WorkflowExecution
from durable_workflows.testing import ActivityEnvironment, WorkflowEnvironment
from tests.testapp.time_workflows import NapWorkflow


@pytest.mark.usefixtures("live_db")
def test_start_local_keeps_the_real_clock_and_awaited_environments_need_no_block() -> None:
    async def scenario() -> tuple[bool, float]:
        env = await WorkflowEnvironment.start_local(namespace="ignored")
        try:
            began = time.monotonic()
            handle = await env.client.start_workflow(
                NapWorkflow.run, 1.0, id=f"local-{uuid.uuid4().hex[:10]}", task_queue="local-q"
            )
            await handle.result()
            return env.supports_time_skipping, time.monotonic() - began
        finally:
            await env.shutdown()

    skips, took = asyncio.run(scenario())
    assert skips is False
    assert took >= 1.0  # a one-second timer took a second


@pytest.mark.usefixtures("live_db")
def test_time_skipping_sleep_is_awaitable_and_moves_the_clock() -> None:
    async def scenario() -> float:
        env = await WorkflowEnvironment.start_time_skipping()
        try:
            assert env.supports_time_skipping
            handle = await env.client.start_workflow(
                NapWorkflow.run, 3600.0, id=f"skip-{uuid.uuid4().hex[:10]}", task_queue="skip-q"
            )
            began = time.monotonic()
            await env.sleep(3601)
            execution = await asyncio.to_thread(
                lambda: WorkflowExecution.objects.get(run_id=handle.run_id).status
            )
            assert execution == "COMPLETED"
            return time.monotonic() - began
        finally:
            await env.shutdown()

    assert asyncio.run(scenario()) < 30  # an hour passed, not in real time


@activity.defn(name="EnvTestSyncWork")
def sync_work(steps: int) -> str:
    for step in range(steps):
        activity.heartbeat(step)
    return f"{activity.info().activity_type} did {steps}"


@activity.defn(name="EnvTestAsyncWork")
async def async_work() -> str:
    activity.heartbeat("waiting")
    await asyncio.sleep(60)
    return "finished"


def test_activity_environment_runs_a_sync_activity_and_captures_heartbeats() -> None:
    env = ActivityEnvironment()
    beats: list[tuple[object, ...]] = []
    env.on_heartbeat = lambda *details: beats.append(details)
    assert env.run(sync_work, 3) == "EnvTestSyncWork did 3"
    assert beats == [(0,), (1,), (2,)]


def test_a_cancelled_sync_activity_raises_from_heartbeat() -> None:
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: env.cancel()  # cancelled after the first beat
    with pytest.raises(CancelledError):
        env.run(sync_work, 3)


def test_cancel_reaches_an_async_activity_where_it_awaits() -> None:
    env = ActivityEnvironment()

    async def scenario() -> None:
        task = asyncio.ensure_future(env.run(async_work))
        await asyncio.sleep(0.05)
        env.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
