"""The hand-written statements on PostgreSQL write exactly what the ORM's path writes.

The ORM's path (the one other databases take) is the reference: each scenario runs
once on each path, and the rows left behind (execution, events, activities, timers)
must agree in every column but the ones that name the run or the moment.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.forms.models import model_to_dict

from durable_workflows import Client, WorkflowHandle
from durable_workflows._store import statements
from durable_workflows.models import ActivityTask, HistoryEvent, Timer, WorkflowExecution
from durable_workflows.testing import WorkflowEnvironment
from tests.testapp.workflows import CartWorkflow, DoubleWorkflow, FlakyWorkflow, SleeperWorkflow

pytestmark = pytest.mark.usefixtures("live_db")

client = Client()

#: Columns and attributes whose values name the run or the moment, not what happened.
VOLATILE = {
    "id",
    "execution",
    "workflow_id",
    "run_id",
    "start_time",
    "close_time",
    "expiration_time",
    "task_dispatch_after",
    "task_dispatched_at",
    "timestamp",
    "scheduled_time",
    "attempt_scheduled_time",
    "started_time",
    "dispatch_after",
    "dispatched_at",
    "timeout_at",
    "fire_at",
    "last_heartbeat_time",
    "worker_identity",
    "identity",
    "randomness_seed",
    "update_id",
    "stack_trace",
    "key",
}


def scrubbed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: scrubbed(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [scrubbed(v) for v in value]
    if isinstance(value, str) and value.startswith("lean-"):
        return "<key>"
    return value


def rows_of(handle: WorkflowHandle) -> dict[str, Any]:
    execution = WorkflowExecution.objects.get(run_id=handle.run_id)
    return scrubbed(
        {
            "execution": model_to_dict(execution),
            "events": [model_to_dict(e) for e in HistoryEvent.objects.filter(execution=execution)],
            "activities": [
                model_to_dict(a) for a in ActivityTask.objects.filter(execution=execution)
            ],
            "timers": [model_to_dict(t) for t in Timer.objects.filter(execution=execution)],
        }
    )


def double(key: str) -> WorkflowHandle:
    handle = client.start_workflow(DoubleWorkflow.run, 21, id=key, task_queue="default")
    assert handle.result() == 42
    return handle


def retried(key: str) -> WorkflowHandle:
    handle = client.start_workflow(FlakyWorkflow.run, key, 2, 5, id=key, task_queue="default")
    assert handle.result() == 3
    return handle


def cancelled_asleep(key: str) -> WorkflowHandle:
    handle = client.start_workflow(SleeperWorkflow.run, key, 3600.0, id=key, task_queue="default")
    handle.cancel()
    with pytest.raises(Exception, match="CANCELED"):
        handle.result()
    return handle


def updated_and_signalled(key: str) -> WorkflowHandle:
    handle = client.start_workflow(CartWorkflow.run, id=key, task_queue="default")
    assert handle.execute_update(CartWorkflow.add_doubled, 5) == 10
    handle.signal(CartWorkflow.checkout)
    assert handle.result() == 10
    return handle


@pytest.mark.parametrize(
    "scenario",
    [double, retried, cancelled_asleep, updated_and_signalled],
    ids=lambda f: f.__name__,
)
def test_both_paths_write_the_same_rows(
    scenario: Callable[[str], WorkflowHandle], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert statements.lean(), "these tests compare the PostgreSQL statements with the ORM"
    written = []
    for lean in (True, False):
        monkeypatch.setattr(statements, "lean", lambda lean=lean: lean)
        with WorkflowEnvironment.start_time_skipping():
            handle = scenario(f"lean-{uuid.uuid4().hex[:12]}")
        written.append(rows_of(handle))
    for part in written[0]:
        assert written[0][part] == written[1][part], part
    assert written[0]["events"], "the scenario wrote no events"


def test_the_comparison_sees_a_difference() -> None:
    # The scrubbing keeps what matters: two different runs do not compare equal.
    with WorkflowEnvironment.start_time_skipping():
        one = rows_of(double(f"lean-{uuid.uuid4().hex[:12]}"))
        other = rows_of(retried(f"lean-{uuid.uuid4().hex[:12]}"))
    assert one != other
