"""The async environment behaves as Temporal's: work runs beside the test's own code.

In the shape of Temporal's sample tests: an async test, the environment, a Worker, start,
cancel while the activity heartbeats, and a timer that fires while the test sleeps.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from durable_workflows.client import WorkflowExecutionStatus, WorkflowFailureError
from durable_workflows.exceptions import CancelledError
from durable_workflows.testing import WorkflowEnvironment
from durable_workflows.worker import Worker
from tests.testapp.activities import heartbeat_until_heartbeat_raises
from tests.testapp.models import SideEffect
from tests.testapp.workflows import HeartbeatingWorkWorkflow, ShortNapWorkflow

pytestmark = pytest.mark.usefixtures("live_db")


def test_start_returns_at_once_and_cancel_reaches_the_heartbeating_activity() -> None:
    key = f"hb-{uuid.uuid4().hex[:10]}"

    async def scenario() -> None:
        async with (
            await WorkflowEnvironment.start_time_skipping() as env,
            Worker(
                env.client,
                task_queue="hb-q",
                workflows=[HeartbeatingWorkWorkflow],
                activities=[heartbeat_until_heartbeat_raises],
            ),
        ):
            handle = await env.client.start_workflow(
                HeartbeatingWorkWorkflow.run, key, id=key, task_queue="hb-q"
            )
            # start_workflow returned while the activity runs on a worker thread.
            for _ in range(100):
                if (await handle.describe()).pending_activities:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # a few heartbeats
            await handle.cancel()
            with pytest.raises(WorkflowFailureError) as raised:
                await handle.result()
            assert isinstance(raised.value.cause, CancelledError)
            assert (await handle.describe()).status is WorkflowExecutionStatus.CANCELED

    asyncio.run(scenario())
    # The activity learned of the cancellation on a heartbeat, and stopped.
    assert SideEffect.count(key, "heartbeat-raised") == 1


def test_a_timer_fires_while_the_test_sleeps_on_the_real_clock() -> None:
    async def scenario() -> WorkflowExecutionStatus:
        async with await WorkflowEnvironment.start_time_skipping() as env:
            handle = await env.client.start_workflow(
                ShortNapWorkflow.run, 1.0, id=f"nap-{uuid.uuid4().hex[:10]}", task_queue="nap-q"
            )
            await asyncio.sleep(2.5)  # no one waits on the result: the clock is real
            status: WorkflowExecutionStatus = (await handle.describe()).status
            return status

    assert asyncio.run(scenario()) is WorkflowExecutionStatus.COMPLETED
