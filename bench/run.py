"""``python -m bench [all|core|timers|memory|replay|search]``: set up, measure, print, write
JSON. ``search`` runs alone (not in ``all``): it needs only a database of its own."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import itertools
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
PHASES = {"all": ("core", "timers", "memory", "replay", "limits"), "core": ("core",),
          "limits": ("limits",),
          "timers": ("timers",), "memory": ("memory",), "replay": ("replay",),
          "search": ("search",)}  # fmt: skip
#: Phases that need the database, the broker and worker processes.
SERVER_PHASES = {"core", "timers", "memory", "limits"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("what", nargs="?", default="all", choices=sorted(PHASES))
    parser.add_argument("--pool", default="solo", choices=["solo", "threads"])
    parser.add_argument("--concurrency", type=int, default=1, help="threads per worker")
    parser.add_argument(
        "--runs",
        type=int,
        default=None,
        help="sequential runs for latency (default 200); for search: runs inserted "
        "(default 100,000)",
    )
    parser.add_argument(
        "--search-repeats", type=int, default=5, help="search: executions timed per query"
    )
    parser.add_argument("--count", type=int, default=1000, help="concurrent runs for throughput")
    parser.add_argument("--timers", type=int, default=1000)
    parser.add_argument(
        "--timer-rate",
        type=float,
        default=25.0,
        help="sleeping workflows started per second for D (0: all at once, which then "
        "measures the queue's backlog more than the timers)",
    )
    parser.add_argument(
        "--sleepers", type=int, default=10_000, help="memory E: workflows asleep (0: skip)"
    )
    parser.add_argument(
        "--db-reuse-max",
        type=int,
        default=1000,
        help="CELERY_DB_REUSE_MAX of the workers (0: Celery's default, a new connection per task)",
    )
    parser.add_argument(
        "--step-runs",
        type=int,
        default=50,
        help="core G: sequential runs each of a 1- and a 10-activity workflow (0: skip)",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=1000,
        help="core G: activities of the one long sequential workflow (0: skip)",
    )
    parser.add_argument(
        "--step-window",
        type=int,
        default=10,
        help="core G: steps at each end of the long workflow whose median is reported",
    )
    parser.add_argument(
        "--step-clusters",
        default="2:on,2:off,1:on",
        help="core G: its clusters, comma-separated PROCESSES:on|off (the sticky cache on, or "
        "off with MAX_CACHED_RUNS=0), each started afresh. 2 processes: as A-C; 1: one worker "
        "runs every task and activity",
    )
    parser.add_argument(
        "--parked",
        type=int,
        default=3000,
        help="memory H: runs left waiting on an activity, per cache size (0: skip)",
    )
    parser.add_argument(
        "--cache-sizes",
        default="0,100,1000",
        help="memory H: the MAX_CACHED_RUNS of the workers, one cluster each (comma-separated)",
    )
    parser.add_argument("--replay-events", type=int, default=10_000, help="replay F: history size")
    parser.add_argument("--replay-repeats", type=int, default=5, help="replay F: cold replays")
    parser.add_argument("--keep-db", action="store_true", help="keep the bench database")
    args = parser.parse_args(argv)
    config = WorkerConfig(pool=args.pool, concurrency=args.concurrency)

    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    cluster.configure_environment()
    if args.what == "search":
        args.runs = 100_000 if args.runs is None else args.runs
        _write(_run_search(args))
        return
    args.runs = 200 if args.runs is None else args.runs
    if not SERVER_PHASES & set(PHASES[args.what]):
        report = _run_engine_only(args)
        _write(report)
        return
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
    _write(report)


def _write(report: dict[str, Any]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nWritten to {RESULTS}")


def _run_engine_only(args: argparse.Namespace) -> dict[str, Any]:
    """The phases that need no servers (replay): no database is created."""
    import django

    django.setup()
    env = {
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, "-m", "bench", *sys.argv[1:]]),
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "load_before": _load(),
    }
    print("durable_workflows bench (engine only: no database, broker or workers)")
    for key, value in env.items():
        print(f"  {key:<15} {value}")
    report: dict[str, Any] = {"environment": env}
    _run_replay(args, report)
    report["environment"]["load_after"] = _load()
    print(f"\nLoad average after: {report['environment']['load_after']}")
    return report


def _run_search(args: argparse.Namespace) -> dict[str, Any]:
    """Search by attribute on a database of its own (no broker, no workers): its own
    name, so a search bench never drops the database another bench is using."""
    import django
    from django.core.management import call_command

    os.environ["DATABASE_URL"] = f"{cluster.PG}/{cluster.SEARCH_DB_NAME}"
    cluster.recreate_database(cluster.SEARCH_DB_NAME)
    try:
        django.setup()
        call_command("migrate", verbosity=0)
        from . import search

        env = {
            "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.executable).name, "-m", "bench", *sys.argv[1:]]),
            "cpus": os.cpu_count(),
            "cpu_model": _cpu_model(),
            "python": platform.python_version(),
            "load_before": _load(),
            "database": f"{_pg_version()} {os.environ['DATABASE_URL']}",
        }
        print("durable_workflows bench (search: the database only)")
        for key, value in env.items():
            print(f"  {key:<15} {value}")
        result = search.search_costs(args.runs, args.search_repeats)
        search.print_costs(result)
        env["load_after"] = _load()
        print(f"\nLoad average after: {env['load_after']}")
        return {"environment": env, "search": result}
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            cluster.drop_database(cluster.SEARCH_DB_NAME)


def _pg_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return f"PostgreSQL {cursor.fetchone()[0]}"


def _run_replay(args: argparse.Namespace, report: dict[str, Any]) -> None:
    from . import replay

    load = _load()
    report["replay"] = replay.replay_costs(args.replay_events, args.replay_repeats)
    report["replay"]["load_before"] = load
    _print_replay(report["replay"])


def _step_clusters(args: argparse.Namespace) -> list[tuple[int, str]]:
    """G's clusters as (worker processes, "on" | "off"), from ``--step-clusters``."""
    if not (args.step_runs or args.steps):
        return []
    clusters = []
    for item in args.step_clusters.split(","):
        processes, _, mode = item.strip().partition(":")
        if mode not in ("on", "off") or not processes.isdigit() or int(processes) < 1:
            raise SystemExit(f"--step-clusters: {item!r} is not PROCESSES:on|off.")
        clusters.append((int(processes), mode))
    return clusters


def _sticky_parts(args: argparse.Namespace) -> dict[str, Any]:
    from . import measure

    parts: dict[str, Any] = {}
    if args.step_runs:
        load = _load()
        parts["extra_activity"] = {
            "load_before": load,
            **measure.per_extra_activity(args.step_runs),
        }
    if args.steps:
        load = _load()
        parts["long_run"] = {
            "load_before": load,
            **measure.step_costs(args.steps, args.step_window),
        }
    return parts


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
        # Each of G's parts on fresh workers, none after A-C's backlog of 1,000 runs.
        sticky: dict[str, Any] = {}
        for n, mode in _step_clusters(args):
            env = {"BENCH_MAX_CACHED_RUNS": "0"} if mode == "off" else {}
            with Cluster(f"core-{n}p-cache-{mode}", dataclasses.replace(config, processes=n), env):
                measure.warm_up()
                sticky[f"{n}p cache {mode}"] = _sticky_parts(args)
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
        if sticky:
            report["core"]["sticky"] = sticky
        _print_core(report["core"], args)
        if sticky:
            _print_sticky(sticky)
    if "limits" in phases:
        from . import limits

        with Cluster("limits", config):
            measure.warm_up()
            load = _load()
            report["limits"] = {"load_before": load, **limits.limit_costs(args.runs, args.count)}
        limits.print_costs(report["limits"])
    if "timers" in phases:
        report["timers"] = {}
        for label, env in (("countdown_fast_path", {}),
                           ("tick_only", {"BENCH_COUNTDOWN_FAST_PATH_MAX": "0"})):  # fmt: skip
            with Cluster(f"timers-{label}", config, env):
                measure.warm_up()
                report["timers"][label] = measure.timer_lateness(args.timers, args.timer_rate)
        _print_timers(report["timers"])
    if "memory" in phases and args.sleepers:
        with Cluster("memory", config) as running:
            report["memory"] = measure.sleeping_memory(running, args.sleepers)
        _print_memory(report["memory"])
    if "memory" in phases and args.parked:
        report["cached_memory"] = {}
        for size in (int(s) for s in args.cache_sizes.split(",")):
            load = _load()
            with Cluster(f"memory-cache{size}", config, {"BENCH_MAX_CACHED_RUNS": str(size)}) as c:
                result = measure.cached_memory(c, args.parked)
            report["cached_memory"][str(size)] = {"load_before": load, **result}
        _print_cached_memory(report["cached_memory"])
    if "replay" in phases:
        _run_replay(args, report)
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


def _print_sticky(sticky: dict[str, Any]) -> None:
    modes = list(sticky)
    print("\nG  cost of a step; sticky cache on (MAX_CACHED_RUNS default) / off (0); "
          "2p / 1p: worker processes")  # fmt: skip
    _row("", *modes)

    def hits(part: dict[str, Any]) -> str:
        c = part["cache"]
        return f"{c['continued']}/{c['stale']}/{c['replayed']}"

    extra = [sticky[m].get("extra_activity") for m in modes]
    if all(extra):
        runs = extra[0]["runs"]
        _row(f"1 activity p50 ms ({runs} runs)", *(e["one_activity"]["p50_ms"] for e in extra))
        _row(f"10 activities p50 ms ({runs} runs)",
             *(e["ten_activities"]["p50_ms"] for e in extra))  # fmt: skip
        _row("per extra activity ms", *(e["per_extra_activity_ms"] for e in extra))
        _row("  tasks: cache hit/stale/replay", *(hits(e) for e in extra))
        _row("  load before", *(e["load_before"][0] for e in extra))
    long = [sticky[m].get("long_run") for m in modes]
    if all(long):
        n, w = long[0]["steps"], long[0]["window"]
        _row(f"{n}-step run: steps 1-{w} p50 ms", *(x["first_p50_ms"] for x in long))
        _row(f"  steps {n - w + 1}-{n} p50 ms", *(x["last_p50_ms"] for x in long))
        _row("  last / first", *(x["ratio"] for x in long))
        _row("  whole run s", *(x["seconds"] for x in long))
        _row("  tasks: cache hit/stale/replay", *(hits(x) for x in long))
        _row("  events replayed", *(x["cache"]["replayed_events"] for x in long))
        _row("  load before", *(x["load_before"][0] for x in long))


def _print_cached_memory(cached: dict[str, Any]) -> None:
    first = next(iter(cached.values()))
    starts = [p["started"] for p in first["points"]]
    print(f"\nH  worker cache size / RSS MiB as {first['count']} runs wait on an activity "
          "that no worker serves")  # fmt: skip
    _row("MAX_CACHED_RUNS, worker", *(f"@{n} started" for n in starts))
    for size, result in cached.items():
        names = list(result["points"][0]["workers"])
        for i, name in enumerate(names):
            cells = []
            for point in result["points"]:
                stats = point["workers"].get(name)
                cells.append(
                    f"{stats['cached_runs']} / {stats['rss_kib'] / 1024:.1f}" if stats else "?"
                )
            _row(f"{size}, worker {i + 1}", *cells)

    for size, result in cached.items():
        first_point, last_point = result["points"][0]["workers"], result["points"][-1]["workers"]
        growth = [
            (last_point[name]["rss_kib"] - first_point[name]["rss_kib"]) / 1024
            for name in first_point
            if name in last_point
        ]
        print(f"  MAX_CACHED_RUNS {size}: RSS growth from @0, per worker: "
              + ", ".join(f"{g:+.1f} MiB" for g in growth))  # fmt: skip

    def last(result: dict[str, Any], key: str) -> int:
        return sum(stats[key] for stats in result["points"][-1]["workers"].values())

    sizes = sorted(cached, key=int)
    for smaller, larger in itertools.pairwise(sizes):
        runs = last(cached[larger], "cached_runs") - last(cached[smaller], "cached_runs")
        kib = last(cached[larger], "rss_kib") - last(cached[smaller], "rss_kib")
        if runs > 0:
            print(f"  MAX_CACHED_RUNS {larger} vs {smaller}: {runs:+} runs cached, RSS "
                  f"{kib / 1024:+.1f} MiB ({kib / runs:.1f} KiB a run)")  # fmt: skip


def _print_replay(replay: dict[str, Any]) -> None:
    cold, cached = replay["cold_replay"], replay["cached_task"]
    goals = replay["goals"]
    print(f"\nF  replay in memory: a {replay['history_events']}-event history "
          f"({replay['steps']} sequential activities), "
          f"built in {replay['build_seconds']} s")  # fmt: skip
    verdict = "meets" if cold["median_ms"] <= goals["cold_replay_seconds_max"] * 1000 else "MISSES"
    print(f"  cold replay (run_workflow_task), median of {cold['repeats']}: {cold['median_ms']} ms "
          f"(min {cold['min_ms']}, max {cold['max_ms']}); {verdict} the goal of <= "
          f"{goals['cold_replay_seconds_max'] * 1000:g} ms")  # fmt: skip
    print(f"  query replay (replay_for_query), median: {replay['query_replay']['median_ms']} ms")
    early, late = cached["early"], cached["late"]
    _row("cached task (continue_workflow_task)", "early", "late", "late/early")
    _row("  at history events", "-".join(map(str, early["history_events"])),
         "-".join(map(str, late["history_events"])), "")  # fmt: skip
    _row("  samples", early["samples"], late["samples"], "")
    _row("  p50 us", early["p50_us"], late["p50_us"], cached["ratio_p50"])
    _row("  mean us", early["mean_us"], late["mean_us"],
         round(late["mean_us"] / early["mean_us"], 2))  # fmt: skip
    _row("  + awaits_activity p50 us", early["awaits_activity_p50_us"],
         late["awaits_activity_p50_us"], cached["ratio_with_awaits_activity_p50"])  # fmt: skip
    verdict = "meets" if cached["ratio_p50"] <= goals["cached_ratio_max"] else "MISSES"
    print(f"  cached task late/early {cached['ratio_p50']} (p50) {verdict} the goal of <= "
          f"{goals['cached_ratio_max']}; with the worker's awaits_activity check "
          f"{cached['ratio_with_awaits_activity_p50']}")  # fmt: skip
