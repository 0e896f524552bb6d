"""Item 10: what a handler raised reaches an API caller only if user code meant it for the
caller (an ApplicationError / FailureError); anything else gives its type and a reference,
and the text goes to the server log under that reference."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest

from durable_workflows.exceptions import WorkflowQueryFailedError, WorkflowUpdateFailedError

from .workflows import LeakyWorkflow

API = "/api/workflows/"
SECRET = "secret-internal-detail"


def url(workflow_id: str, *rest: str) -> str:
    return API + "/".join([quote(workflow_id, safe="/"), *rest]) + "/"


@pytest.fixture
def leaky(client, unique, idle_queue) -> str:
    wid = f"hard-leaky-{unique}"
    client.start_workflow(LeakyWorkflow.run, id=wid, task_queue=idle_queue)
    return wid


def logged_with(caplog, reference: str) -> str:
    records = [r for r in caplog.records if reference in r.getMessage()]
    assert records, f"nothing logged with reference {reference}"
    record = records[0]
    assert record.name == "durable_workflows.api" and record.levelno == logging.ERROR
    text = record.getMessage()
    if record.exc_info:
        text += "\n" + logging.Formatter().formatException(record.exc_info)
    return text


def test_a_query_raising_a_bug_answers_its_type_and_a_reference_not_its_text(
    admin_api, leaky, caplog
):
    with caplog.at_level(logging.ERROR, logger="durable_workflows.api"):
        response = admin_api.post(url(leaky, "queries", "broken"), {}, format="json")
    assert response.status_code == 422, response.content
    assert SECRET not in response.content.decode()
    error = response.json()["error"]
    assert error["code"] == "query_failed"
    assert "Query 'broken' failed: RuntimeError" in error["message"]
    assert error["reference"] in error["message"]
    assert SECRET in logged_with(caplog, error["reference"])


def test_an_update_validator_raising_a_bug_answers_its_type_and_a_reference(
    admin_api, leaky, caplog
):
    with caplog.at_level(logging.ERROR, logger="durable_workflows.api"):
        response = admin_api.post(url(leaky, "updates", "change"), {"args": [-1]}, format="json")
    assert response.status_code == 422, response.content
    assert SECRET not in response.content.decode()
    error = response.json()["error"]
    assert error["code"] == "update_failed"
    assert "Update 'change' was rejected: RuntimeError" in error["message"]
    assert SECRET in logged_with(caplog, error["reference"])


def test_application_errors_are_meant_for_the_caller_and_shown(admin_api, leaky):
    query = admin_api.post(url(leaky, "queries", "refuses"), {}, format="json")
    assert query.status_code == 422, query.content
    assert "no such order: 42" in query.json()["error"]["message"]
    assert "reference" not in query.json()["error"]
    update = admin_api.post(url(leaky, "updates", "change"), {"args": [0]}, format="json")
    assert update.status_code == 422, update.content
    assert "value must not be zero" in update.json()["error"]["message"]


def test_the_python_client_in_process_still_sees_the_full_text(client, leaky):
    handle = client.get_workflow_handle(leaky)
    with pytest.raises(WorkflowQueryFailedError, match=SECRET):
        handle.query(LeakyWorkflow.broken)
    with pytest.raises(WorkflowUpdateFailedError, match=SECRET):
        handle.execute_update(LeakyWorkflow.change, -1)
