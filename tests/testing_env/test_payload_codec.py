"""PAYLOAD_CODEC wraps every stored payload; code, client, API and admin see plain values.

Runs in a WorkflowEnvironment, so the codec set here is the one every part uses.
"""

from __future__ import annotations

import uuid

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from durable_workflows import Client
from durable_workflows.models import ActivityTask, WorkflowExecution
from durable_workflows.testing import WorkflowEnvironment
from example_project.app.workflows import SignupWorkflow
from tests.testapp.workflows import CartWorkflow

pytestmark = pytest.mark.usefixtures("live_db")

client = Client()
CODEC = "tests.testapp.codecs.ReversingCodec"


@pytest.fixture
def codec(settings) -> None:
    settings.DURABLE_WORKFLOWS = {**settings.DURABLE_WORKFLOWS, "PAYLOAD_CODEC": CODEC}


def stored_text(execution_pk: int) -> str:
    """Every payload-bearing column of one run, as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT input::text || result::text || memo::text"
            " FROM durable_workflows_workflowexecution WHERE id = %s",
            [execution_pk],
        )
        text = cursor.fetchone()[0]
        cursor.execute(
            "SELECT string_agg(attributes::text, ' ') FROM durable_workflows_historyevent"
            " WHERE execution_id = %s",
            [execution_pk],
        )
        text += cursor.fetchone()[0]
        cursor.execute(
            "SELECT coalesce(string_agg(input::text, ' '), '')"
            " FROM durable_workflows_activitytask WHERE execution_id = %s",
            [execution_pk],
        )
        return text + cursor.fetchone()[0]


def test_no_payload_is_stored_in_the_clear_and_every_reader_sees_it_plain(codec, unique):
    token = uuid.uuid4().hex  # in payloads only (the id and queue carry `unique`)
    secret = f"secret-{token}@example.com"
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(
            SignupWorkflow.run,
            secret,
            id=f"codec-{unique}",
            task_queue=f"env-{unique}",
            memo={"owner": f"memo-{token}"},
        )
        handle.signal(SignupWorkflow.email_verified)
        assert handle.result() == f"Welcome email sent to {secret}"
        events = handle.fetch_history().events
        assert events[0].attributes["input"] == [secret]
        assert events[0].attributes["memo"] == {"owner": f"memo-{token}"}
        assert handle.describe().input == [secret]
        assert handle.query(SignupWorkflow.get_status) == "active"

    execution = WorkflowExecution.objects.get(workflow_id=f"codec-{unique}")
    assert ActivityTask.objects.get(execution=execution).input == [secret]
    raw = stored_text(execution.pk)
    assert "__dw_codec__" in raw
    assert token not in raw  # neither the input, the result, the memo nor the activity's
    assert "email_verified" in raw  # names are not payloads: they stay readable


def test_update_arguments_and_results_are_wrapped_too(codec, unique):
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(
            CartWorkflow.run, id=f"codec-cart-{unique}", task_queue=f"env-{unique}"
        )
        assert handle.execute_update(CartWorkflow.add_item, 424242) == 424242
        handle.signal(CartWorkflow.checkout)
        assert handle.result() == 424242
    raw = stored_text(WorkflowExecution.objects.get(workflow_id=f"codec-cart-{unique}").pk)
    assert "424242" not in raw


def test_heartbeat_details_written_by_update_are_wrapped(codec, unique):
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(
            SignupWorkflow.run, "hb@example.com", id=f"codec-hb-{unique}", task_queue="q"
        )
        handle.signal(SignupWorkflow.email_verified)
        handle.result()
    activity = ActivityTask.objects.get(execution__workflow_id=f"codec-hb-{unique}")
    ActivityTask.objects.filter(pk=activity.pk).update(heartbeat_details=[f"page-{unique}"])
    assert ActivityTask.objects.get(pk=activity.pk).heartbeat_details == [f"page-{unique}"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT heartbeat_details::text FROM durable_workflows_activitytask WHERE id = %s",
            [activity.pk],
        )
        assert unique not in cursor.fetchone()[0]


def test_payloads_stored_before_the_codec_was_set_still_read(settings, unique):
    handle = client.start_workflow(
        SignupWorkflow.run, f"old-{unique}", id=f"codec-old-{unique}", task_queue=f"n-{unique}"
    )
    settings.DURABLE_WORKFLOWS = {**settings.DURABLE_WORKFLOWS, "PAYLOAD_CODEC": CODEC}
    assert handle.fetch_history().events[0].attributes["input"] == [f"old-{unique}"]
    handle.terminate("test over")


def test_an_encoded_payload_read_without_the_codec_says_what_is_missing(settings, unique):
    settings.DURABLE_WORKFLOWS = {**settings.DURABLE_WORKFLOWS, "PAYLOAD_CODEC": CODEC}
    handle = client.start_workflow(
        SignupWorkflow.run, "x@example.com", id=f"codec-gone-{unique}", task_queue=f"n-{unique}"
    )
    settings.DURABLE_WORKFLOWS = {
        k: v for k, v in settings.DURABLE_WORKFLOWS.items() if k != "PAYLOAD_CODEC"
    }
    with pytest.raises(ImproperlyConfigured, match="PAYLOAD_CODEC.. is not set in this process"):
        handle.fetch_history()
    settings.DURABLE_WORKFLOWS = {**settings.DURABLE_WORKFLOWS, "PAYLOAD_CODEC": CODEC}
    handle.terminate("test over")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("tests.testapp.codecs.Missing", "cannot be imported"),
        ("tests.testapp.codecs.NotACodec", "must have encode"),
    ],
)
def test_a_bad_codec_setting_is_a_system_check_error(settings, value, message):
    settings.DURABLE_WORKFLOWS = {**settings.DURABLE_WORKFLOWS, "PAYLOAD_CODEC": value}
    errors = [e for e in run_checks() if e.id == "durable_workflows.E001"]
    assert len(errors) == 1
    assert message in errors[0].msg
