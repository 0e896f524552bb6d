"""Async activity completion over HTTP: ``POST activities/<task token>/complete/``,
``fail/`` and ``heartbeat/``, where the token alone authenticates the call (a third
party's webhook), against live PostgreSQL: in the test environment, and once with the
suite's real worker processes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from durable_workflows import Client
from durable_workflows.models import ActivityStatus, ActivityTask, WorkflowExecution
from durable_workflows.testing import WorkflowEnvironment
from tests.helpers import events_of, types_of, wait_until
from tests.testapp.models import WebhookRequest
from tests.testapp.workflows import WebhookWorkflow

client = Client()


def activity_url(token: str, action: str) -> str:
    return f"/api/activities/{token}/{action}/"


@pytest.fixture
def webhook(live_db) -> APIClient:
    """A caller with no login and no CSRF token, as a third party's webhook is."""
    return APIClient(enforce_csrf_checks=True)


@pytest.fixture
def key() -> str:
    return f"http-webhook-{uuid.uuid4().hex[:12]}"


def post(api: APIClient, path: str, body: Any) -> Any:
    return api.post(path, body, format="json")


def error_code(response: Any) -> str:
    code: str = response.json()["error"]["code"]
    return code


def test_a_webhook_completes_the_activity_and_a_second_call_is_refused(webhook, key):
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(WebhookWorkflow.run, key, id=key)
        (token,) = WebhookRequest.tokens(key)

        response = post(webhook, activity_url(token, "complete"), {"result": "paid"})
        assert response.status_code == 200, response.content
        assert response.json() == {"status": "COMPLETED"}
        assert handle.result() == "paid"

        again = post(webhook, activity_url(token, "complete"), {"result": "paid twice"})
        assert again.status_code == 409, again.content
        assert error_code(again) == "activity_already_completed"
        late_failure = post(webhook, activity_url(token, "fail"), {"error": {"message": "x"}})
        assert late_failure.status_code == 409
    assert types_of(events_of(handle)).count("ActivityTaskCompleted") == 1


@pytest.mark.parametrize("action", ["complete", "fail", "heartbeat"])
@pytest.mark.parametrize(
    "forged",
    [
        pytest.param(lambda token: token[:-2] + ("xy" if token[-2:] != "xy" else "yz"), id="sig"),
        pytest.param(lambda token: "eyJhIjoxLCJuIjoxfQ.c2lnbmF0dXJl", id="made-up"),
        pytest.param(lambda token: "not-a-token", id="garbage"),
    ],
)
def test_a_forged_token_gets_403_and_records_nothing(webhook, key, action, forged):
    body = {"complete": {"result": 1}, "fail": {"error": {"message": "no"}}, "heartbeat": {}}
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(WebhookWorkflow.run, key, id=key)
        (token,) = WebhookRequest.tokens(key)
        response = post(webhook, activity_url(forged(token), action), body[action])
        assert response.status_code == 403, response.content
        assert error_code(response) == "invalid_task_token"
        # A forged token learns nothing about bodies either: 403 before the body is read.
        assert post(webhook, activity_url(forged(token), action), []).status_code == 403
        assert ActivityTask.objects.get(execution__workflow_id=key).status == "STARTED"
        handle.terminate(reason="test cleanup")


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("complete", [1, 2], None),  # not an object
        ("fail", {}, "error"),
        ("fail", {"error": "declined"}, "error"),
        ("fail", {"error": {"message": "x", "non_retryable": "maybe"}}, "error.non_retryable"),
        ("fail", {"error": {"message": "x", "details": "not a list"}}, "error.details"),
        ("heartbeat", {"details": {"not": "a list"}}, "details"),
    ],
)
def test_a_body_of_the_wrong_shape_gets_400_naming_the_field(webhook, key, action, body, field):
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(WebhookWorkflow.run, key, id=key)
        (token,) = WebhookRequest.tokens(key)
        response = post(webhook, activity_url(token, action), body)
        assert response.status_code == 400, response.content
        if field is not None:
            assert response.json()["error"]["field"] == field
        assert ActivityTask.objects.get(execution__workflow_id=key).status == "STARTED"
        handle.terminate(reason="test cleanup")


def test_a_body_that_is_not_json_or_too_large_is_refused_with_a_clear_message(webhook, key):
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(WebhookWorkflow.run, key, id=key)
        (token,) = WebhookRequest.tokens(key)
        url = activity_url(token, "complete")

        not_json = webhook.post(url, b'{"result": ', content_type="application/json")
        assert not_json.status_code == 400
        assert "not valid JSON" in not_json.json()["error"]["message"]

        # Within the request limit, over the payload limit (MAX_PAYLOAD_BYTES, 2 MB).
        too_big_a_result = post(webhook, url, {"result": "x" * 2_100_000})
        assert too_big_a_result.status_code == 400
        assert error_code(too_big_a_result) == "invalid_payload"

        too_big_a_body = post(webhook, url, {"result": "x" * 2_200_000})
        assert too_big_a_body.status_code == 413
        assert "limit" in too_big_a_body.json()["error"]["message"]

        assert ActivityTask.objects.get(execution__workflow_id=key).status == "STARTED"
        assert post(webhook, url, {}).json() == {"status": "COMPLETED"}  # result: null
        assert handle.result() is None


def test_a_failure_over_http_reaches_the_workflow_as_activity_error(webhook, key):
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(WebhookWorkflow.run, key, 3600.0, None, 3, id=key)
        (token,) = WebhookRequest.tokens(key)
        error = {"message": "card declined", "type": "Declined", "non_retryable": True}
        response = post(webhook, activity_url(token, "fail"), {"error": error})
        assert response.status_code == 200, response.content
        assert response.json() == {"status": "FAILED"}
        assert handle.result() == {
            "error": "ApplicationError",
            "type": "Declined",
            "message": "card declined",
            "attempt": 1,
        }


def test_a_retryable_failure_over_http_says_it_will_be_retried(webhook, key):
    with WorkflowEnvironment.start_time_skipping() as env:
        handle = client.start_workflow(WebhookWorkflow.run, key, 3600.0, None, 3, id=key)
        (first,) = WebhookRequest.tokens(key)
        body = {"error": {"message": "busy"}, "last_heartbeat_details": [{"page": 2}]}
        response = post(webhook, activity_url(first, "fail"), body)
        assert response.json() == {"status": ActivityStatus.SCHEDULED}
        env.sleep(2)
        _, second = WebhookRequest.tokens(key)
        assert post(webhook, activity_url(first, "heartbeat"), {}).status_code == 409
        assert post(webhook, activity_url(second, "complete"), {"result": 2}).status_code == 200
        assert handle.result() == 2


def test_heartbeats_over_http_report_a_requested_cancellation(webhook, key):
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(WebhookWorkflow.run, key, 3600.0, 30.0, id=key)
        (token,) = WebhookRequest.tokens(key)
        url = activity_url(token, "heartbeat")
        beat = post(webhook, url, {"details": ["step 1"]})
        assert beat.status_code == 200, beat.content
        assert beat.json() == {"cancel_requested": False}
        assert ActivityTask.objects.get(execution__workflow_id=key).heartbeat_details == ["step 1"]
        handle.cancel()
        assert post(webhook, url, {"details": ["step 2"]}).json() == {"cancel_requested": True}
        handle.terminate(reason="test cleanup")


@pytest.mark.usefixtures("workers")
def test_with_real_workers_a_webhook_finishes_the_workflow(webhook, key):
    handle = client.start_workflow(WebhookWorkflow.run, key, id=key)
    (token,) = wait_until(lambda: WebhookRequest.tokens(key), what="the activity's task token")
    response = post(webhook, activity_url(token, "complete"), {"result": {"approved": True}})
    assert response.status_code == 200, response.content
    assert handle.result(timeout=30) == {"approved": True}
    assert post(webhook, activity_url(token, "complete"), {"result": 1}).status_code == 409
    assert WorkflowExecution.objects.get(workflow_id=key).status == "COMPLETED"
