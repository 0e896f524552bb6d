"""Async activity completion: an activity hands its task token on and raises
``raise_complete_async()``; whoever holds the token settles the attempt through the
client's async activity handle. End to end on the database, in the test environment
(the worker path, in this process, time skipped)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from django.core import signing

from durable_workflows import Client, _task_tokens, activity
from durable_workflows._engine import EventType
from durable_workflows.client import AsyncActivityCancelledError
from durable_workflows.exceptions import (
    ActivityNotCancelRequestedError,
    ApplicationError,
    AsyncActivityAlreadyCompletedError,
    CancelledError,
    InvalidTaskTokenError,
    PayloadError,
)
from durable_workflows.models import ActivityStatus, ActivityTask, WorkflowStatus
from durable_workflows.testing import WorkflowEnvironment
from tests.helpers import events_of, types_of
from tests.testapp.models import WebhookRequest
from tests.testapp.workflows import WebhookWorkflow

pytestmark = pytest.mark.usefixtures("live_db")

client = Client()


def new_key() -> str:
    return f"webhook-{uuid.uuid4().hex[:12]}"


def the_activity(workflow_id: str) -> ActivityTask:
    return ActivityTask.objects.get(execution__workflow_id=workflow_id)


def test_the_activity_is_left_started_and_its_token_names_the_attempt() -> None:
    key = new_key()
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(WebhookWorkflow.run, key, id=key)
        (token,) = WebhookRequest.tokens(key)
        activity = the_activity(key)
        # raise_complete_async() recorded no outcome, and is not a failure.
        assert activity.status == ActivityStatus.STARTED
        assert activity.attempt == 1
        assert activity.last_failure is None
        assert activity.timeout_at is not None  # its deadlines still apply
        assert handle.describe().status == "RUNNING"
        assert "ActivityTaskCompleted" not in types_of(events_of(handle))
        assert _task_tokens.read(token) == (activity.pk, 1)
        handle.terminate(reason="test cleanup")
    # Only URL-safe characters: the token is a path segment of the HTTP API as it is.
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


@pytest.mark.parametrize("coroutine", [False, True], ids=["function", "coroutine"])
def test_completing_through_the_handle_finishes_the_workflow(coroutine: bool) -> None:
    key = new_key()
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(WebhookWorkflow.run, key, 3600.0, None, 1, coroutine, id=key)
        (token,) = WebhookRequest.tokens(key)
        client.get_async_activity_handle(task_token=token.encode()).complete("approved")
        assert handle.result() == "approved"
    history = events_of(handle)
    assert types_of(history).count("ActivityTaskCompleted") == 1
    started = next(e for e in history if e.event_type is EventType.ACTIVITY_TASK_STARTED)
    assert started.attributes["attempt"] == 1
    assert the_activity(key).status == ActivityStatus.COMPLETED


def test_a_second_completion_is_refused_and_records_nothing() -> None:
    key = new_key()
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(WebhookWorkflow.run, key, id=key)
        (token,) = WebhookRequest.tokens(key)
        activity_handle = client.get_async_activity_handle(task_token=token)
        activity_handle.complete("first")
        assert handle.result() == "first"
        for settle in (
            lambda: activity_handle.complete("second"),
            lambda: activity_handle.fail(ApplicationError("too late")),
            lambda: activity_handle.heartbeat("still here"),
        ):
            with pytest.raises(AsyncActivityAlreadyCompletedError, match="COMPLETED"):
                settle()
    assert types_of(events_of(handle)).count("ActivityTaskCompleted") == 1
    assert AsyncActivityAlreadyCompletedError.http_status == 409


def test_failing_through_the_handle_raises_activity_error_in_the_workflow() -> None:
    key = new_key()
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(WebhookWorkflow.run, key, 3600.0, None, 3, id=key)
        (token,) = WebhookRequest.tokens(key)
        client.get_async_activity_handle(task_token=token).fail(
            ApplicationError("card declined", type="Declined", non_retryable=True)
        )
        outcome = handle.result()
    assert outcome == {
        "error": "ApplicationError",
        "type": "Declined",
        "message": "card declined",
        "attempt": 1,
    }
    assert "ActivityTaskFailed" in types_of(events_of(handle))
    assert the_activity(key).status == ActivityStatus.FAILED


def test_a_retryable_failure_is_retried_under_a_new_token() -> None:
    key = new_key()
    with WorkflowEnvironment.start_time_skipping() as env:
        handle = client.start_workflow(WebhookWorkflow.run, key, 3600.0, None, 3, id=key)
        (first,) = WebhookRequest.tokens(key)
        client.get_async_activity_handle(task_token=first).fail(
            RuntimeError("try again"), last_heartbeat_details=["page 2"]
        )
        assert the_activity(key).status == ActivityStatus.SCHEDULED  # the backoff
        env.sleep(2)  # past the 1 s backoff: attempt 2 ran and handed out its own token
        first_again, second = WebhookRequest.tokens(key)
        assert first_again == first and second != first
        activity = the_activity(key)
        assert (activity.attempt, activity.status) == (2, ActivityStatus.STARTED)
        assert activity.heartbeat_details == ["page 2"]
        with pytest.raises(AsyncActivityAlreadyCompletedError, match="attempt 2"):
            client.get_async_activity_handle(task_token=first).complete("stale")
        client.get_async_activity_handle(task_token=second).complete("second time lucky")
        assert handle.result() == "second time lucky"


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param(lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"), id="altered"),
        pytest.param(
            lambda token: signing.Signer(
                key="not-our-key", salt=_task_tokens.SALT, sep="."
            ).sign_object({"a": _task_tokens.read(token)[0], "n": 1}),
            id="other-key",
        ),
        pytest.param(lambda token: "eyJhIjoxLCJuIjoxfQ", id="unsigned"),
        pytest.param(lambda token: b"\xff\xfe", id="not-ascii"),
        pytest.param(lambda token: "", id="empty"),
    ],
)
def test_a_forged_token_is_refused_and_records_nothing(forged) -> None:
    key = new_key()
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(WebhookWorkflow.run, key, id=key)
        (token,) = WebhookRequest.tokens(key)
        activity_handle = client.get_async_activity_handle(task_token=forged(token))
        with pytest.raises(InvalidTaskTokenError):
            activity_handle.complete("forged")
        with pytest.raises(InvalidTaskTokenError):
            activity_handle.heartbeat()
        assert the_activity(key).status == ActivityStatus.STARTED
        handle.terminate(reason="test cleanup")
    assert InvalidTaskTokenError.http_status == 403


def test_a_result_that_cannot_be_stored_is_refused_before_anything_is_written() -> None:
    key = new_key()
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(WebhookWorkflow.run, key, id=key)
        (token,) = WebhookRequest.tokens(key)
        activity_handle = client.get_async_activity_handle(task_token=token)
        with pytest.raises(PayloadError):
            activity_handle.complete(object())
        assert the_activity(key).status == ActivityStatus.STARTED
        activity_handle.complete("fine")
        assert handle.result() == "fine"


def test_heartbeats_through_the_handle_keep_the_attempt_alive() -> None:
    key = new_key()
    with WorkflowEnvironment.start_time_skipping() as env:
        handle = client.start_workflow(WebhookWorkflow.run, key, 3600.0, 10.0, id=key)
        (token,) = WebhookRequest.tokens(key)
        activity_handle = client.get_async_activity_handle(task_token=token)
        env.sleep(8)
        activity_handle.heartbeat("half way", 50)
        env.sleep(8)  # 16 s since the start: alive only thanks to the heartbeat at 8 s
        activity = the_activity(key)
        assert (activity.status, activity.attempt) == (ActivityStatus.STARTED, 1)
        assert activity.heartbeat_details == ["half way", 50]
        activity_handle.complete("done")
        assert handle.result() == "done"


def test_an_async_attempt_that_stops_heartbeating_times_out() -> None:
    key = new_key()
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(WebhookWorkflow.run, key, 3600.0, 10.0, id=key)
        outcome = handle.result()
    assert outcome["error"] == "TimeoutError"
    assert outcome["type"] == "HEARTBEAT"


def test_an_async_attempt_no_one_completes_times_out_and_is_retried_per_policy() -> None:
    key = new_key()
    with WorkflowEnvironment.start_time_skipping() as env:
        began = env.now()
        handle = client.start_workflow(WebhookWorkflow.run, key, 10.0, None, 2, id=key)
        outcome = handle.result()
        took = (env.now() - began).total_seconds()
    assert outcome == {
        "error": "TimeoutError",
        "type": "START_TO_CLOSE",
        "message": outcome["message"],
        "attempt": 2,
    }
    # Two attempts of 10 s each, with the 1 s backoff between them.
    assert 21 <= took < 30
    first, second = WebhookRequest.tokens(key)
    assert _task_tokens.read(first)[1] == 1 and _task_tokens.read(second)[1] == 2
    with pytest.raises(AsyncActivityAlreadyCompletedError):
        client.get_async_activity_handle(task_token=second).complete("too late")
    history = types_of(events_of(handle))
    assert history.count("ActivityTaskTimedOut") == 1
    assert "ActivityTaskCompleted" not in history


def test_a_cancelled_activity_heartbeat_raises_and_reports_the_cancellation() -> None:
    key = new_key()
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(WebhookWorkflow.run, key, id=key)
        (token,) = WebhookRequest.tokens(key)
        activity_handle = client.get_async_activity_handle(task_token=token)
        with pytest.raises(ActivityNotCancelRequestedError):
            activity_handle.report_cancellation()  # no one asked yet
        activity_handle.heartbeat("working")  # no cancellation: returns
        handle.cancel()
        with pytest.raises(AsyncActivityCancelledError) as raised:
            activity_handle.heartbeat("still working")
        assert isinstance(raised.value, CancelledError)  # what API.md promises
        activity_handle.report_cancellation("stopped")
        assert the_activity(key).status == ActivityStatus.CANCELED
        assert handle.result() == "cancelled"
    history = events_of(handle)
    canceled = next(e for e in history if e.event_type is EventType.ACTIVITY_TASK_CANCELED)
    assert canceled.attributes["failure"]["details"] == ["stopped"]


def test_a_token_of_a_closed_run_is_refused() -> None:
    key = new_key()
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(WebhookWorkflow.run, key, id=key)
        (token,) = WebhookRequest.tokens(key)
        handle.terminate(reason="no longer needed")
        with pytest.raises(AsyncActivityAlreadyCompletedError, match="TERMINATED"):
            client.get_async_activity_handle(task_token=token).complete("late")
    assert handle.describe().status == WorkflowStatus.TERMINATED


def test_the_temporal_shaped_client_completes_with_awaitable_calls() -> None:
    key = new_key()
    with WorkflowEnvironment.start_time_skipping() as env:

        async def main() -> object:
            handle = await env.client.start_workflow(WebhookWorkflow.run, key, id=key)
            (token,) = await asyncio.to_thread(WebhookRequest.tokens, key)
            activity_handle = env.client.get_async_activity_handle(task_token=token.encode())
            await activity_handle.heartbeat("almost")
            await activity_handle.complete("awaited")
            return await handle.result()

        assert asyncio.run(main()) == "awaited"


def test_raise_complete_async_outside_an_activity_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="inside an activity"):
        activity.raise_complete_async()
