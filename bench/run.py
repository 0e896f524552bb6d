"""``python -m bench [all|core|timers|memory]``: set up, measure, print, write JSON."""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import platform
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from . import cluster
from .cluster import Cluster, WorkerConfig

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
PHASES = {"all": ("core", "timers", "memory"), "core": ("core",), "timers": ("timers",),
          "memory": ("memory",)}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("what", nargs="?", default="all", choices=sorted(PHASES))
    parser.add_argument("--pool", default="solo", choices=["solo", "threads"])
    parser.add_argument("--concurrency", type=int, default=1, help="threads per worker")
    parser.add_argument("--runs", type=int, default=200, help="sequential runs for latency")
    parser.add_argument("--count", type=int, default=1000, help="concurrent runs for throughput")
    parser.add_argument("--timers", type=int, default=1000)
    parser.add_argument(
        "--timer-rate",
        type=float,
        default=25.0,
        help="sleeping workflows started per second for D (0: all at once, which then "
        "measures the queue's backlog more than the timers)",
    )
    parser.add_argument("--sleepers", type=int, default=10_000)
    parser.add_argument(
        "--db-reuse-max",
        type=int,
        default=1000,
        help="CELERY_DB_REUSE_MAX of the workers (0: Celery's default, a new connection per task)",
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the bench database")
    args = parser.parse_args(argv)
    config = WorkerConfig(pool=args.pool, concurrency=args.concurrency)

    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    cluster.configure_environment()
    os.environ["BENCH_DB_REUSE_MAX"] = str(args.db_reuse_max)
    cluster.recreate_database()
    try:
        report = _run(args, config)
    finally:
        from django.db import connections

        connections.close_all()
        # Dropping the database cuts the result listener's connection: expected, not news.
        logging.getLogger("durable_workflows.notify").disabled = True
        if not args.keep_db:
            cluster.drop_database()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nWritten to {RESULTS}")


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _run(args: argparse.Namespace, config: WorkerConfig) -> dict[str, Any]:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from . import measure

    report: dict[str, Any] = {"environment": _environment(config)}
    _print_environment(report["environment"])
    phases = PHASES[args.what]
    if "core" in phases:
        with Cluster("core", config):
            measure.warm_up()
            measure.warm_up_chains()
            wf_latency = measure.workflow_latency(args.runs)
            chain_latency = measure.chain_latency(args.runs)
            wf_throughput = measure.workflow_throughput(args.count)
            chain_throughput = measure.chain_throughput(args.count)
        report["core"] = {
            "workflow": {"latency": measure.percentiles(wf_latency), "throughput": wf_throughput},
            "chain": {
                "latency": measure.percentiles(chain_latency),
                "throughput": chain_throughput,
            },
            "throughput_ratio": round(
                wf_throughput["per_second"] / chain_throughput["per_second"], 3
            ),
        }
        _print_core(report["core"], args)
    if "timers" in phases:
        report["timers"] = {}
        for label, env in (("countdown_fast_path", {}),
                           ("tick_only", {"BENCH_COUNTDOWN_FAST_PATH_MAX": "0"})):  # fmt: skip
            with Cluster(f"timers-{label}", config, env):
                measure.warm_up()
                report["timers"][label] = measure.timer_lateness(args.timers, args.timer_rate)
        _print_timers(report["timers"])
    if "memory" in phases:
        with Cluster("memory", config) as running:
            report["memory"] = measure.sleeping_memory(running, args.sleepers)
        _print_memory(report["memory"])
    report["environment"]["load_after"] = _load()
    print(f"\nLoad average after: {report['environment']['load_after']}")
    return report


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _environment(config: WorkerConfig) -> dict[str, Any]:
    import redis
    from django.conf import settings
    from django.db import connection

    from durable_workflows.conf import dw_settings

    from .measure import CLIENT_THREADS

    db = settings.DATABASES["default"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    redis_version = redis.Redis.from_url(cluster.BROKER_URL).info("server")["redis_version"]
    return {
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, "-m", "bench", *sys.argv[1:]]),
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "load_before": _load(),
        "database": f"PostgreSQL {pg_version} {cluster.DATABASE_URL}",
        "broker": f"Redis {redis_version} {cluster.BROKER_URL}",
        "workers": config.describe(),
        "worker_options": (
            f"queue {cluster.QUEUE}, prefetch multiplier "
            f"{settings.CELERY_WORKER_PREFETCH_MULTIPLIER}, acks_late, --without-mingle "
            f"--without-gossip, -l warning; CONN_MAX_AGE {db['CONN_MAX_AGE']}, "
            f"CELERY_DB_REUSE_MAX {getattr(settings, 'CELERY_DB_REUSE_MAX', None)}, "
            f"DEBUG {settings.DEBUG}"
        ),
        "beat": f"django-celery-beat, tick every {dw_settings.TICK_INTERVAL:g} s (all phases)",
        "client": f"this process, {CLIENT_THREADS} threads for concurrent starts",
    }


def _print_environment(env: dict[str, Any]) -> None:
    print("durable_workflows bench")
    for key in ("started_at", "command", "cpus", "cpu_model", "python", "load_before",
                "database", "broker", "workers", "worker_options", "beat", "client"):  # fmt: skip
        print(f"  {key:<15} {env[key]}")


def _row(label: str, *cells: object) -> None:
    print(f"  {label:<34}" + "".join(f"{c!s:>14}" for c in cells))


def _print_core(core: dict[str, Any], args: argparse.Namespace) -> None:
    wf, ch = core["workflow"], core["chain"]
    print("\nA-C  one-activity workflow vs Celery chain of 3 no-op tasks")
    _row("", "workflow", "chain", "ratio")
    for p in ("p50_ms", "p99_ms", "max_ms"):
        _row(f"latency {p[:-3]} ms ({args.runs} sequential)", wf["latency"][p], ch["latency"][p],
             round(wf["latency"][p] / ch["latency"][p], 2))  # fmt: skip
    _row(f"throughput /s ({args.count} at once)", wf["throughput"]["per_second"],
         ch["throughput"]["per_second"], core["throughput_ratio"])  # fmt: skip
    _row("  first start -> last done, s", wf["throughput"]["seconds"], ch["throughput"]["seconds"])
    _row("  time to start/send all, s", wf["throughput"]["start_seconds"],
         ch["throughput"]["start_seconds"])  # fmt: skip
    verdict = "meets" if core["throughput_ratio"] >= 0.5 else "BELOW"
    print(f"  throughput ratio {core['throughput_ratio']} {verdict} the aim of >= 0.5")


def _print_timers(timers: dict[str, Any]) -> None:
    first = next(iter(timers.values()))
    rate = first["start_rate"]
    pace = f"started at {rate}/s" if isinstance(rate, float) else f"started {rate}"
    print(f"\nD  timer lateness, {first['count']} workflows each sleeping 0.1-5 s, {pace}")
    _row("", "p50 ms", "p99 ms", "max ms", "min ms", "start all, s")
    for label, t in timers.items():
        _row(label, t["p50_ms"], t["p99_ms"], t["max_ms"], t["min_ms"], t["start_seconds"])


def _print_memory(memory: dict[str, Any]) -> None:
    print(f"\nE  worker RSS before / after {memory['count']} workflows asleep (1 h timers)")
    _row("", "before MiB", "after MiB", "delta MiB")
    for i, (before, after) in enumerate(
        zip(memory["rss_before_kib"], memory["rss_after_kib"], strict=True)
    ):
        _row(f"worker {i + 1}", round(before / 1024, 1), round(after / 1024, 1),
             round((after - before) / 1024, 1))  # fmt: skip
    print(f"  all started in {memory['start_seconds']} s, all asleep after "
          f"{memory['asleep_after_seconds']} s")  # fmt: skip
