"""Local activities: run in the workflow task, recorded as markers, never re-run on replay."""

from __future__ import annotations

import uuid

import pytest

from durable_workflows import Client
from durable_workflows._engine import EventType
from durable_workflows.exceptions import ActivityError, WorkflowFailureError
from durable_workflows.models import ActivityTask, WorkflowExecution
from durable_workflows.testing import WorkflowEnvironment
from tests.helpers import events_of
from tests.testapp.models import SideEffect
from tests.testapp.workflows import LocalStepsWorkflow

pytestmark = pytest.mark.usefixtures("live_db")

client = Client()


def test_a_local_activity_runs_once_and_replays_from_its_marker() -> None:
    key = f"local-{uuid.uuid4().hex[:12]}"
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(LocalStepsWorkflow.run, key, 2, 5, id=key)
        assert handle.result() == ["local-1 done", 3]
    # The second task replayed the first from the history: the body ran once.
    assert SideEffect.count(key, "local-1") == 1
    # Failed attempts rolled back their writes (a savepoint each); the third one stayed.
    assert SideEffect.count(key, "flaky") == 1
    execution = WorkflowExecution.objects.get(workflow_id=key)
    assert not ActivityTask.objects.filter(execution=execution).exists()
    markers = [e for e in events_of(handle) if e.event_type is EventType.MARKER_RECORDED]
    assert [m.attributes["marker_name"] for m in markers] == ["core_local_activity"] * 2
    assert markers[0].attributes["details"]["result"] == "local-1 done"
    assert markers[1].attributes["details"]["attempt"] == 3


def test_a_local_activity_that_runs_out_of_attempts_fails_with_activity_error() -> None:
    key = f"local-{uuid.uuid4().hex[:12]}"
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(LocalStepsWorkflow.run, key, 5, 2, id=key)
        with pytest.raises(WorkflowFailureError) as raised:
            handle.result()
    cause = raised.value.cause
    assert isinstance(cause, ActivityError)
    assert cause.attempt == 2
    assert "attempt 2 failed on purpose" in str(cause.cause)
