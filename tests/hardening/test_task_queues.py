"""Item 5: task queue names are validated, and ALLOWED_TASK_QUEUES may list the allowed ones."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from durable_workflows.conf import dw_settings
from durable_workflows.exceptions import InvalidArgumentError
from durable_workflows.models import WorkflowExecution

from .workflows import AnythingWorkflow

API = "/api/workflows/"


@pytest.mark.parametrize(
    "queue",
    [
        "../../etc/passwd",
        "a b",
        "queue\n",
        "q\x00",
        "-starts-with-dash",
        ".hidden",
        "x" * 101,
        "é",
    ],
)
def test_a_malformed_queue_is_refused_by_the_client_and_the_api(
    admin_api, client, unique, nothing_written, queue
):
    wid = f"hard-q-{unique}"
    with pytest.raises(InvalidArgumentError, match="not a valid name"):
        client.start_workflow(AnythingWorkflow.run, 1, id=wid, task_queue=queue)
    body = {"workflow_type": "HardeningAnything", "workflow_id": wid, "args": [1]}
    response = admin_api.post(API, {**body, "task_queue": queue}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] in {"invalid_arguments", "parse_error", "max_length"}


@pytest.mark.parametrize("queue", ["default", "q", "emails.high", "tenant:7@eu-west_1", "x" * 100])
def test_well_formed_queues_are_accepted(client, unique, queue):
    handle = client.start_workflow(AnythingWorkflow.run, 1, id=f"hard-q-{unique}", task_queue=queue)
    assert WorkflowExecution.objects.get(run_id=handle.run_id).task_queue == queue


def test_allowed_task_queues_limits_starts_to_the_listed_queues_and_the_default(
    settings, admin_api, client, unique
):
    settings.DURABLE_WORKFLOWS = {
        **settings.DURABLE_WORKFLOWS,
        "ALLOWED_TASK_QUEUES": [f"ok-{unique}", f"also-{unique}"],
    }
    before = WorkflowExecution.objects.count()
    with pytest.raises(
        InvalidArgumentError, match=rf"'other-{unique}' is not allowed.*ok-{unique}"
    ):
        client.start_workflow(
            AnythingWorkflow.run, 1, id=f"hard-a-{unique}", task_queue=f"other-{unique}"
        )
    response = admin_api.post(
        API,
        {
            "workflow_type": "HardeningAnything",
            "workflow_id": f"hard-a-{unique}",
            "args": [1],
            "task_queue": f"other-{unique}",
        },
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "ALLOWED_TASK_QUEUES" in response.json()["error"]["message"]
    assert WorkflowExecution.objects.count() == before

    client.start_workflow(
        AnythingWorkflow.run, 1, id=f"hard-a1-{unique}", task_queue=f"ok-{unique}"
    )
    client.start_workflow(AnythingWorkflow.run, 1, id=f"hard-a2-{unique}")  # the default queue
    assert WorkflowExecution.objects.count() == before + 2


@pytest.mark.parametrize("value", ["default", 3, [""], [None]])
def test_a_malformed_allowed_task_queues_setting_is_refused(settings, value):
    settings.DURABLE_WORKFLOWS = {"ALLOWED_TASK_QUEUES": value}
    with pytest.raises(ImproperlyConfigured, match="ALLOWED_TASK_QUEUES"):
        _ = dw_settings.ALLOWED_TASK_QUEUES


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "64", 201])
def test_a_malformed_max_payload_depth_setting_is_refused(settings, value):
    settings.DURABLE_WORKFLOWS = {"MAX_PAYLOAD_DEPTH": value}
    with pytest.raises(ImproperlyConfigured, match="MAX_PAYLOAD_DEPTH"):
        _ = dw_settings.MAX_PAYLOAD_DEPTH


def test_the_new_settings_have_their_defaults(settings):
    del settings.DURABLE_WORKFLOWS
    assert dw_settings.MAX_PAYLOAD_DEPTH == 64
    assert dw_settings.ALLOWED_TASK_QUEUES is None
