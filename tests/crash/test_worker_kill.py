"""Workers killed with SIGKILL (kill -9) mid-run: nothing is lost, nothing is done twice.

Every test that kills or blocks a worker gives it a queue of its own, so the session
workers (queue "default", which also run the tick) keep ticking for everyone.
Timing bounds are generous: the machine running these is shared and loaded.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from durable_workflows import Client
from durable_workflows._engine import EventType
from durable_workflows.models import ActivityTask, Timer
from tests import procs
from tests.helpers import (
    TICK_SLACK,
    assert_well_formed,
    attempt_times,
    events_of,
    only,
    types_of,
    wait_until,
)
from tests.procs import worker_pool
from tests.testapp.models import SideEffect
from tests.testapp.time_workflows import NapWorkflow, RunActivityWorkflow
from tests.testapp.workflows import TwoStepWorkflow

pytestmark = pytest.mark.usefixtures("workers")

client = Client()


# --- a workflow worker killed between two activities -------------------------------------------


@pytest.mark.crash
def test_worker_killed_between_two_activities_resumes_without_repeating_the_first(
    worker_env, pause_dir, unique
):
    queue = f"crash-{unique}"
    doomed = procs.start_worker(worker_env, [queue], f"doomed-{unique}")
    handle = client.start_workflow(
        TwoStepWorkflow.run, unique, str(pause_dir), id=f"two-step-{unique}", task_queue=queue
    )
    held = Path(pause_dir) / f"{handle.run_id}.held"
    # A ran and completed; the worker picked up the next workflow task and is inside it.
    wait_until(held.exists, timeout=30, what="the workflow task after A to be held")
    assert SideEffect.count(unique, "A") == 1
    assert SideEffect.count(unique, "B") == 0

    doomed.kill9()
    (Path(pause_dir) / handle.run_id).unlink()
    fresh = procs.start_worker(worker_env, [queue], f"fresh-{unique}")
    try:
        assert handle.result(timeout=60) == "A done, B done"
    finally:
        fresh.stop()

    assert SideEffect.count(unique, "A") == 1
    assert SideEffect.count(unique, "B") == 1
    events = handle.fetch_history().events
    assert_well_formed(events)
    assert types_of(events).count("ActivityTaskCompleted") == 2


# --- seed 000, scenario 2: the activity worker crashes --------------------------------------------


@pytest.mark.crash
def test_activity_worker_killed_mid_attempt_is_timed_out_and_another_worker_completes_it(
    worker_env, pause_dir, unique, doomed
):
    queue = f"q-{unique}"
    gates = Path(pause_dir) / f"gates-{unique}"
    gates.mkdir()
    (gates / "release-2").touch()  # attempt 2 runs straight through; attempt 1 blocks
    handle = client.start_workflow(
        RunActivityWorkflow.run,
        "gated_attempt",
        [unique, str(gates)],
        {"task_queue": queue, "start_to_close": 3, "retry": {"initial_interval": 0.5}},
        id=f"crash-activity-{unique}",
        task_queue=queue,
    )
    wait_until(lambda: SideEffect.count(unique, "started") == 1, what="attempt 1 to start")
    doomed.kill9()

    with worker_pool(worker_env, queue, f"survivor-{unique}"):
        assert handle.result(timeout=60) == "attempt-2"

    events = events_of(handle)
    assert_well_formed(events)
    completed = only(events, EventType.ACTIVITY_TASK_COMPLETED)
    started = only(events, EventType.ACTIVITY_TASK_STARTED)
    assert completed.attributes["attempt"] == started.attributes["attempt"] == 2
    assert started.attributes["last_failure"]["timeout_type"] == "START_TO_CLOSE"
    assert SideEffect.count(unique, "finished") == 1  # attempt 1 never finished
    first, second = attempt_times(unique, "started")
    # Retried because start-to-close (3 s) passed, not sooner; then promptly (+0.5 s backoff).
    assert timedelta(seconds=3) <= second - first <= timedelta(seconds=3.5) + TICK_SLACK * 2


# --- seed 000, scenario 4: the long sleep ---------------------------------------------------------


@pytest.mark.crash
def test_sleeping_workflow_survives_its_worker_killed_and_wakes_within_a_tick(
    worker_env, unique, doomed
):
    queue = f"q-{unique}"
    handle = client.start_workflow(NapWorkflow.run, 5.0, id=f"nap-{unique}", task_queue=queue)
    # The timer is a row, and the worker holds the countdown message that would fire it.
    wait_until(
        lambda: Timer.objects.filter(execution__run_id=handle.run_id).exists(),
        what="the timer row",
    )
    wait_until(
        lambda: "durable_workflows.fire_timer[" in doomed.log(), what="the countdown message"
    )
    doomed.kill9()

    with worker_pool(worker_env, queue, f"fresh-{unique}") as (fresh,):
        woke_at = handle.result(timeout=30)
        fresh_log = fresh.log()

    events = events_of(handle)
    assert_well_formed(events)
    timer_started = only(events, EventType.TIMER_STARTED)
    timer_fired = only(events, EventType.TIMER_FIRED)
    due = timer_started.timestamp + timedelta(seconds=5)
    print(f"timer fired {(timer_fired.timestamp - due).total_seconds():.2f} s after due")
    # Fired by the tick (the countdown message died with the worker), within a tick of due.
    assert "durable_workflows.fire_timer[" not in fresh_log
    assert due <= timer_fired.timestamp <= due + TICK_SLACK
    assert woke_at == pytest.approx(timer_fired.timestamp.timestamp(), abs=0.5)


# --- heartbeats -----------------------------------------------------------------------------------


@pytest.mark.crash
def test_heartbeating_activity_killed_at_sixty_percent_resumes_from_its_last_heartbeat(
    worker_env, unique, doomed
):
    queue = f"q-{unique}"
    handle = client.start_workflow(
        RunActivityWorkflow.run,
        "resumable_count",
        [unique, 20, 0.3],
        {
            "task_queue": queue,
            "start_to_close": 60,
            "heartbeat": 2,
            "retry": {"initial_interval": 0.5},
        },
        id=f"resume-{unique}",
        task_queue=queue,
    )

    def progress() -> int:
        row = ActivityTask.objects.filter(execution__run_id=handle.run_id).first()
        return int(row.heartbeat_details[0]) if row and row.heartbeat_details else -1

    wait_until(lambda: progress() >= 11, timeout=30, what="60% of the steps heartbeated")
    doomed.kill9()
    killed_at = time.time()
    last_heartbeat = progress()

    with worker_pool(worker_env, queue, f"fresh-{unique}"):
        assert handle.result(timeout=60) == [2, last_heartbeat + 1]

    steps = SideEffect.objects.filter(key=unique, name__startswith="step-")
    first_attempt = sorted(int(s.name[5:]) for s in steps.filter(attempt=1))
    second_attempt = sorted(int(s.name[5:]) for s in steps.filter(attempt=2))
    assert first_attempt[: last_heartbeat + 1] == list(range(last_heartbeat + 1))
    assert second_attempt == list(range(last_heartbeat + 1, 20))  # resumed, nothing redone
    started = only(events_of(handle), EventType.ACTIVITY_TASK_STARTED)
    assert started.attributes["last_failure"]["timeout_type"] == "HEARTBEAT"
    # Noticed by the heartbeat timeout (2 s), far sooner than start-to-close (60 s) would.
    resumed = SideEffect.objects.get(key=unique, name__startswith="resumed-at-", attempt=2)
    assert resumed.created.timestamp() - killed_at < 2 + 0.5 + 2 * TICK_SLACK.total_seconds()
