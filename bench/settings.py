"""The example project plus the bench app, on the bench database and broker.

The bench sets DATABASE_URL and CELERY_BROKER_URL for itself and its child
processes; BENCH_* variables override durable_workflows settings per phase.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/durable_workflows_bench")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")

from example_project.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "bench.app"]  # noqa: F405

# As in production: DEBUG keeps a log of every query, which costs time and memory.
DEBUG = False

BENCH_QUEUE = os.environ.get("BENCH_QUEUE", "bench")

DURABLE_WORKFLOWS = {
    "DEFAULT_TASK_QUEUE": BENCH_QUEUE,
    "TICK_INTERVAL": float(os.environ.get("BENCH_TICK_INTERVAL", "1")),
}
if "BENCH_COUNTDOWN_FAST_PATH_MAX" in os.environ:
    DURABLE_WORKFLOWS["COUNTDOWN_FAST_PATH_MAX"] = float(
        os.environ["BENCH_COUNTDOWN_FAST_PATH_MAX"]
    )
# The workers' sticky cache of instances (0 turns it off; unset: the library's default).
if "BENCH_MAX_CACHED_RUNS" in os.environ:
    DURABLE_WORKFLOWS["MAX_CACHED_RUNS"] = int(os.environ["BENCH_MAX_CACHED_RUNS"])

# Celery's Django fixup closes every database connection after every task, whatever
# CONN_MAX_AGE says, unless DB_REUSE_MAX is set (it then closes them every 2 x N tasks).
# Reconnecting costs a workflow task more than its own queries, so the bench keeps
# connections; BENCH_DB_REUSE_MAX=0 measures Celery's default.
_DB_REUSE_MAX = int(os.environ.get("BENCH_DB_REUSE_MAX", "1000"))
if _DB_REUSE_MAX:
    CELERY_DB_REUSE_MAX = _DB_REUSE_MAX
