"""Time and failure: timers, timeouts and retries, on real processes (kills: tests/crash).

Every test that blocks a worker gives it a queue of its own, so the session
workers (queue "default", which also run the tick) keep ticking for everyone.
Timing bounds are generous: the machine running these is shared and loaded.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Max, Min

from durable_workflows import Client
from durable_workflows._engine import EventType
from durable_workflows.exceptions import (
    ActivityError,
    ApplicationError,
    RetryState,
    TimeoutError,
    TimeoutType,
    WorkflowFailureError,
)
from durable_workflows.models import ActivityTask, Timer, TimerStatus, WorkflowExecution
from durable_workflows.models import HistoryEvent as EventRow
from tests import procs
from tests.helpers import (
    TICK_SLACK,
    assert_well_formed,
    attempt_times,
    closed,
    events_of,
    only,
    types_of,
    wait_until,
)
from tests.procs import worker_pool
from tests.testapp.models import SideEffect
from tests.testapp.time_workflows import (
    ConditionOrTimeoutWorkflow,
    NapWorkflow,
    RunActivityWorkflow,
    SleepUntilWorkflow,
)

pytestmark = pytest.mark.usefixtures("workers")

client = Client()


# --- helpers --------------------------------------------------------------------------------------


def failure_cause(handle) -> tuple[ActivityError, BaseException | None]:
    with pytest.raises(WorkflowFailureError) as raised:
        handle.result(timeout=60)
    error = raised.value.cause
    assert isinstance(error, ActivityError), error
    return error, error.cause


def logs(processes: list) -> str:
    return "".join(process.log() for process in processes)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def start_many(workflow, prefix: str, count: int, args: list, queue: str) -> None:
    """Start ``count`` runs from four threads (each start is a few round trips)."""

    def start(indexes: range) -> None:
        try:
            for i in indexes:
                client.start_workflow(workflow, *args, id=f"{prefix}-{i}", task_queue=queue)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(start, [range(n, count, 4) for n in range(4)]))


def poll(predicate, timeout: float, what: str) -> None:
    """wait_until for predicates that count thousands of rows: once a second."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(1)


def sleeping(prefix: str) -> int:
    return Timer.objects.filter(
        execution__workflow_id__startswith=f"{prefix}-", status=TimerStatus.PENDING
    ).count()


def timers_started(prefix: str) -> int:
    return EventRow.objects.filter(
        execution__workflow_id__startswith=f"{prefix}-", event_type="TimerStarted"
    ).count()


@pytest.mark.slow
def test_two_thousand_sleeping_workflows_cost_rows_not_worker_memory(worker_env, unique):
    queue = f"q-{unique}"
    # No countdown fast path: sleeps this long are rows only, fired by the tick.
    env = {**worker_env, "DW_TEST_FAST_PATH_MAX": "1", "DJANGO_DEBUG": "0"}
    with worker_pool(env, queue, f"sleepy-{unique}", count=3) as workers:
        # Warm up both paths (falling asleep, waking) before the baseline, and time them.
        warm = f"warm-{unique}"
        began = time.time()
        start_many(NapWorkflow.run, warm, 100, [3.0], queue)
        wait_until(lambda: timers_started(warm) == 100, timeout=60, what="100 warm-up naps")
        warm_asleep = time.time() - began
        poll(lambda: closed(warm) == 100, timeout=60, what="100 warm-up naps to end")
        before = sum(rss_kib(worker.pid) for worker in workers)

        # Long enough that all 2,000 are asleep before the first wakes, on this machine today.
        nap = min(max(2 * 20 * warm_asleep, 30.0), 150.0)
        many = f"many-{unique}"
        began = time.time()
        start_many(NapWorkflow.run, many, 2000, [nap], queue)
        poll(lambda: sleeping(many) == 2000, timeout=nap, what="2,000 sleepers")
        asleep = time.time()
        after = sum(rss_kib(worker.pid) for worker in workers)
        poll(lambda: closed(many) == 2000, timeout=nap + 120, what="2,000 sleepers to wake")
        done = time.time()

    growth_mib = (after - before) / 1024
    print(
        f"nap {nap:.0f} s; 2,000 asleep {asleep - began:.1f} s after the first start, all "
        f"done {done - began:.1f} s after it; workers' RSS {before / 1024:.1f} MiB -> "
        f"{after / 1024:.1f} MiB"
    )
    runs = WorkflowExecution.objects.filter(workflow_id__startswith=f"{many}-")
    events = EventRow.objects.filter(execution__in=runs)
    last_asleep = events.filter(event_type="TimerStarted").aggregate(t=Max("timestamp"))["t"]
    first_awake = events.filter(event_type="TimerFired").aggregate(t=Min("timestamp"))["t"]
    assert last_asleep < first_awake, "the 2,000 were not all asleep at once"
    # 2,000 held messages or cached workflow instances would cost tens of MiB.
    assert growth_mib < 8, f"workers' RSS grew {growth_mib:.1f} MiB while 2,000 workflows slept"
    assert Timer.objects.filter(execution__in=runs, status=TimerStatus.FIRED).count() == 2000


# --- heartbeats -----------------------------------------------------------------------------------


def test_activity_heartbeating_more_often_than_its_timeout_is_never_timed_out(unique):
    # A heartbeat every 1.5 s against a 2 s timeout. Writes are throttled to one per 1.6 s,
    # so the beat at 1.5 s must still be written when that window ends, not at 3 s.
    handle = client.start_workflow(
        RunActivityWorkflow.run,
        "heartbeat_steadily",
        [unique, 6.0, 1.5],
        {"start_to_close": 60, "heartbeat": 2, "retry": {"maximum_attempts": 1}},
        id=f"steady-{unique}",
    )
    assert handle.result(timeout=60) == 4
    assert SideEffect.count(unique, "steady-done") == 1


def test_activity_that_stops_heartbeating_times_out_long_before_start_to_close(
    worker_env, pause_dir, unique
):
    queue = f"q-{unique}"
    release = Path(pause_dir) / f"release-{unique}"
    # Two workers: one is stuck in the silent attempt, the other runs the workflow task.
    with worker_pool(worker_env, queue, f"silent-{unique}", count=2) as workers:
        handle = client.start_workflow(
            RunActivityWorkflow.run,
            "heartbeat_then_hang",
            [unique, 5, str(release)],
            {
                "task_queue": queue,
                "start_to_close": 60,
                "heartbeat": 2,
                "retry": {"maximum_attempts": 1},
            },
            id=f"silent-{unique}",
            task_queue=queue,
        )
        error, cause = failure_cause(handle)
        assert isinstance(cause, TimeoutError) and cause.type is TimeoutType.HEARTBEAT
        assert list(cause.last_heartbeat_details) == [4]  # the last beat was not lost
        assert error.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
        events = events_of(handle)
        timed_out = only(events, EventType.ACTIVITY_TASK_TIMED_OUT)
        silent = SideEffect.objects.get(key=unique, name="silent").created
        silence = (timed_out.timestamp - silent).total_seconds()
        print(f"timed out {silence:.2f} s after going silent")
        assert (
            timedelta(seconds=1)
            <= timed_out.timestamp - silent
            <= timedelta(seconds=3) + TICK_SLACK
        )

        # The silent attempt wakes up and finishes late: its result is dropped.
        release.touch()
        wait_until(lambda: SideEffect.count(unique, "woke-late") == 1, what="the late finish")
        wait_until(
            lambda: "Dropping the outcome of heartbeat_then_hang attempt 1" in logs(workers),
            what="the late result to be dropped",
        )
    assert events_of(handle) == events


# --- stale results --------------------------------------------------------------------------------


def test_late_result_of_a_timed_out_attempt_does_not_overwrite_the_newer_attempt(
    worker_env, pause_dir, unique
):
    queue = f"q-{unique}"
    gates = Path(pause_dir) / f"gates-{unique}"
    gates.mkdir()
    with worker_pool(worker_env, queue, f"stale-{unique}", count=2) as workers:
        handle = client.start_workflow(
            RunActivityWorkflow.run,
            "gated_attempt",
            [unique, str(gates)],
            {"task_queue": queue, "start_to_close": 2, "retry": {"initial_interval": 0.2}},
            id=f"stale-{unique}",
            task_queue=queue,
        )
        wait_until(lambda: SideEffect.count(unique, "started") == 2, what="attempt 2 to start")
        (gates / "release-1").touch()  # attempt 1 finishes while attempt 2 runs
        wait_until(
            lambda: "Dropping the outcome of gated_attempt attempt 1" in logs(workers),
            what="the late result of attempt 1 to be dropped",
        )
        activity = ActivityTask.objects.get(execution__run_id=handle.run_id)
        assert (activity.status, activity.attempt) == ("STARTED", 2)
        assert "ActivityTaskCompleted" not in types_of(events_of(handle))

        (gates / "release-2").touch()
        assert handle.result(timeout=30) == "attempt-2"

    events = events_of(handle)
    assert_well_formed(events)
    assert only(events, EventType.ACTIVITY_TASK_COMPLETED).attributes["attempt"] == 2
    assert SideEffect.objects.filter(key=unique, name="finished").count() == 2


# --- schedule-to-close and schedule-to-start ------------------------------------------------------


def test_schedule_to_start_timeout_fails_the_activity_with_its_timeout_type(unique):
    handle = client.start_workflow(
        RunActivityWorkflow.run,
        "record",
        [unique, "never"],
        {"task_queue": f"nobody-listens-{unique}", "start_to_close": 10, "schedule_to_start": 2},
        id=f"s2s-{unique}",
    )
    error, cause = failure_cause(handle)
    assert isinstance(cause, TimeoutError) and cause.type is TimeoutType.SCHEDULE_TO_START
    assert error.retry_state is RetryState.TIMEOUT
    events = events_of(handle)
    scheduled = only(events, EventType.ACTIVITY_TASK_SCHEDULED).timestamp
    timed_out = only(events, EventType.ACTIVITY_TASK_TIMED_OUT)
    assert timed_out.attributes["started_event_id"] is None
    assert (
        timedelta(seconds=2) <= timed_out.timestamp - scheduled <= timedelta(seconds=2) + TICK_SLACK
    )
    assert SideEffect.count(unique, "never") == 0


def test_schedule_to_close_timeout_fails_the_activity_with_its_timeout_type(
    worker_env, pause_dir, unique
):
    queue = f"q-{unique}"
    gates = Path(pause_dir) / f"gates-{unique}"
    gates.mkdir()
    with worker_pool(worker_env, queue, f"s2c-{unique}"):
        handle = client.start_workflow(
            RunActivityWorkflow.run,
            "gated_attempt",
            [unique, str(gates)],
            {"task_queue": queue, "schedule_to_close": 3},
            id=f"s2c-{unique}",
        )
        error, cause = failure_cause(handle)
        assert isinstance(cause, TimeoutError) and cause.type is TimeoutType.SCHEDULE_TO_CLOSE
        assert error.retry_state is RetryState.TIMEOUT
        (gates / "release-1").touch()
        wait_until(lambda: SideEffect.count(unique, "finished") == 1, what="the late finish")
    events = events_of(handle)
    scheduled = only(events, EventType.ACTIVITY_TASK_SCHEDULED).timestamp
    timed_out = only(events, EventType.ACTIVITY_TASK_TIMED_OUT).timestamp
    assert timedelta(seconds=3) <= timed_out - scheduled <= timedelta(seconds=3) + TICK_SLACK


# --- wait_condition with a timeout ----------------------------------------------------------------


def test_wait_condition_times_out_on_time_and_not_when_the_condition_is_met_first(
    worker_env, pause_dir, unique
):
    queue = f"q-{unique}"
    open_gate = Path(pause_dir) / f"open-{unique}"
    open_gate.touch()
    closed_gate = Path(pause_dir) / f"closed-{unique}"
    # Two workers: the activity of the run that times out blocks one of them.
    with worker_pool(worker_env, queue, f"gates-{unique}", count=2):
        met = client.start_workflow(
            ConditionOrTimeoutWorkflow.run, str(open_gate), 10.0, queue, id=f"met-{unique}"
        )
        late = client.start_workflow(
            ConditionOrTimeoutWorkflow.run, str(closed_gate), 3.0, queue, id=f"late-{unique}"
        )
        assert met.result(timeout=30) == "condition met"
        assert late.result(timeout=30) == "timed out"
        closed_gate.touch()  # let the abandoned activity finish

    met_events = events_of(met)
    assert "TimerFired" not in types_of(met_events)
    assert "TimerCanceled" in types_of(met_events)
    late_events = events_of(late)
    started = only(late_events, EventType.TIMER_STARTED)
    fired = only(late_events, EventType.TIMER_FIRED)
    due = started.timestamp + timedelta(seconds=3)
    print(f"wait_condition timed out {(fired.timestamp - due).total_seconds():.2f} s after due")
    assert due <= fired.timestamp <= due + TICK_SLACK
    assert "ActivityTaskCompleted" not in types_of(late_events)


# --- retries --------------------------------------------------------------------------------------


def test_retries_are_spaced_by_the_policy_and_capped_at_maximum_interval(unique):
    # Backoffs this short get a countdown message each: precise to milliseconds.
    handle = client.start_workflow(
        RunActivityWorkflow.run,
        "fail_with",
        [unique, "transient"],
        {
            "start_to_close": 10,
            "retry": {
                "initial_interval": 1,
                "backoff_coefficient": 2.0,
                "maximum_interval": 4,
                "maximum_attempts": 5,
            },
        },
        id=f"spacing-{unique}",
    )
    error, cause = failure_cause(handle)
    assert error.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
    assert isinstance(cause, ApplicationError) and cause.type == "TransientError"
    assert error.attempt == 5
    gaps = retry_gaps(unique, "transient")
    print(f"retry gaps with countdowns: {gaps}")
    for gap, expected in zip(gaps, [1, 2, 4, 4], strict=True):
        assert expected - 0.1 <= gap <= expected + 1.5, (gaps, expected)


def test_retry_backoff_longer_than_the_fast_path_is_ended_by_the_tick(worker_env, unique):
    queue = f"q-{unique}"
    # This worker sends no countdown for backoffs over 0.5 s: the row waits for the tick.
    env = {**worker_env, "DW_TEST_FAST_PATH_MAX": "0.5"}
    with worker_pool(env, queue, f"backoff-{unique}"):
        handle = client.start_workflow(
            RunActivityWorkflow.run,
            "fail_with",
            [unique, "transient"],
            {
                "start_to_close": 10,
                "retry": {"initial_interval": 1, "backoff_coefficient": 2.0, "maximum_attempts": 3},
            },
            id=f"slow-backoff-{unique}",
            task_queue=queue,
        )
        error, _ = failure_cause(handle)
        assert error.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
    gaps = retry_gaps(unique, "transient")
    print(f"retry gaps from the tick: {gaps}")
    for gap, expected in zip(gaps, [1, 2], strict=True):
        assert expected - 0.1 <= gap <= expected + TICK_SLACK.total_seconds(), (gaps, expected)


def retry_gaps(key: str, name: str) -> list[float]:
    return [(b - a).total_seconds() for a, b in itertools.pairwise(attempt_times(key, name))]


@pytest.mark.parametrize(
    ("how", "non_retryable_types", "error_type"),
    [
        ("typed", ["FatalError"], "FatalError"),
        ("class", ["LookupError"], "LookupError"),
        ("flagged", [], None),
    ],
)
def test_non_retryable_failures_stop_after_one_attempt(
    unique, how, non_retryable_types, error_type
):
    handle = client.start_workflow(
        RunActivityWorkflow.run,
        "fail_with",
        [unique, how],
        {
            "start_to_close": 10,
            "retry": {"initial_interval": 0.1, "non_retryable_error_types": non_retryable_types},
        },
        id=f"fatal-{how}-{unique}",
    )
    error, cause = failure_cause(handle)
    assert error.retry_state is RetryState.NON_RETRYABLE_FAILURE
    assert error.attempt == 1
    assert isinstance(cause, ApplicationError) and cause.type == error_type
    assert SideEffect.count(unique, how) == 1
    failed = only(events_of(handle), EventType.ACTIVITY_TASK_FAILED)
    assert failed.attributes["attempt"] == 1


# --- two ticks at once ----------------------------------------------------------------------------

TICK_LOOP = """
import django, sys, time
django.setup()
from durable_workflows._tick import run_tick
until, fired = time.time() + float(sys.argv[1]), 0
while time.time() < until:
    fired += run_tick().timers_fired
    time.sleep(0.02)
print(f"fired {fired}")
"""


def test_timers_fire_exactly_once_with_two_beats_and_two_tick_loops_racing(worker_env, unique):
    queue = f"q-{unique}"
    prefix = f"race-{unique}"
    env = {**worker_env, "DW_TEST_FAST_PATH_MAX": "0", "DW_TEST_TICK_BATCH_SIZE": "25"}
    with worker_pool(env, queue, f"race-{unique}"):
        wake_at = time.time() + 12
        for i in range(150):
            client.start_workflow(
                SleepUntilWorkflow.run, wake_at, 4, id=f"{prefix}-{i}", task_queue=queue
            )
        wait_until(lambda: sleeping(prefix) == 600, timeout=40, what="600 pending timers")
        second_beat = procs.start_beat(worker_env, f"beat-2-{unique}")
        loops = [
            subprocess.Popen(
                [sys.executable, "-c", TICK_LOOP, str(wake_at - time.time() + 15)],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        try:
            wait_until(lambda: closed(prefix) == 150, timeout=60, what="150 workflows to wake")
        finally:
            second_beat.stop()
        outputs = [loop.communicate(timeout=60)[0] for loop in loops]

    fired_by_loops = [int(out.split()[-1]) for out in outputs]
    print(f"timers fired by the two tick loops: {fired_by_loops}")
    assert all(n > 0 for n in fired_by_loops)  # both really raced for the same timers
    for execution in WorkflowExecution.objects.filter(workflow_id__startswith=f"{prefix}-"):
        events = client.get_workflow_handle(execution.workflow_id).fetch_history().events
        assert_well_formed(events)
        started = [
            e.attributes["timer_id"] for e in events if e.event_type is EventType.TIMER_STARTED
        ]
        fired = [e.attributes["timer_id"] for e in events if e.event_type is EventType.TIMER_FIRED]
        assert len(started) == 4
        assert sorted(fired) == sorted(started)  # each timer fired exactly once
