"""@activity.defn(atomic=True): the body's writes and the completion commit together."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from durable_workflows import Client, activity
from durable_workflows.exceptions import WorkflowDefinitionError
from durable_workflows.testing import WorkflowEnvironment
from tests.helpers import wait_until
from tests.procs import worker_pool
from tests.testapp.models import SideEffect
from tests.testapp.time_workflows import RunActivityWorkflow

client = Client()

OPTIONS = {"start_to_close": 3, "retry": {"initial_interval": 0.5}}


def rows(key: str) -> list[int]:
    return sorted(SideEffect.objects.filter(key=key, name="row").values_list("attempt", flat=True))


@pytest.mark.crash
@pytest.mark.usefixtures("workers")
@pytest.mark.parametrize(
    ("activity_name", "rows_left"),
    [("atomic_gated_insert", [2]), ("plain_gated_insert", [1, 2])],
)
def test_a_worker_killed_before_the_body_returns(
    worker_env, pause_dir, unique, doomed, activity_name: str, rows_left: list[int]
) -> None:
    # Attempt 1 inserts its row, then blocks until its worker is killed; attempt 2 runs
    # through. Atomic: attempt 1's row never committed. Plain: it did (the test re-ran it).
    gates = Path(pause_dir) / f"gates-{unique}"
    gates.mkdir()
    (gates / "release-2").touch()
    handle = client.start_workflow(
        RunActivityWorkflow.run,
        activity_name,
        [unique, str(gates)],
        OPTIONS,
        id=f"atomic-kill-{unique}",
        task_queue=f"q-{unique}",
    )
    # An atomic row is not visible before commit: the body marks its insert with a file.
    wait_until((gates / "inserted-1").exists, what="attempt 1 to insert its row")
    doomed.kill9()
    with worker_pool(worker_env, f"q-{unique}", f"survivor-{unique}"):
        assert handle.result(timeout=60) == "attempt-2"
    assert rows(unique) == rows_left


@pytest.mark.crash
@pytest.mark.usefixtures("workers")
def test_a_superseded_attempts_late_completion_writes_nothing(
    worker_env, pause_dir, unique
) -> None:
    gates = Path(pause_dir) / f"gates-{unique}"
    gates.mkdir()
    (gates / "release-2").touch()
    queue = f"q-{unique}"
    with worker_pool(worker_env, queue, f"pair-{unique}", count=2):
        handle = client.start_workflow(
            RunActivityWorkflow.run,
            "atomic_gated_insert",
            [unique, str(gates)],
            OPTIONS,
            id=f"atomic-late-{unique}",
            task_queue=queue,
        )
        # Attempt 1 blocks past its start-to-close; attempt 2 runs on the other worker.
        assert handle.result(timeout=60) == "attempt-2"
        (gates / "release-1").touch()
        wait_until((gates / "done-1").exists, timeout=30, what="attempt 1's body to end")
    # The pool's warm shutdown let attempt 1 try to complete: refused, and rolled back.
    assert rows(unique) == [2]


@pytest.mark.usefixtures("live_db")
def test_an_atomic_body_that_raises_leaves_no_row_and_its_retry_leaves_one() -> None:
    key = f"atomic-raise-{uuid.uuid4().hex[:10]}"
    with WorkflowEnvironment.start_time_skipping():
        handle = client.start_workflow(
            RunActivityWorkflow.run,
            "atomic_insert_then_fail_once",
            [key],
            OPTIONS,
            id=key,
        )
        assert handle.result() == 2
    assert rows(key) == [2]


def test_atomic_needs_a_synchronous_activity() -> None:
    with pytest.raises(WorkflowDefinitionError, match="atomic=True is for synchronous"):

        @activity.defn(name="AtomicTestAsync", atomic=True)
        async def nope() -> None: ...


class PassThroughRouter:
    """A router that routes nothing: its presence alone makes atomic=True refuse."""


def test_the_system_check_refuses_atomic_activities_with_database_routers(settings) -> None:
    from durable_workflows.checks import check_atomic_activities

    assert check_atomic_activities() == []  # atomic_gated_insert and others are registered
    settings.DATABASE_ROUTERS = [f"{__name__}.PassThroughRouter"]
    [error] = check_atomic_activities()
    assert error.id == "durable_workflows.E003"
    assert "atomic_gated_insert" in error.msg and "DATABASE_ROUTERS" in error.msg
