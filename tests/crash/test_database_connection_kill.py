"""A workflow task's database connection killed inside its transaction.

Every test that kills or blocks a worker gives it a queue of its own, so the session
workers (queue "default", which also run the tick) keep ticking for everyone.
Timing bounds are generous: the machine running these is shared and loaded.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from durable_workflows import Client
from durable_workflows.models import ActivityTask, WorkflowExecution
from tests.helpers import assert_well_formed, events_of, types_of, wait_until
from tests.procs import worker_pool
from tests.testapp.models import SideEffect
from tests.testapp.workflows import GatherWorkflow

pytestmark = pytest.mark.usefixtures("workers")

client = Client()


# --- a database connection killed mid-task --------------------------------------------------------


@pytest.mark.crash
def test_database_connection_killed_inside_a_workflow_task_leaves_nothing_half_written(
    worker_env, pause_dir, unique
):
    queue = f"q-{unique}"
    handle = client.start_workflow(
        GatherWorkflow.run, unique, 3, id=f"pgkill-{unique}", task_queue=queue
    )
    execution_pk = WorkflowExecution.objects.get(run_id=handle.run_id).pk
    pause = Path(pause_dir) / f"insert-{execution_pk}"
    pause.touch()
    with worker_pool(worker_env, queue, f"pgkill-{unique}") as (worker,):
        held = Path(f"{pause}.held")
        wait_until(held.exists, timeout=30, what="the workflow task to hold inside its transaction")
        backend_pid = int(held.read_text())
        # The events are inserted, not committed; the run's row is locked by that backend.
        assert types_of(events_of(handle)) == ["WorkflowExecutionStarted"]
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
            assert cursor.fetchone()[0] is True
        pause.unlink()

        assert handle.result(timeout=60) == [f"step-{i} done" for i in range(3)]
        # The task that lost its connection failed; the tick's redrive ran it again.
        assert "terminating connection due to administrator command" in worker.log()

    events = events_of(handle)
    assert_well_formed(events)
    assert types_of(events)[:5] == [
        "WorkflowExecutionStarted",
        "WorkflowTaskCompleted",
        "ActivityTaskScheduled",
        "ActivityTaskScheduled",
        "ActivityTaskScheduled",
    ]
    assert types_of(events).count("ActivityTaskScheduled") == 3
    assert ActivityTask.objects.filter(execution__run_id=handle.run_id).count() == 3
    for i in range(3):
        assert SideEffect.count(unique, f"step-{i}") == 1


@pytest.mark.crash
def test_a_worker_whose_connection_was_terminated_between_tasks_carries_on(worker_env, unique):
    queue = f"q-{unique}"
    name = f"conn-{unique}"
    # Connections kept between tasks, as in production (CONN_MAX_AGE and CELERY_DB_REUSE_MAX).
    env = {**worker_env, "DW_TEST_APPLICATION_NAME": name, "DW_TEST_CONN_MAX_AGE": "60"}
    with worker_pool(env, queue, f"conn-{unique}"):
        first = client.start_workflow(
            GatherWorkflow.run, f"{unique}-a", 2, id=f"a-{unique}", task_queue=queue
        )
        assert first.result(timeout=60) == ["step-0 done", "step-1 done"]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = %s",
                [name],
            )
            assert cursor.fetchone()[0] >= 1  # the worker's idle connection, between tasks
        # Its next tasks must reconnect, not fail one after another until a restart.
        second = client.start_workflow(
            GatherWorkflow.run, f"{unique}-b", 2, id=f"b-{unique}", task_queue=queue
        )
        assert second.result(timeout=20) == ["step-0 done", "step-1 done"]
        assert second.describe().task_failure is None
