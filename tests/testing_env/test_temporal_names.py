"""Names where Temporal has them: the client's errors and enums, ``FailureError.failure`` for
code that walks a failure chain, Temporal's tag on task-failure log records, and
``describe().raw_description.pending_activities``."""

from __future__ import annotations

import logging

import pytest

from durable_workflows import _worker
from durable_workflows._store import claim_attempt, record_heartbeat
from durable_workflows._transport import CeleryTransport
from durable_workflows.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowUpdateStage,
)
from durable_workflows.common import PendingActivityState
from durable_workflows.exceptions import ActivityError, ApplicationError
from durable_workflows.models import ActivityTask, WorkflowStatus
from durable_workflows.testing import WorkflowEnvironment, WorkflowTaskFailedError
from tests.testapp.workflows import BuggyWorkflow, EchoWorkflow, FlakyWorkflow

pytestmark = pytest.mark.usefixtures("live_db")

client = Client()


def test_the_status_enum_has_every_stored_status_and_equals_its_string():
    assert {s.value for s in WorkflowExecutionStatus} == set(WorkflowStatus.values)
    assert WorkflowExecutionStatus.RUNNING == "RUNNING"
    assert (
        WorkflowUpdateStage.ADMITTED < WorkflowUpdateStage.ACCEPTED < WorkflowUpdateStage.COMPLETED
    )


def test_describe_and_list_report_the_status_as_the_enum(unique):
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(
            EchoWorkflow.run, "hi", id=f"names-{unique}", task_queue=f"names-{unique}"
        )
        assert handle.result() == "hi"
    description = handle.describe()
    assert description.status is WorkflowExecutionStatus.COMPLETED
    assert description.status == "COMPLETED"
    [summary] = [s for s in client.list_workflows() if s.workflow_id == f"names-{unique}"]
    assert summary.status is WorkflowExecutionStatus.COMPLETED


def test_a_failure_chain_can_be_walked_through_the_errors_failure_structures(unique, caplog):
    with (
        WorkflowEnvironment.start_time_skipping(),
        caplog.at_level(logging.WARNING, logger="durable_workflows.activity"),
    ):
        handle = client.start_workflow(
            FlakyWorkflow.run, unique, 5, 2, id=f"chain-{unique}", task_queue=f"names-{unique}"
        )
        with pytest.raises(WorkflowFailureError) as caught:
            handle.result()

    activity_error = caught.value.cause
    assert isinstance(activity_error, ActivityError)
    chain = []
    failure = activity_error.failure
    while failure is not None:
        chain.append((failure.kind, failure.message))
        failure = failure.cause
    assert chain == [
        ("ActivityError", "Activity task failed"),
        ("ApplicationError", "attempt 2 failed on purpose"),
    ]
    application_error = activity_error.cause
    assert isinstance(application_error, ApplicationError)
    assert application_error.failure is not None
    assert application_error.failure.type == "FlakyError"
    assert activity_error.failure is not None
    assert activity_error.failure.cause == application_error.failure
    assert activity_error.failure.attempt == 2

    # Each failed attempt logged Temporal's record, with Temporal's tag.
    tagged = [
        r
        for r in caplog.records
        if getattr(r, "__temporal_error_identifier", None) == "ActivityFailure"
    ]
    assert len(tagged) == 2
    assert all(r.getMessage().startswith("Completing activity as failed") for r in tagged)
    assert all(r.exc_info and r.exc_info[0] is ApplicationError for r in tagged)


def test_a_workflow_task_failure_is_logged_with_temporals_tag(unique, tmp_path, caplog):
    with (
        WorkflowEnvironment.start_time_skipping(),
        caplog.at_level(logging.WARNING, logger="durable_workflows.worker"),
    ):
        handle = client.start_workflow(
            BuggyWorkflow.run,
            str(tmp_path / "no-fix"),
            id=f"buggy-{unique}",
            task_queue=f"names-{unique}",
        )
        with pytest.raises(WorkflowTaskFailedError):
            handle.result()
    tagged = [
        r
        for r in caplog.records
        if getattr(r, "__temporal_error_identifier", None) == "WorkflowTaskFailure"
    ]
    assert tagged, "no task-failure record carries Temporal's tag"
    assert all(f"buggy-{unique}" in r.getMessage() for r in tagged)
    assert all(r.exc_info and "a bug in workflow code" in str(r.exc_info[1]) for r in tagged)


def test_describe_offers_pending_activities_in_temporals_raw_shape(unique, monkeypatch, settings):
    # No worker serves the queue and no hint leaves: the test plays the worker's part.
    monkeypatch.setattr(CeleryTransport, "send", lambda self, hint: None)
    handle = client.start_workflow(
        EchoWorkflow.run, "raw", id=f"raw-{unique}", task_queue=f"raw-{unique}"
    )
    # Not kept for this process to run (eager execution): it waits for a worker, SCHEDULED.
    settings.DURABLE_WORKFLOWS = {**settings.DURABLE_WORKFLOWS, "MAX_EAGER_ACTIVITIES": 0}
    _worker.process_workflow_task(str(handle.describe().run_id))

    [scheduled] = handle.describe().raw_description.pending_activities
    assert scheduled.activity_type.name == "async_echo"
    assert scheduled.state is PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED
    assert scheduled.attempt == 1 and scheduled.last_started_time is None

    row = ActivityTask.objects.get(execution__workflow_id=f"raw-{unique}")
    claimed = claim_attempt(row.pk, 1, "host:42:7", row.scheduled_time)
    assert claimed is not None
    record_heartbeat(row.pk, 1, ["halfway"], row.scheduled_time)

    description = handle.describe()
    [started] = description.raw_description.pending_activities
    assert (
        started.activity_id
        == scheduled.activity_id
        == description.pending_activities[0].activity_id
    )
    assert started.state is PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
    assert started.last_worker_identity == "host:42:7"
    assert started.heartbeat_details == ["halfway"]
    assert started.last_started_time is not None
    assert started.last_failure is None
    assert description.status is WorkflowExecutionStatus.RUNNING
    handle.terminate("done looking")
