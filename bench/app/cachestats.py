"""Counters of the sticky cache in a bench worker, read with a Celery inspect command.

Bench-only instrumentation (``BENCH_CACHE_STATS=0`` turns it off): the worker's two
engine entry points are wrapped where ``durable_workflows._worker`` calls them, so a
task continued from the cache (``continue_workflow_task``), a cached instance found
stale (``CacheMissError``, then a replay) and a replay from scratch
(``run_workflow_task``, with the number of events it replayed) are counted. The
wrappers cost a function call per workflow task. ``bench_cache_stats`` answers each
worker's counters, the number of runs in its cache and its RSS.
"""

from __future__ import annotations

import os
from typing import Any

COUNTS: dict[str, int] = {"continued": 0, "stale": 0, "replayed": 0, "replayed_events": 0}
#: Why the last cached instance was found stale (CacheMissError's message).
LAST_STALE: list[str] = []
_installed = False


def install() -> None:
    global _installed
    if _installed or os.environ.get("BENCH_CACHE_STATS", "1") == "0":
        return
    _installed = True
    from durable_workflows import _worker
    from durable_workflows._engine import CacheMissError

    continue_task, replay_task = _worker.continue_workflow_task, _worker.run_workflow_task

    def continue_counted(*args: Any, **kwargs: Any) -> Any:
        try:
            result = continue_task(*args, **kwargs)
        except CacheMissError as exc:
            COUNTS["stale"] += 1
            LAST_STALE[:] = [str(exc)[:500]]
            raise
        COUNTS["continued"] += 1
        return result

    def replay_counted(definition: Any, info: Any, history: Any, *args: Any, **kwargs: Any) -> Any:
        COUNTS["replayed"] += 1
        COUNTS["replayed_events"] += len(history)
        return replay_task(definition, info, history, *args, **kwargs)

    _worker.continue_workflow_task = continue_counted  # type: ignore[assignment]
    _worker.run_workflow_task = replay_counted  # type: ignore[assignment]

    from celery.worker.control import inspect_command

    @inspect_command()
    def bench_cache_stats(state: Any) -> dict[str, Any]:
        from bench.cluster import rss_kib
        from durable_workflows import _sticky
        from durable_workflows.conf import dw_settings

        return {
            **COUNTS,
            "pid": os.getpid(),
            "cached_runs": len(_sticky.runs),
            "max_cached_runs": dw_settings.MAX_CACHED_RUNS,
            "rss_kib": rss_kib(os.getpid()),
            "last_stale": LAST_STALE[0] if LAST_STALE else None,
        }
