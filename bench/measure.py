"""The measurements. This process is the client; the cluster's workers do the work."""

from __future__ import annotations

import itertools
import json
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import redis
from celery import chain
from django.db import connections
from django.db.models import Count, Max

from durable_workflows import Client
from durable_workflows.client import WorkflowHandle
from durable_workflows.models import (
    ActivityTask,
    HistoryEvent,
    Timer,
    TimerStatus,
    WorkflowExecution,
)

from .app import tasks
from .app.workflows import (
    BenchParkedWorkflow,
    BenchSequenceWorkflow,
    BenchSleepWorkflow,
    BenchWorkflow,
)
from .cluster import BROKER_URL, QUEUE, Cluster

T = TypeVar("T")
R = TypeVar("R")

CLIENT_THREADS = 4
RESULT_TIMEOUT = 600.0

#: Set on Ctrl-C so that client threads stop starting work.
stopping = threading.Event()


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    """p50 / p99 / max in milliseconds."""
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
        "max_ms": round(max(seconds) * 1000, 2),
    }


def in_threads(fn: Callable[[T], R], items: Sequence[T], threads: int = CLIENT_THREADS) -> list[R]:
    """``fn`` over ``items`` from a few threads, each with its own database connection."""

    def run_share(share: Sequence[T]) -> list[R]:
        try:
            results = []
            for item in share:
                if stopping.is_set():
                    raise RuntimeError("The bench is stopping.")
                results.append(fn(item))
            return results
        finally:
            connections.close_all()

    shares = [items[i::threads] for i in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        try:
            done = list(pool.map(run_share, shares))
        except BaseException:
            stopping.set()
            raise
    results: list[R] = [None] * len(items)  # type: ignore[list-item]
    for i, share_results in enumerate(done):
        results[i::threads] = share_results
    return results


def _prefix(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:8]}-"


# --- durable workflows ------------------------------------------------------------------


def workflow_latency(runs: int) -> list[float]:
    """Start -> result, one workflow at a time."""
    client, prefix = Client(), _prefix("latency")
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        handle = client.start_workflow(BenchWorkflow.run, i, id=f"{prefix}{i}")
        if handle.result(timeout=60) != i:
            raise AssertionError(f"Wrong result from {handle}.")
        samples.append(time.perf_counter() - started)
    return samples


def _start_all(workflow: Any, args: Sequence[Any], prefix: str) -> tuple[float, list[Any]]:
    client = Client()
    first_start = time.time()
    handles = in_threads(
        lambda item: client.start_workflow(workflow, item[1], id=f"{prefix}{item[0]}"),
        list(enumerate(args)),
    )
    return first_start, handles


def _wait_all(handles: Sequence[WorkflowHandle]) -> None:
    for handle in handles:
        handle.result(timeout=RESULT_TIMEOUT)


def _last_close(prefix: str, count: int) -> float:
    closed = WorkflowExecution.objects.filter(
        workflow_id__startswith=prefix, status="COMPLETED"
    ).aggregate(n=Count("pk"), last=Max("close_time"))
    if closed["n"] != count:
        raise AssertionError(f"{closed['n']} of {count} workflows completed.")
    return float(closed["last"].timestamp())


def workflow_throughput(count: int) -> dict[str, float]:
    """``count`` workflows started at once: first start -> last completion (close time)."""
    prefix = _prefix("throughput")
    first_start, handles = _start_all(BenchWorkflow.run, list(range(count)), prefix)
    started_all = time.time()
    _wait_all(handles)
    elapsed = _last_close(prefix, count) - first_start
    return {
        "count": count,
        "start_seconds": round(started_all - first_start, 3),
        "seconds": round(elapsed, 3),
        "per_second": round(count / elapsed, 1),
    }


def warm_up(count: int = 20) -> None:
    _wait_all(_start_all(BenchWorkflow.run, list(range(count)), _prefix("warmup"))[1])


# --- the Celery baseline ----------------------------------------------------------------


def _send_chain(key: str, tag: int) -> None:
    chain(
        tasks.noop.si().set(queue=QUEUE),
        tasks.noop.si().set(queue=QUEUE),
        tasks.done.si(key, tag).set(queue=QUEUE),
    ).apply_async()


def chain_latency(runs: int) -> list[float]:
    """Send a chain of three tasks -> the last one has run (seen by BRPOP)."""
    broker, key = redis.Redis.from_url(BROKER_URL), _prefix("chain-latency")
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        _send_chain(key, i)
        if broker.brpop([key], timeout=60) is None:
            raise TimeoutError("A chain did not finish within 60 s.")
        samples.append(time.perf_counter() - started)
    return samples


def chain_throughput(count: int) -> dict[str, float]:
    """``count`` chains sent at once: first send -> the last chain's last task ran."""
    broker, key = redis.Redis.from_url(BROKER_URL), _prefix("chain-throughput")
    first_send = time.time()
    in_threads(lambda i: _send_chain(key, i), list(range(count)))
    sent_all = time.time()
    finished = []
    for _ in range(count):
        popped = broker.brpop([key], timeout=RESULT_TIMEOUT)
        if popped is None:
            raise TimeoutError(f"Only {len(finished)} of {count} chains finished.")
        finished.append(json.loads(popped[1])[1])
    elapsed = max(finished) - first_send
    return {
        "count": count,
        "start_seconds": round(sent_all - first_send, 3),
        "seconds": round(elapsed, 3),
        "per_second": round(count / elapsed, 1),
    }


def warm_up_chains(count: int = 20) -> None:
    chain_throughput(count)


# --- timers -----------------------------------------------------------------------------


def _start_paced(workflow: Any, args: Sequence[Any], prefix: str, rate: float) -> list[Any]:
    client, first_start = Client(), time.monotonic()
    handles = []
    for i, arg in enumerate(args):
        time.sleep(max(0.0, first_start + i / rate - time.monotonic()))
        handles.append(client.start_workflow(workflow, arg, id=f"{prefix}{i}"))
    return handles


def timer_lateness(count: int, rate: float, seed: int = 3) -> dict[str, Any]:
    """``count`` workflows each sleeping 0.1-5 s, started at ``rate`` per second (0: at once).

    Lateness = TimerFired time - TimerStarted time - duration, from the histories.
    """
    rng = random.Random(seed)
    durations = [round(rng.uniform(0.1, 5.0), 3) for _ in range(count)]
    prefix = _prefix("timers")
    first_start = time.time()
    if rate:
        handles = _start_paced(BenchSleepWorkflow.run, durations, prefix, rate)
    else:
        handles = _start_all(BenchSleepWorkflow.run, durations, prefix)[1]
    started_all = time.time()
    _wait_all(handles)
    _last_close(prefix, count)
    started: dict[int, tuple[float, float]] = {}
    fired: dict[int, float] = {}
    rows = HistoryEvent.objects.filter(
        execution__workflow_id__startswith=prefix, event_type__in=["TimerStarted", "TimerFired"]
    ).values_list("execution_id", "event_type", "timestamp", "attributes")
    for execution_id, event_type, timestamp, attributes in rows:
        if event_type == "TimerStarted":
            started[execution_id] = (timestamp.timestamp(), float(attributes["duration"]))
        else:
            fired[execution_id] = timestamp.timestamp()
    lateness = [fired[pk] - at - duration for pk, (at, duration) in started.items()]
    if len(lateness) != count:
        raise AssertionError(f"{len(lateness)} of {count} timers fired.")
    return {
        "count": count,
        "start_rate": rate or "all at once",
        "start_seconds": round(started_all - first_start, 3),
        **percentiles(lateness),
        "min_ms": round(min(lateness) * 1000, 2),
    }


# --- memory -----------------------------------------------------------------------------


def sleeping_memory(cluster: Cluster, count: int, seconds: float = 3600.0) -> dict[str, Any]:
    """Worker RSS before and after ``count`` workflows have gone to sleep."""
    _wait_all(_start_all(BenchSleepWorkflow.run, [0.05] * 50, _prefix("warmup"))[1])
    warm_up(50)
    time.sleep(2)
    before = cluster.worker_rss_kib()
    prefix = _prefix("sleepers")
    first_start, _ = _start_all(BenchSleepWorkflow.run, [seconds] * count, prefix)
    started_all = time.time()
    pending = Timer.objects.filter(
        execution__workflow_id__startswith=prefix, status=TimerStatus.PENDING
    )
    deadline = time.monotonic() + RESULT_TIMEOUT
    while (asleep := pending.count()) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"Only {asleep} of {count} workflows went to sleep.")
        time.sleep(0.5)
    all_asleep = time.time()
    time.sleep(2)
    after = cluster.worker_rss_kib()
    return {
        "count": count,
        "start_seconds": round(started_all - first_start, 3),
        "asleep_after_seconds": round(all_asleep - first_start, 3),
        "rss_before_kib": before,
        "rss_after_kib": after,
    }


# --- the sticky cache -------------------------------------------------------------------


def cache_stats(names: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """Each worker's sticky-cache counters, cache size and RSS (see bench/app/cachestats.py)."""
    from example_project.celery import app

    replies = app.control.broadcast(
        "bench_cache_stats", reply=True, timeout=2.0, destination=names and list(names)
    )
    return dict(sorted((name, stats) for reply in replies for name, stats in reply.items()))


def cache_delta(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> dict[str, int]:
    """Workflow tasks continued from the cache / found stale / replayed between two snapshots."""
    keys = ("continued", "stale", "replayed", "replayed_events")
    return {key: sum(after[w][key] - before.get(w, {}).get(key, 0) for w in after) for key in keys}


def _run_sequence(client: Client, steps: int, workflow_id: str) -> float:
    started = time.perf_counter()
    handle = client.start_workflow(BenchSequenceWorkflow.run, steps, id=workflow_id)
    if handle.result(timeout=RESULT_TIMEOUT) != sum(range(steps)):
        raise AssertionError(f"Wrong result from {handle}.")
    return time.perf_counter() - started


def per_extra_activity(runs: int) -> dict[str, Any]:
    """Start -> result of 1-step and 10-step sequential workflows, alternating, one at a time.

    (p50 of 10 steps - p50 of 1 step) / 9: what one more activity in a run costs.
    """
    client, prefix = Client(), _prefix("steps")
    before = cache_stats()
    one, ten = [], []
    for i in range(runs):
        one.append(_run_sequence(client, 1, f"{prefix}1-{i}"))
        ten.append(_run_sequence(client, 10, f"{prefix}10-{i}"))
    p50_one, p50_ten = statistics.median(one), statistics.median(ten)
    return {
        "runs": runs,
        "one_activity": percentiles(one),
        "ten_activities": percentiles(ten),
        "per_extra_activity_ms": round((p50_ten - p50_one) / 9 * 1000, 2),
        "cache": cache_delta(before, cache_stats()),
    }


def step_costs(steps: int, window: int = 10) -> dict[str, Any]:
    """One ``steps``-activity workflow: the time between consecutive ActivityTaskCompleted
    events (step 1 counts from WorkflowExecutionStarted), median over the first and the
    last ``window`` steps."""
    client, workflow_id = Client(), f"{_prefix('long')}{steps}"
    before = cache_stats()
    seconds = _run_sequence(client, steps, workflow_id)
    after = cache_stats()
    times = [
        ts.timestamp()
        for ts in HistoryEvent.objects.filter(
            execution__workflow_id=workflow_id,
            event_type__in=["WorkflowExecutionStarted", "ActivityTaskCompleted"],
        )
        .order_by("event_id")
        .values_list("timestamp", flat=True)
    ]
    if len(times) != steps + 1:
        raise AssertionError(f"{len(times) - 1} of {steps} activities completed.")
    gaps = [b - a for a, b in itertools.pairwise(times)]
    window = min(window, steps)
    first, last = gaps[:window], gaps[-window:]
    return {
        "steps": steps,
        "window": window,
        "seconds": round(seconds, 3),
        "first_p50_ms": round(statistics.median(first) * 1000, 2),
        "last_p50_ms": round(statistics.median(last) * 1000, 2),
        "first_steps_ms": [round(g * 1000, 1) for g in first],
        "last_steps_ms": [round(g * 1000, 1) for g in last],
        "ratio": round(statistics.median(last) / statistics.median(first), 2),
        "history_events": HistoryEvent.objects.filter(execution__workflow_id=workflow_id).count(),
        "cache": cache_delta(before, after),
    }


def cached_memory(
    cluster: Cluster, count: int, checkpoints: int = 3, queue: str = "bench-parked"
) -> dict[str, Any]:
    """Worker RSS and cache size as ``count`` runs park on an activity no worker serves.

    Each run's first workflow task schedules the activity on ``queue`` (never consumed),
    so the worker that ran the task keeps the instance, up to MAX_CACHED_RUNS. Measured
    before and after each of ``checkpoints`` equal batches of starts.
    """
    warm_up(50)
    time.sleep(2)
    names = [f"{w.name}@bench" for w in cluster.workers]
    points = [{"started": 0, "workers": cache_stats(names)}]
    prefix, started = _prefix("parked"), 0
    for k in range(1, checkpoints + 1):
        upto = count * k // checkpoints
        _start_all(BenchParkedWorkflow.run, [queue] * (upto - started), f"{prefix}{k}-")
        started = upto
        scheduled = ActivityTask.objects.filter(execution__workflow_id__startswith=prefix)
        deadline = time.monotonic() + RESULT_TIMEOUT
        while (parked := scheduled.count()) < started:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Only {parked} of {started} runs scheduled their activity.")
            time.sleep(0.5)
        time.sleep(2)  # the last tasks' commits, then the cache puts
        points.append({"started": started, "workers": cache_stats(names)})
    return {"count": count, "queue": queue, "points": points}
