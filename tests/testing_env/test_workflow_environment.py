"""testing.WorkflowEnvironment: workflows and activities in the test's process, time skipped.

The suite's own beat and workers may be running (other modules start them); each test
uses a task queue no worker serves, so whatever runs here ran in this process.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from durable_workflows import Client, _clock
from durable_workflows._transport import CeleryTransport
from durable_workflows.exceptions import (
    WorkflowFailureError,
    WorkflowResultTimeoutError,
    WorkflowUpdateFailedError,
)
from durable_workflows.testing import WorkflowEnvironment, WorkflowTaskFailedError
from durable_workflows.worker import Worker
from example_project.app.activities import compose_greeting
from example_project.app.workflows import GreetingWorkflow, SignupWorkflow
from tests.helpers import types_of
from tests.testapp.models import SideEffect
from tests.testapp.workflows import (
    ApprovalWorkflow,
    BuggyWorkflow,
    CartWorkflow,
    FlakyWorkflow,
    MonthlyReminderWorkflow,
)

pytestmark = pytest.mark.usefixtures("live_db")

client = Client()


@pytest.fixture
def queue(unique: str) -> str:
    return f"env-{unique}"


@pytest.fixture
def no_celery(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records any Celery message the code tries to send; the environment must send none."""
    sent: list[str] = []
    monkeypatch.setattr(CeleryTransport, "send", lambda self, hint: sent.append(hint.task_name))
    return sent


def test_a_month_of_sleep_and_hourly_retries_pass_in_moments(queue, unique, no_celery):
    wall = time.monotonic()
    with WorkflowEnvironment.start_time_skipping() as env:
        began = env.now()
        handle = client.start_workflow(
            MonthlyReminderWorkflow.run, unique, 30, 2, id=f"month-{unique}", task_queue=queue
        )
        outcome = handle.result()
        skipped = env.now() - began
        events = types_of(handle.fetch_history().events)
    assert time.monotonic() - wall < 10

    # 30 days, then attempt 1, a 1 h backoff, attempt 2, a 2 h backoff, attempt 3.
    assert outcome["attempts"] == 3
    assert outcome["hours"] == pytest.approx(30 * 24 + 3, abs=0.01)
    assert skipped >= timedelta(days=30, hours=3)
    assert SideEffect.count(unique, "flaky") == 3
    assert events.count("TimerFired") == 1
    assert events[-1] == "WorkflowExecutionCompleted"
    assert no_celery == []
    # Leaving the environment gives the real clock back.
    assert abs((_clock.now() - timezone.now()).total_seconds()) < 1


def test_a_signal_after_a_skipped_hour_meets_a_waiting_condition(queue, unique, no_celery):
    with WorkflowEnvironment.start_time_skipping() as env:
        handle = client.start_workflow(
            ApprovalWorkflow.run, "leave", id=f"approve-{unique}", task_queue=queue
        )
        env.sleep(timedelta(hours=1))
        assert handle.query(ApprovalWorkflow.is_approved) is False
        handle.signal(ApprovalWorkflow.approve, "ada")
        assert handle.result() == "leave: approved by ada"

        expiring = client.start_workflow(
            ApprovalWorkflow.run, "visa", id=f"expire-{unique}", task_queue=queue
        )
        assert expiring.result() == "visa: expired"  # the 1-day timeout, skipped
    assert no_celery == []


def test_updates_run_their_handler_and_validator_in_process(queue, unique):
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(CartWorkflow.run, id=f"cart-{unique}", task_queue=queue)
        assert handle.execute_update(CartWorkflow.add_item, 5) == 5
        assert handle.execute_update(CartWorkflow.add_item, 7) == 12
        with pytest.raises(WorkflowUpdateFailedError):
            handle.execute_update(CartWorkflow.add_item, -1)
        handle.signal(CartWorkflow.checkout)
        assert handle.result() == 12


def test_an_activity_that_keeps_failing_fails_the_workflow(queue, unique):
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(
            FlakyWorkflow.run, unique, 5, 2, id=f"flaky-{unique}", task_queue=queue
        )
        with pytest.raises(WorkflowFailureError) as raised:
            handle.result()
    assert "attempt 2 failed on purpose" in str(raised.value.cause.cause)


def test_a_bug_in_workflow_code_is_raised_not_retried_forever(queue, unique, tmp_path):
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(
            BuggyWorkflow.run, str(tmp_path / "no-fix"), id=f"bug-{unique}", task_queue=queue
        )
        with pytest.raises(WorkflowTaskFailedError, match="KeyError.*a bug in workflow code"):
            handle.result()


def test_waiting_for_a_signal_no_one_sends_says_so_at_once(queue, unique):
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(CartWorkflow.run, id=f"stuck-{unique}", task_queue=queue)
        with pytest.raises(WorkflowResultTimeoutError, match="no one sent"):
            handle.result()


def test_temporal_shaped_async_tests_port_with_changed_imports(queue, unique, no_celery):
    async def main() -> str:
        async with (
            await WorkflowEnvironment.start_time_skipping() as env,
            Worker(
                env.client,
                task_queue=queue,
                workflows=[GreetingWorkflow],
                activities=[compose_greeting],
            ),
        ):
            return await env.client.execute_workflow(
                GreetingWorkflow.run, "Ada", id=f"greet-{unique}", task_queue=queue
            )

    assert asyncio.run(main()) == "Hello, Ada!"
    assert no_celery == []


def test_runs_from_outside_the_environment_are_left_alone(queue, unique):
    outside = client.start_workflow(
        MonthlyReminderWorkflow.run, unique, 1, 0, id=f"outside-{unique}", task_queue=queue
    )
    with WorkflowEnvironment.start_time_skipping() as env:
        env.sleep(timedelta(days=2))
        assert outside.describe().status == "RUNNING"
        assert outside.describe().history_length == 1  # not even its first task ran
    outside.terminate("test over")


def test_only_one_environment_at_a_time():
    second = WorkflowEnvironment.start_time_skipping()
    with WorkflowEnvironment.start_time_skipping(), pytest.raises(RuntimeError, match="already"):
        second.__enter__()


def test_the_readme_example_signup_expires_after_a_day(queue, unique):
    with WorkflowEnvironment.start_time_skipping() as env:
        handle = client.start_workflow(
            SignupWorkflow.run, "a@b.c", id=f"signup-{unique}", task_queue=queue
        )
        env.sleep(timedelta(hours=23))
        assert handle.query(SignupWorkflow.get_status) == "waiting for email verification"
        assert handle.result() == "a@b.c: not verified within a day"
        assert handle.describe().close_time - handle.describe().start_time >= timedelta(days=1)
