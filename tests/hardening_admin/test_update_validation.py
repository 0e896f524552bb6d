"""An update's validator replays the history before the run's row lock is taken.

Replaying a long history under the lock stalled every other writer of the run (and on
SQLite every writer of the database). The validator now runs on a replay made first;
under the lock the history length is checked, and a history that grew meanwhile is
replayed again, at most ``VALIDATION_ATTEMPTS`` times, the last one under the lock.

The probe workflow's validator asks, from another connection, whether the run's row
lock is free (``SELECT ... FOR UPDATE NOWAIT``) and, when the test says so, appends a
signal to the run right then, as a concurrent writer would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import DatabaseError, connection, transaction

from durable_workflows import Client, workflow
from durable_workflows._services import messages
from durable_workflows.exceptions import WorkflowResultTimeoutError, WorkflowUpdateFailedError
from durable_workflows.models import HistoryEvent, WorkflowExecution


class Probe:
    """What the validator saw: for each call, whether the row lock was free."""

    def __init__(self) -> None:
        self.lock_was_free: list[bool] = []
        self.signals_to_append = 0
        self.reject = False


PROBE = Probe()


def in_another_connection(fn: Callable[[], object]) -> None:
    failure: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:  # reported in the test's thread
            failure.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "the probe did not finish"
    if failure:
        raise failure[0]


def row_lock_is_free(run_id: str) -> bool:
    free: list[bool] = []

    def probe() -> None:
        try:
            with transaction.atomic():
                WorkflowExecution.objects.select_for_update(nowait=True).get(run_id=run_id)
            free.append(True)
        except DatabaseError:
            free.append(False)

    in_another_connection(probe)
    return free[0]


def on_validate(workflow_id: str, run_id: str) -> None:
    free = row_lock_is_free(run_id)
    PROBE.lock_was_free.append(free)
    if free and PROBE.signals_to_append:
        PROBE.signals_to_append -= 1
        in_another_connection(
            lambda: Client().get_workflow_handle(workflow_id, run_id=run_id).signal("note", "x")
        )
    if PROBE.reject:
        raise ValueError("refused by the probe")


@workflow.defn(name="HardeningValidatorProbe")
class ValidatorProbe:
    def __init__(self) -> None:
        self.notes = 0

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.update
    def add(self, item: str) -> str:
        return item

    @add.validator
    def _check(self, item: str) -> None:
        info = workflow.info()
        on_validate(info.workflow_id, info.run_id)

    @workflow.signal
    def note(self, text: str) -> None:
        self.notes += 1


@pytest.fixture
def probe_run(live_db, unique) -> WorkflowExecution:
    global PROBE
    PROBE = Probe()
    Client().start_workflow(
        ValidatorProbe.run, id=f"validate-{unique}", task_queue=f"idle-{unique}"
    )
    return WorkflowExecution.objects.get(workflow_id=f"validate-{unique}")


def send_update(execution: WorkflowExecution) -> None:
    """Send the update; nothing runs its handler (no worker on the queue), so it times out
    once it is recorded."""
    with pytest.raises(WorkflowResultTimeoutError):
        messages.update_workflow(execution.workflow_id, "add", ["item"], timeout=0.2)


def event_types(execution: WorkflowExecution) -> list[str]:
    return list(
        HistoryEvent.objects.filter(execution=execution)
        .order_by("event_id")
        .values_list("event_type", flat=True)
    )


def test_the_validator_runs_while_the_runs_row_lock_is_free(probe_run):
    send_update(probe_run)
    assert PROBE.lock_was_free == [True]
    assert event_types(probe_run)[-1] == "WorkflowExecutionUpdateAccepted"


def test_a_rejection_made_outside_the_lock_writes_nothing(probe_run):
    before = event_types(probe_run)
    PROBE.reject = True
    with pytest.raises(WorkflowUpdateFailedError, match="refused by the probe"):
        messages.update_workflow(probe_run.workflow_id, "add", ["item"], timeout=0.2)
    assert PROBE.lock_was_free == [True]
    assert event_types(probe_run) == before


def test_a_history_that_grew_during_validation_is_validated_again(probe_run):
    PROBE.signals_to_append = 1
    send_update(probe_run)
    assert PROBE.lock_was_free == [True, True]
    assert event_types(probe_run)[-2:] == [
        "WorkflowExecutionSignaled",
        "WorkflowExecutionUpdateAccepted",
    ]


def test_a_history_that_keeps_growing_is_validated_under_the_lock_at_last(probe_run):
    PROBE.signals_to_append = 100
    send_update(probe_run)
    retries = messages.VALIDATION_ATTEMPTS - 1
    assert PROBE.lock_was_free == [True] * retries + [False]
    accepted = event_types(probe_run)
    assert accepted.count("WorkflowExecutionSignaled") == retries
    assert accepted[-1] == "WorkflowExecutionUpdateAccepted"
