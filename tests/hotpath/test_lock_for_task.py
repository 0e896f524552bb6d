"""Locking a run and reading its new events in one statement still sees every event.

In READ COMMITTED a statement reads from the snapshot it started with; one that waits
for another writer's lock gets the locked row's newest version but, from its
subqueries, only the events of its older snapshot. The store must notice and read them
again, or a workflow task would run on a history missing its newest events.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.db import close_old_connections, connection, transaction

from durable_workflows import _clock, _store
from durable_workflows._engine import EventType
from durable_workflows._engine.options import StartOptions

pytestmark = pytest.mark.usefixtures("live_db")


def start_run() -> str:
    with transaction.atomic():
        execution = _store.create_execution(
            "NoSuchWorkflow",
            [],
            StartOptions(workflow_id=f"lock-{uuid.uuid4().hex[:12]}", task_queue="nowhere"),
            _clock.now(),
        )
    return str(execution.run_id)


def test_a_task_that_waited_for_a_writer_reads_the_writers_events() -> None:
    run_id = start_run()
    appended = threading.Event()

    def writer() -> None:
        try:
            with transaction.atomic():
                execution = _store.lock_execution(run_id=run_id)
                assert execution is not None
                history = _store.HistoryWriter(execution)
                history.append(EventType.WORKFLOW_EXECUTION_SIGNALED, {"signal_name": "late"})
                history.request_workflow_task()
                history.save()
                appended.set()
                time.sleep(0.5)  # the reader's statement starts, and waits for our lock
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    assert appended.wait(10)
    with transaction.atomic():
        locked = _store.lock_for_task(run_id, after_event_id=0)
    thread.join()
    assert locked is not None
    execution, events = locked
    assert execution.history_length == 2
    assert [event.event_type for event in events] == [
        EventType.WORKFLOW_EXECUTION_STARTED,
        EventType.WORKFLOW_EXECUTION_SIGNALED,
    ]


def test_no_events_are_read_when_no_task_is_pending() -> None:
    run_id = start_run()
    with transaction.atomic():
        execution = _store.lock_execution(run_id=run_id)
        assert execution is not None
        _store.mark_task_seen(execution)
    with transaction.atomic():
        locked = _store.lock_for_task(run_id, after_event_id=0)
    assert locked is not None
    assert locked[0].task_pending is False
    assert locked[1] == []


def test_an_unknown_run_is_none() -> None:
    with transaction.atomic():
        assert _store.lock_for_task(str(uuid.uuid4()), after_event_id=0) is None
