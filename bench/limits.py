"""Beyond Temporal's costs: ``atomic=True`` per activity against a plain one, and 1,000
activities through a global concurrency limit of 10 against no limit (same run)."""

from __future__ import annotations

import statistics
import time
from typing import Any

from durable_workflows import Client

from .app.workflows import BenchNamedActivityWorkflow
from .measure import _last_close, _prefix, _wait_all, in_threads


def _latency(activity: str, runs: int) -> list[float]:
    client, prefix = Client(), _prefix(f"lat-{activity}")
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        handle = client.start_workflow(
            BenchNamedActivityWorkflow.run, activity, i, id=f"{prefix}{i}"
        )
        if handle.result(timeout=60) != i:
            raise AssertionError(f"Wrong result from {handle}.")
        samples.append(time.perf_counter() - started)
    return samples


def _throughput(activity: str, count: int) -> dict[str, float]:
    client, prefix = Client(), _prefix(f"tp-{activity}")
    first_start = time.time()
    handles = in_threads(
        lambda i: client.start_workflow(
            BenchNamedActivityWorkflow.run, activity, i, id=f"{prefix}{i}"
        ),
        list(range(count)),
    )
    _wait_all(handles)
    elapsed = _last_close(prefix, count) - first_start
    return {"count": count, "seconds": round(elapsed, 3), "per_second": round(count / elapsed, 1)}


def limit_costs(runs: int, count: int) -> dict[str, Any]:
    """Interleaved so that load drifts touch both sides alike."""
    plain, atomic = [], []
    for _ in range(2):
        plain += _latency("bench_insert", runs // 2)
        atomic += _latency("bench_insert_atomic", runs // 2)
    unlimited = _throughput("bench_noop", count)
    limited = _throughput("bench_noop_limited", count)
    p50_plain, p50_atomic = statistics.median(plain) * 1000, statistics.median(atomic) * 1000
    return {
        "atomic": {
            "plain_p50_ms": round(p50_plain, 2),
            "atomic_p50_ms": round(p50_atomic, 2),
            "atomic_cost_ms": round(p50_atomic - p50_plain, 2),
            "runs": runs,
        },
        "concurrency": {"unlimited": unlimited, "limit_10": limited},
    }


def print_costs(result: dict[str, Any]) -> None:
    atomic, concurrency = result["atomic"], result["concurrency"]
    print("\nL  beyond Temporal: atomic=True and a concurrency limit")
    print(f"  one-activity workflow p50, plain insert    {atomic['plain_p50_ms']:>10.2f} ms")
    print(f"  one-activity workflow p50, atomic=True     {atomic['atomic_p50_ms']:>10.2f} ms")
    print(f"  cost of atomic=True per activity           {atomic['atomic_cost_ms']:>10.2f} ms")
    for label, key in (("no limit", "unlimited"), ("Concurrency(limit=10)", "limit_10")):
        row = concurrency[key]
        print(
            f"  {row['count']} activities, {label:<22} {row['per_second']:>10.1f} /s"
            f"  ({row['seconds']} s)"
        )
