"""``python -m bench.chaos [--workflows 1000] [--activities 4]``: a chaos soak.

PostgreSQL + Redis, 3 worker processes (``--pool=solo``) and beat. N ChaosWorkflow
runs, each ``--activities`` activities in sequence with a durable sleep (``--sleep-min``
to ``--sleep-max`` seconds) between steps; every activity attempt inserts a side effect
row per (run, step). While they run:

- a random worker is ``kill -9``-ed every ``--kill-every`` seconds and a new one started;
- beat is ``kill -9``-ed once (at 15 % of the steps done) and restarted ``--beat-down`` s later;
- the database connections of the workers are terminated once (``pg_terminate_backend``
  of the backends whose application_name is one of this soak's workers; at 35 %);
- Redis is shut down without saving once (at 55 %) and started again. Redis is shared by
  everything on this machine (other Redis databases too): ``--no-redis-restart`` skips it.

Then it checks: every run COMPLETED with the right result; histories gap-free with one
close event; every ActivityTaskScheduled with exactly one outcome; side effects at least
once per (run, step), and every duplicate explained by a kill or a terminated connection
(the superseded attempt was running on that worker at that moment); nothing stuck (no
RUNNING run, pending workflow task, open activity or pending timer) after ``--deadline``.

Figures: kills, duplicates, wall time (first start to last close), the slowest recovery
(from a kill, or a connection termination, to the next history event of each run whose
activity attempt the worker was running), the longest stall of a run (the longest gap
between consecutive history events, a TimerFired counted from the timer's due time; it
includes queueing behind other runs), the tasks each worker failed after its connection
was terminated, and the warnings and errors in the worker and beat logs.

It creates (and drops, unless ``--keep-db``) its own database, default
``durable_workflows_chaos``, and uses the bench's Redis database 13 on a queue of its own
(``chaos-<random>``), so it neither flushes nor disturbs another user of that database.
Prints a table, writes ``bench/results/chaos-latest.json`` and exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import itertools
import json
import logging
import os
import platform
import random
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
import redis

from . import cluster
from .cluster import LOGS, PG, Process

RESULTS = Path(__file__).resolve().parent / "results" / "chaos-latest.json"
DEFAULT_DB = "durable_workflows_chaos"
REDIS_PORT = 6379
#: Exactly how this machine's Redis is started (no persistence: a restart loses everything).
REDIS_START = shlex.split(
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no '
    "--dir /var/lib/redis --logfile /var/log/redis/ci.log"
)
#: The one-time events, at these fractions of all (run, step) side effects recorded.
ONE_TIME_EVENTS = (("beat_kill", 0.15), ("pg_terminate", 0.35), ("redis_restart", 0.55))
OUTCOMES = {
    "ActivityTaskCompleted",
    "ActivityTaskFailed",
    "ActivityTaskTimedOut",
    "ActivityTaskCanceled",
}
CLOSE_EVENTS = {
    "WorkflowExecutionCompleted",
    "WorkflowExecutionFailed",
    "WorkflowExecutionTimedOut",
    "WorkflowExecutionCanceled",
    "WorkflowExecutionTerminated",
    "WorkflowExecutionContinuedAsNew",
}
HOST = socket.gethostname()
#: More exits than this that the soak did not cause is a crash loop, not chaos.
MAX_UNEXPECTED_EXITS = 10


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    tag = uuid.uuid4().hex[:6]
    queue = f"chaos-{tag}"
    database_url = f"{PG}/{args.database}"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=args.broker,
        BENCH_QUEUE=queue,
        PYTHONUNBUFFERED="1",
    )
    cluster.recreate_database(args.database)
    soak: Soak | None = None
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        soak = Soak(args, tag, queue, database_url)
        report = soak.run()
    finally:
        if soak is not None:
            soak.stop_processes()
        if args.redis_restart:
            ensure_redis_up()
        with contextlib.suppress(redis.RedisError, OSError):
            forget_queue(args.broker, queue)
        from django.db import connections

        connections.close_all()
        logging.getLogger("durable_workflows.notify").disabled = True
        if not args.keep_db:
            cluster.drop_database(args.database)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, default=str) + "\n")
    _print(report)
    print(f"\nWritten to {RESULTS}")
    failed = [c["name"] for c in report["checks"] if not c["ok"]]
    print("FAIL: " + "; ".join(failed) if failed else "PASS")
    sys.exit(1 if failed else 0)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chaos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--workflows", type=int, default=1000)
    add("--activities", type=int, default=4, help="activities per workflow (sleeps between)")
    add("--workers", type=int, default=3, help="worker processes (--pool=solo) at any time")
    add("--sleep-min", type=float, default=1.0, help="durable sleep between steps, seconds")
    add("--sleep-max", type=float, default=3.0)
    add(
        "--activity-seconds",
        type=float,
        default=0.05,
        help="work in each activity after its side effect row (a kill inside it duplicates; "
        "solo workers run one at a time, so this bounds the throughput)",
    )
    add("--start-to-close", type=float, default=10.0, help="activity attempt timeout, seconds")
    add(
        "--start-rate",
        type=float,
        default=0.0,
        help="workflows started per second (0: all at once, from 4 threads)",
    )
    add("--kill-every", type=float, default=5.0, help="seconds between worker kills (0: none)")
    add("--beat-down", type=float, default=3.0, help="seconds beat stays dead")
    add("--redis-down", type=float, default=1.0, help="seconds Redis stays down")
    add("--no-beat-kill", dest="beat_kill", action="store_false")
    add("--no-pg-terminate", dest="pg_terminate", action="store_false")
    add(
        "--no-redis-restart",
        dest="redis_restart",
        action="store_false",
        help="skip the Redis restart (it disconnects every client of this Redis server)",
    )
    add(
        "--deadline",
        type=float,
        default=None,
        help="seconds after the last start by which every run must be closed; later ones "
        "count as stuck (default: 120 + 0.1 s per activity)",
    )
    add("--database", default=DEFAULT_DB, help="database to create (dropped at the end)")
    add("--broker", default=cluster.BROKER_URL, help="Redis URL (not flushed: own queue)")
    add("--seed", type=int, default=None, help="random seed (default: random)")
    add("--keep-db", action="store_true", help="keep the database for inspection")
    args = parser.parse_args(argv)
    if args.workflows < 1 or args.activities < 1 or args.workers < 1:
        parser.error("--workflows, --activities and --workers must be at least 1")
    if not 0 <= args.sleep_min <= args.sleep_max:
        parser.error("need 0 <= --sleep-min <= --sleep-max")
    if args.deadline is None:
        args.deadline = 120.0 + 0.1 * args.workflows * args.activities
    if args.seed is None:
        args.seed = random.randrange(1_000_000)
    return args


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


# --- Redis ----------------------------------------------------------------------------------


def redis_pings() -> bool:
    try:
        return bool(redis.Redis(port=REDIS_PORT, socket_timeout=1, socket_connect_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"Timed out after {timeout} s waiting for {what}.")
        time.sleep(0.1)


def start_redis() -> None:
    subprocess.run(REDIS_START, check=True, capture_output=True, timeout=30)
    wait_for(redis_pings, 30, "Redis to answer PONG")


def ensure_redis_up() -> None:
    """Whatever went wrong, leave this machine's Redis running."""
    if not redis_pings():
        with contextlib.suppress(Exception):
            start_redis()


def forget_queue(url: str, queue: str) -> None:
    """Delete this soak's queue from the broker database, and the deliveries to it that
    killed workers left unacknowledged (else a consumer of that database would restore
    them, an hour later, into a queue nobody reads). Nothing of anyone else's."""
    client = redis.Redis.from_url(url, socket_timeout=5)
    for key in client.scan_iter(match=f"*{queue}*"):
        client.delete(key)
    for tag, raw in client.hscan_iter("unacked"):
        with contextlib.suppress(ValueError, IndexError, TypeError):
            if json.loads(raw)[2] == queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)


# --- the soak -------------------------------------------------------------------------------


@dataclass
class Node:
    """One worker process: its Celery node name, and whether it answered a ping yet."""

    name: str
    node: str
    process: Process
    started: float
    ready: bool = False


@dataclass
class Event:
    kind: str
    at: float  # epoch seconds
    detail: dict[str, Any] = field(default_factory=dict)
    #: (run id, activity id, attempt) of the activity attempts the affected workers were running
    held: list[tuple[str, str, int]] = field(default_factory=list)


class Soak:
    def __init__(self, args: argparse.Namespace, tag: str, queue: str, database_url: str) -> None:
        self.args = args
        self.tag = tag
        self.queue = queue
        self.database_url = database_url
        self.rng = random.Random(args.seed)
        self.logs = LOGS / "chaos" / args.database
        self.logs.mkdir(parents=True, exist_ok=True)
        for old in self.logs.glob("*.log"):
            old.unlink()
        self.env = dict(os.environ)
        self.nodes: list[Node] = []
        self.every_node: dict[str, Node] = {}  # by name, the dead ones too
        self.killed_at: dict[str, float] = {}  # worker name -> when this soak killed it
        self.ended: float | None = None
        self.dead_pids: dict[int, float] = {}  # pid -> when this soak killed it
        self.worker_count = 0
        self.beat: Process | None = None
        self.beat_count = 0
        self.beat_restart_at: float | None = None
        self.events: list[Event] = []
        self.unexpected_exits: list[dict[str, Any]] = []
        self.starter_error: BaseException | None = None
        self.started_runs = 0
        self.starts_done_at: float | None = None

    # --- processes ---

    def _log_name(self, name: str) -> str:
        return str((self.logs / name).relative_to(LOGS))

    def start_worker(self) -> Node:
        self.worker_count += 1
        name = f"w{self.worker_count}"
        env = {
            **self.env,
            "DATABASE_URL": f"{self.database_url}?application_name={self._app(name)}",
        }
        node = f"{name}-{self.tag}@chaos"
        process = Process(
            self._log_name(f"worker{self.worker_count}"),
            [
                "worker",
                "-Q",
                self.queue,
                "-n",
                node,
                "--pool=solo",
                "--without-mingle",
                "--without-gossip",
                "-l",
                "warning",
            ],
            env,
        )
        started = Node(name, node, process, time.time())
        self.nodes.append(started)
        self.every_node[name] = started
        return started

    def _app(self, name: str) -> str:
        """The application_name of a worker's database connections."""
        return f"chaos-{self.tag}-{name}"

    def start_beat(self) -> None:
        self.beat_count += 1
        self.beat = Process(
            self._log_name(f"beat{self.beat_count}"),
            [
                "beat",
                "-l",
                "info",
                "--pidfile=",
                "--scheduler",
                "django_celery_beat.schedulers:DatabaseScheduler",
            ],
            self.env,
        )

    def stop_processes(self) -> None:
        for node in self.nodes:
            node.process.stop()
        if self.beat is not None:
            self.beat.stop()

    def _ping(self) -> None:
        """Mark the workers that answer a ping as ready (the victims are picked among them)."""
        waiting = {n.node: n for n in self.nodes if not n.ready}
        if not waiting:
            return
        from example_project.celery import app

        try:
            replies = app.control.ping(destination=sorted(waiting), timeout=0.5)
        except Exception:  # the broker may be down: that is the point of the soak
            return
        for reply in replies:
            for name in reply:
                if name in waiting:
                    waiting[name].ready = True

    def _reap(self) -> None:
        """Replace any worker (or beat) that exited without being killed by the soak."""
        for node in list(self.nodes):
            code = node.process.popen.poll()
            if code is not None:
                self.unexpected_exits.append(_exit(node.name, code, node.process))
                self.nodes.remove(node)
                self._check_crash_loop()
                self.start_worker()
        if self.beat is not None and self.beat.popen.poll() is not None:
            self.unexpected_exits.append(_exit("beat", self.beat.popen.returncode, self.beat))
            self._check_crash_loop()
            self.start_beat()

    def _check_crash_loop(self) -> None:
        """Processes that keep dying on their own (code that does not start, say) end the soak."""
        if len(self.unexpected_exits) > MAX_UNEXPECTED_EXITS:
            reasons = Counter(x["why"] for x in self.unexpected_exits)
            raise RuntimeError(
                f"{len(self.unexpected_exits)} worker or beat processes exited on their own; "
                f"the soak stops. Why, most frequent first: {reasons.most_common(3)}"
            )

    # --- chaos ---

    def _held_by(self, pids: list[int]) -> list[tuple[str, str, int]]:
        """Activity attempts that these worker processes have STARTED and not closed."""
        from django.db.models import Q

        from durable_workflows.models import ActivityStatus, ActivityTask

        if not pids:
            return []
        mine = Q()
        for pid in pids:
            mine |= Q(worker_identity__startswith=f"{HOST}:{pid}:")
        rows = ActivityTask.objects.filter(mine, status=ActivityStatus.STARTED).values_list(
            "execution__run_id", "activity_id", "attempt"
        )
        return [(str(run_id), activity_id, attempt) for run_id, activity_id, attempt in rows]

    def kill_worker(self) -> None:
        ready = [n for n in self.nodes if n.ready]
        if not ready:
            self.events.append(Event("worker_kill_skipped", time.time(), {"why": "none ready"}))
            return
        victim = self.rng.choice(ready)
        at = time.time()
        victim.process.kill9()
        self.dead_pids[victim.process.pid] = at
        self.killed_at[victim.name] = at
        self.nodes.remove(victim)
        time.sleep(0.2)  # a commit it sent just before dying lands, or never will
        held = self._held_by([victim.process.pid])
        replacement = self.start_worker()
        self.events.append(
            Event(
                "worker_kill",
                at,
                {
                    "worker": victim.name,
                    "pid": victim.process.pid,
                    "replacement": replacement.name,
                    "uptime_s": round(at - victim.started, 1),
                },
                held,
            )
        )

    def kill_beat(self) -> None:
        assert self.beat is not None
        at = time.time()
        self.beat.kill9()
        self.beat = None
        self.beat_restart_at = at + self.args.beat_down
        self.events.append(Event("beat_kill", at, {"down_s": self.args.beat_down}))

    def terminate_connections(self) -> None:
        """pg_terminate_backend every backend of this soak's workers (by application_name)."""
        pids = {self._app(n.name): n.process.pid for n in self.nodes}
        before = self._held_by(list(pids.values()))
        at = time.time()
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            rows = conn.execute(
                "SELECT application_name, pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND application_name = ANY(%s) AND pid <> pg_backend_pid()",
                [self.args.database, list(pids)],
            ).fetchall()
        hit = sorted({name for name, ok in rows if ok})
        held = sorted(set(before) | set(self._held_by([pids[name] for name in hit])))
        self.events.append(
            Event(
                "pg_terminate",
                at,
                {
                    "backends": sum(1 for _, ok in rows if ok),
                    "workers": hit,
                    "pids": [pids[name] for name in hit],
                },
                held,
            )
        )

    def restart_redis(self) -> None:
        at = time.time()
        subprocess.run(
            ["redis-cli", "-p", str(REDIS_PORT), "shutdown", "nosave"],
            capture_output=True,
            timeout=30,
        )
        wait_for(lambda: not redis_pings(), 30, "Redis to shut down")
        time.sleep(self.args.redis_down)
        start_redis()
        up = time.time()
        self.events.append(Event("redis_restart", at, {"down_s": round(up - at, 2), "up_at": up}))

    # --- the run ---

    def _start_runs(self, plan: list[tuple[int, list[float]]]) -> None:
        from django.db import connections

        from durable_workflows import Client

        from .app.workflows import ChaosWorkflow
        from .measure import in_threads

        client = Client()
        a = self.args

        def start(item: tuple[int, list[float]]) -> None:
            tag, naps = item
            client.start_workflow(
                ChaosWorkflow.run,
                tag,
                naps,
                a.activity_seconds,
                a.start_to_close,
                id=f"chaos-{tag}",
            )
            self.started_runs += 1  # for the progress lines only (threads may race)

        try:
            if a.start_rate <= 0:
                in_threads(start, plan)
            else:
                began = time.monotonic()
                for i, item in enumerate(plan):
                    time.sleep(max(0.0, began + i / a.start_rate - time.monotonic()))
                    start(item)
        except BaseException as exc:
            self.starter_error = exc
        finally:
            connections.close_all()
            self.starts_done_at = time.time()

    def run(self) -> dict[str, Any]:
        from bench.app.models import SideEffect
        from durable_workflows.models import WorkflowExecution, WorkflowStatus

        a = self.args
        began = time.time()
        self.start_beat()
        for _ in range(a.workers):
            self.start_worker()
        wait_for(
            lambda: (self._reap(), self._ping(), all(n.ready for n in self.nodes))[2],
            120,
            "the workers to answer a ping",
        )
        setup_s = time.time() - began
        print(
            f"chaos soak: {a.workflows} workflows x {a.activities} activities, {a.workers} "
            f"workers, kill every {a.kill_every:g} s, seed {a.seed}, queue {self.queue}",
            flush=True,
        )
        plan = [
            (
                i,
                [
                    round(self.rng.uniform(a.sleep_min, a.sleep_max), 2)
                    for _ in range(a.activities - 1)
                ],
            )
            for i in range(a.workflows)
        ]
        total_steps = a.workflows * a.activities
        first_start = time.time()
        starter = threading.Thread(target=self._start_runs, args=(plan,), daemon=True)
        starter.start()
        # Each one-time event unless its --no-... option was given (dest = the event's kind).
        pending_once = [(kind, at) for kind, at in ONE_TIME_EVENTS if getattr(a, kind)]
        next_kill = first_start + a.kill_every if a.kill_every > 0 else float("inf")
        last_once = 0.0
        last_print = 0.0
        timed_out = False
        while True:
            now = time.time()
            if (
                self.beat is None
                and self.beat_restart_at is not None
                and now >= self.beat_restart_at
            ):
                self.start_beat()
                self.beat_restart_at = None
            self._reap()
            self._ping()
            steps_done = SideEffect.objects.values("run_id", "step").distinct().count()
            closed = WorkflowExecution.objects.exclude(status=WorkflowStatus.RUNNING).count()
            if now - last_print >= 10:
                print(
                    f"  t={now - first_start:6.1f}s started {self.started_runs}/{a.workflows} "
                    f"steps {steps_done}/{total_steps} closed {closed} "
                    f"kills {sum(e.kind == 'worker_kill' for e in self.events)}",
                    flush=True,
                )
                last_print = now
            if self.starter_error is not None:
                raise RuntimeError("Starting the workflows failed.") from self.starter_error
            if self.starts_done_at is not None and closed >= a.workflows:
                break
            if self.starts_done_at is not None and now > self.starts_done_at + a.deadline:
                timed_out = True
                break
            if now >= next_kill:
                self.kill_worker()
                next_kill = now + a.kill_every
            if pending_once and self.beat is not None:
                kind, fraction = pending_once[0]
                if steps_done >= fraction * total_steps and now - last_once >= 3:
                    pending_once.pop(0)
                    {
                        "beat_kill": self.kill_beat,
                        "pg_terminate": self.terminate_connections,
                        "redis_restart": self.restart_redis,
                    }[kind]()
                    last_once = time.time()
            time.sleep(0.5)
        ended = self.ended = time.time()
        self.stop_processes()
        report = analyse(self, first_start, ended, timed_out, [k for k, _ in pending_once])
        report["environment"] = _environment(self, setup_s)
        return report


def _exit(name: str, code: int | None, process: Process) -> dict[str, Any]:
    """An exit the soak did not cause: when, its exit code, and why (from its log)."""
    tail = process.log_path.read_text(errors="replace")[-3000:]
    why = [line for line in tail.splitlines() if "CRITICAL" in line or "Unrecoverable" in line]
    return {
        "process": name,
        "code": code,
        "at": time.time(),
        "why": (why or tail.strip().splitlines()[-1:] or ["?"])[-1][:200],
        "log_tail": tail,
    }


# --- the checks -----------------------------------------------------------------------------


def _check(name: str, ok: bool, detail: str, **data: Any) -> dict[str, Any]:
    return {"name": name, "ok": bool(ok), "detail": detail, **data}


def analyse(
    soak: Soak, first_start: float, ended: float, timed_out: bool, missed_events: list[str]
) -> dict[str, Any]:
    from bench.app.activities import chaos_result
    from bench.app.models import SideEffect
    from durable_workflows.models import (
        ActivityStatus,
        ActivityTask,
        HistoryEvent,
        Timer,
        TimerStatus,
        WorkflowExecution,
        WorkflowStatus,
    )

    a = soak.args
    columns = ("workflow_id", "status", "result", "history_length", "close_time", "task_pending")
    runs = {
        str(run_id): values
        for run_id, *values in WorkflowExecution.objects.values_list("run_id", *columns)
    }
    by_pk = dict(WorkflowExecution.objects.values_list("pk", "run_id"))
    histories: dict[str, list[tuple[int, str, datetime.datetime, dict[str, Any]]]] = defaultdict(
        list
    )
    for execution_id, event_id, event_type, timestamp, attributes in HistoryEvent.objects.order_by(
        "execution_id", "event_id"
    ).values_list("execution_id", "event_id", "event_type", "timestamp", "attributes"):
        histories[str(by_pk[execution_id])].append((event_id, event_type, timestamp, attributes))

    checks = []

    # 1. Every run COMPLETED with the right result.
    wrong = []
    for workflow_id, status, result, *_rest in runs.values():
        tag = int(workflow_id.removeprefix("chaos-"))
        expected = [chaos_result(tag, step) for step in range(a.activities)]
        if status != WorkflowStatus.COMPLETED or result != expected:
            wrong.append(f"{workflow_id}: {status} {result!r}")
    completed_ok = len(runs) - len(wrong)
    checks.append(
        _check(
            "every run COMPLETED with the right result",
            len(runs) == a.workflows and not wrong,
            f"{completed_ok}/{a.workflows}",
            failures=wrong[:20],
        )
    )

    # 2. Histories gap-free (1..n, = history_length) with exactly one close event, the last.
    # 3. Every ActivityTaskScheduled has exactly one outcome (and every outcome a schedule).
    bad_history, bad_activity = [], []
    scheduled_total = 0
    completed_attempt: dict[tuple[str, int], int] = {}  # (run, step) -> attempt that completed
    stalls: list[tuple[float, str, str, str, float]] = []  # (seconds, run, from, to, at)
    progress: dict[str, list[float]] = {}  # run -> event timestamps (epoch), in order
    for run_id, events in histories.items():
        workflow_id, _status, _result, length, *_rest = runs[run_id]
        ids = [e[0] for e in events]
        closes = [e for e in events if e[1] in CLOSE_EVENTS]
        if ids != list(range(1, len(ids) + 1)) or len(ids) != length:
            bad_history.append(f"{workflow_id}: ids {ids[:3]}..{ids[-3:]} length {length}")
        elif len(closes) != 1 or events[-1][1] not in CLOSE_EVENTS:
            bad_history.append(f"{workflow_id}: close events {[e[1] for e in closes]}")
        scheduled: dict[int, str] = {}
        outcomes: Counter[int] = Counter()
        started_attempt: dict[int, int] = {}
        for _event_id, event_type, _ts, attrs in events:
            if event_type == "ActivityTaskScheduled":
                scheduled[_event_id] = attrs.get("activity_id", "")
            elif event_type in OUTCOMES:
                outcomes[attrs["scheduled_event_id"]] += 1
            elif event_type == "ActivityTaskStarted":
                started_attempt[attrs["scheduled_event_id"]] = attrs["attempt"]
        scheduled_total += len(scheduled)
        if len(scheduled) != a.activities:
            bad_activity.append(f"{workflow_id}: {len(scheduled)} activities scheduled")
        for event_id in scheduled:
            if outcomes[event_id] != 1:
                bad_activity.append(
                    f"{workflow_id}: activity {event_id} has {outcomes[event_id]} outcome events"
                )
        for event_id in set(outcomes) - set(scheduled):
            bad_activity.append(f"{workflow_id}: an outcome for unscheduled event {event_id}")
        for event_id, activity_id in scheduled.items():
            if event_id in started_attempt and activity_id.startswith("step-"):
                completed_attempt[(run_id, int(activity_id.removeprefix("step-")))] = (
                    started_attempt[event_id]
                )
        stalls.extend(_stalls(run_id, events))
        progress[run_id] = [e[2].timestamp() for e in events]
    missing = set(runs) - set(histories)
    bad_history.extend(f"{runs[r][0]}: no history" for r in missing)
    checks.append(
        _check(
            "histories gap-free (ids 1..n), exactly one close event, last",
            not bad_history and len(histories) == a.workflows,
            f"{len(histories) - len(bad_history)}/{a.workflows}",
            failures=bad_history[:20],
        )
    )
    checks.append(
        _check(
            "every ActivityTaskScheduled has exactly one outcome event",
            not bad_activity and scheduled_total == a.workflows * a.activities,
            f"{scheduled_total} scheduled, {len(bad_activity)} anomalies",
            failures=bad_activity[:20],
        )
    )

    # 4. Side effects: at least once per (run, step); duplicates, each explained.
    rows = list(
        SideEffect.objects.order_by("created").values_list(
            "run_id", "step", "attempt", "worker_pid", "created"
        )
    )
    per_step: Counter[tuple[str, int]] = Counter((str(r[0]), r[1]) for r in rows)
    expected_steps = {(r, s) for r in runs for s in range(a.activities)}
    never = sorted(expected_steps - set(per_step))
    duplicates = sum(n - 1 for n in per_step.values())
    held: dict[tuple[str, str, int], str] = {}
    for event in soak.events:
        for key in event.held:
            held.setdefault(key, event.kind)
    terminated_pids: dict[int, float] = {}
    for event in soak.events:
        if event.kind == "pg_terminate":
            for pid in event.detail["pids"]:
                terminated_pids[pid] = event.at
    explained: Counter[str] = Counter()
    unexplained = []
    seen: Counter[tuple[str, int, int]] = Counter()
    for run_id, step, attempt, pid, created in rows:
        run_id = str(run_id)
        seen[(run_id, step, attempt)] += 1
        if seen[(run_id, step, attempt)] == 1 and completed_attempt.get((run_id, step)) == attempt:
            continue  # the attempt that completed: not a duplicate
        cause = held.get((run_id, f"step-{step}", attempt))
        if cause is None and soak.dead_pids.get(pid, 0) >= created.timestamp():
            cause = "worker_kill"  # killed after writing the row, missed by the snapshot
        if cause is None and terminated_pids.get(pid, 0) >= created.timestamp():
            cause = "pg_terminate"
        if cause is None:
            unexplained.append(f"{runs[run_id][0]} step {step} attempt {attempt} pid {pid}")
        else:
            explained[cause] += 1
    worker_kills = sum(e.kind == "worker_kill" for e in soak.events)
    checks.append(
        _check(
            "side effects at least once per (run, step)",
            not never and len(per_step) >= len(expected_steps),
            f"{len(expected_steps) - len(never)}/{len(expected_steps)}",
            failures=[f"{runs[r][0]} step {s}" for r, s in never[:20]],
        )
    )
    checks.append(
        _check(
            "every duplicate side effect explained by a kill or terminated connection",
            not unexplained and explained["worker_kill"] <= worker_kills,
            f"{duplicates} duplicates: {explained['worker_kill']} by worker kills "
            f"(of {worker_kills}), {explained['pg_terminate']} by terminated connections, "
            f"{len(unexplained)} unexplained",
            failures=unexplained[:20],
        )
    )

    # 5. Nothing stuck.
    running = [runs[r][0] for r in runs if runs[r][1] == WorkflowStatus.RUNNING]
    pending_tasks = sum(1 for r in runs.values() if r[5])
    open_activities = ActivityTask.objects.filter(
        status__in=[ActivityStatus.SCHEDULED, ActivityStatus.STARTED]
    ).count()
    pending_timers = Timer.objects.filter(status=TimerStatus.PENDING).count()
    checks.append(
        _check(
            f"nothing stuck {a.deadline:g} s after the last start",
            not timed_out
            and not running
            and not pending_tasks
            and not open_activities
            and not pending_timers,
            f"{len(running)} RUNNING, {pending_tasks} pending workflow tasks, {open_activities} "
            f"open activities, {pending_timers} pending timers",
            failures=running[:20],
        )
    )
    checks.append(
        _check(
            "every chaos event happened",
            not missed_events and (a.kill_every <= 0 or worker_kills > 0),
            f"{worker_kills} worker kills"
            + (f"; missed: {', '.join(missed_events)}" if missed_events else ""),
        )
    )

    closes = [r[4].timestamp() for r in runs.values() if r[4] is not None]
    figures = {
        "kills": {
            "workers": worker_kills,
            "worker_kills_skipped": sum(e.kind == "worker_kill_skipped" for e in soak.events),
            "beat": sum(e.kind == "beat_kill" for e in soak.events),
            "redis_restarts": sum(e.kind == "redis_restart" for e in soak.events),
            "connection_terminations": sum(e.kind == "pg_terminate" for e in soak.events),
            "backends_terminated": sum(
                e.detail.get("backends", 0) for e in soak.events if e.kind == "pg_terminate"
            ),
        },
        "unexpected_exits": [
            {
                **{k: v for k, v in x.items() if k not in ("log_tail", "at")},
                "t": round(x["at"] - first_start, 1),
            }
            for x in soak.unexpected_exits
        ],
        "side_effect_rows": len(rows),
        "duplicates": duplicates,
        "duplicates_by_cause": dict(explained),
        "wall_seconds": round((max(closes) if closes else ended) - first_start, 1),
        "soak_seconds": round(ended - first_start, 1),
        "starts_seconds": round((soak.starts_done_at or ended) - first_start, 1),
        "recovery": _recovery(soak, progress, first_start),
        "after_connection_termination": _after_termination(soak),
        "longest_stall": _longest_stall(stalls, soak.events, first_start, runs),
    }
    return {
        "args": vars(a),
        "checks": checks,
        "figures": figures,
        "events": [
            {"kind": e.kind, "t": round(e.at - first_start, 2), **e.detail, "held": len(e.held)}
            for e in soak.events
        ],
        "worker_log_warnings": log_summary(soak.logs),
        "unexpected_exit_logs": [x["log_tail"] for x in soak.unexpected_exits][:5],
    }


_LOG_LINE = re.compile(r"^\[[^]]*: (WARNING|ERROR|CRITICAL)/[^]]*\] (.*)$")
_NOISE = (
    (re.compile(r"\bchaos-\d+\b"), "chaos-N"),
    (re.compile(r"\[[0-9a-f-]{36}\]"), ""),
    (re.compile(r"attempt \d+"), "attempt N"),
    (re.compile(r"\(\d+, \d+\)"), "(N, N)"),
)


def log_summary(logs: Path) -> list[dict[str, Any]]:
    """Warnings and errors of the workers and beats, counted by kind (ids and numbers
    blanked): task failures that the soak's checks tolerate but a reader should see."""
    kinds: Counter[str] = Counter()
    for path in sorted(logs.glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            match = _LOG_LINE.match(line)
            if match:
                text = match.group(2)
                for pattern, replacement in _NOISE:
                    text = pattern.sub(replacement, text)
                kinds[f"{match.group(1)} {text[:160]}"] += 1
    return [{"count": n, "line": line} for line, n in kinds.most_common(10)]


def _stalls(
    run_id: str, events: list[tuple[int, str, datetime.datetime, dict[str, Any]]]
) -> list[tuple[float, str, str, str, float]]:
    """How long the run stood still before each event, beyond what its code asked for.

    The gap between consecutive events, except that a TimerFired is measured from the
    timer's due time (TimerStarted + duration), not from the event before it.
    """
    due: dict[str, float] = {}
    out = []
    for (_, prev_type, prev_ts, _), (_, event_type, ts, attrs) in itertools.pairwise(events):
        if event_type == "TimerStarted":
            due[attrs["timer_id"]] = ts.timestamp() + float(attrs["duration"])
        waited_from = prev_ts.timestamp()
        if event_type == "TimerFired" and attrs.get("timer_id") in due:
            waited_from = max(waited_from, due[attrs["timer_id"]])
        out.append((ts.timestamp() - waited_from, run_id, prev_type, event_type, waited_from))
    return out


_DB_ERROR = re.compile(
    r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): ERROR/[^]]*\] Task \S+ raised unexpected: "
    r"(OperationalError|InterfaceError)"
)


def _after_termination(soak: Soak) -> list[dict[str, Any]]:
    """For each worker whose connections were terminated: how many tasks it then failed with
    a database connection error, for how long, and whether it was still failing when it
    died (killed by the soak, or stopped at the end)."""
    out = []
    for event in soak.events:
        if event.kind != "pg_terminate":
            continue
        for app_name in event.detail["workers"]:
            name = app_name.rsplit("-", 1)[-1]
            node = soak.every_node[name]
            failures = []
            for line in node.process.log_path.read_text(errors="replace").splitlines():
                match = _DB_ERROR.match(line)
                if match:
                    at = datetime.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f")
                    if at.timestamp() >= event.at - 1:
                        failures.append(at.timestamp())
            end = soak.killed_at.get(name, soak.ended or time.time())
            failing_s = round(failures[-1] - event.at, 1) if failures else 0.0
            out.append(
                {
                    "worker": name,
                    "failed_tasks": len(failures),
                    "failing_s": failing_s,
                    "still_failing_at_end": bool(failures) and end - failures[-1] < 3.0,
                    "ended_by": "kill" if name in soak.killed_at else "stop",
                }
            )
    return out


def _recovery(soak: Soak, progress: dict[str, list[float]], first_start: float) -> dict[str, Any]:
    """From each kill (or connection termination) to the next history event of every run
    whose activity attempt the affected worker was running at that moment."""
    per_event = []
    for event in soak.events:
        if event.kind not in ("worker_kill", "pg_terminate") or not event.held:
            continue
        waits = []
        for run_id, _activity_id, _attempt in event.held:
            after = [t for t in progress.get(run_id, []) if t > event.at]
            if after:
                waits.append(after[0] - event.at)
        if waits:
            per_event.append(
                {
                    "kind": event.kind,
                    "t": round(event.at - first_start, 2),
                    "runs": len(waits),
                    "seconds": round(max(waits), 2),
                }
            )
    if not per_event:
        return {"definition": _RECOVERY_DEFINITION, "events_with_held_attempts": 0}
    seconds = [p["seconds"] for p in per_event]
    slowest = max(per_event, key=lambda p: p["seconds"])
    return {
        "definition": _RECOVERY_DEFINITION,
        "events_with_held_attempts": len(per_event),
        "slowest_s": slowest["seconds"],
        "slowest_kind": slowest["kind"],
        "median_s": round(statistics.median(seconds), 2),
        "per_event": per_event,
    }


_RECOVERY_DEFINITION = (
    "time from a kill -9 of a worker (or a termination of its database connections) to the "
    "next history event of each run whose activity attempt that worker was running"
)


def _longest_stall(
    stalls: list[tuple[float, str, str, str, float]],
    events: list[Event],
    first_start: float,
    runs: dict[str, tuple[Any, ...]],
) -> dict[str, Any]:
    if not stalls:
        return {}
    seconds, run_id, before, after, since = max(stalls)
    spanned = [
        f"{e.kind}@{e.at - first_start:.1f}s" for e in events if since <= e.at <= since + seconds
    ]
    values = sorted(s[0] for s in stalls)
    return {
        "definition": "longest time a run stood still between consecutive history events, "
        "a TimerFired counted from the timer's due time (includes queueing behind other runs)",
        "seconds": round(seconds, 2),
        "workflow_id": runs[run_id][0],
        "between": f"{before} -> {after}",
        "from_t": round(since - first_start, 1),
        "chaos_events_during": spanned,
        "p50_s": round(values[len(values) // 2], 3),
        "p99_s": round(values[min(len(values) - 1, int(len(values) * 0.99))], 3),
    }


# --- the report -----------------------------------------------------------------------------


def _environment(soak: Soak, setup_s: float) -> dict[str, Any]:
    from django.conf import settings

    from durable_workflows.conf import dw_settings

    return {
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, "-m", "bench.chaos", *sys.argv[1:]]),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "database": f"{PG}/{soak.args.database}",
        "broker": f"{soak.args.broker} queue {soak.queue}",
        "workers": f"{soak.args.workers} at a time, --pool=solo, {soak.worker_count} started",
        "tick_interval_s": dw_settings.TICK_INTERVAL,
        "redrive_after_s": dw_settings.REDRIVE_AFTER.total_seconds(),
        "db_reuse_max": getattr(settings, "CELERY_DB_REUSE_MAX", None),
        "setup_seconds": round(setup_s, 1),
        "logs": str(soak.logs),
    }


def _print(report: dict[str, Any]) -> None:
    env, figures, a = report["environment"], report["figures"], report["args"]
    print(f"\ndurable_workflows chaos soak  ({env['command']})")
    for key in (
        "started_at",
        "cpus",
        "python",
        "load_after",
        "database",
        "broker",
        "workers",
        "tick_interval_s",
        "redrive_after_s",
        "logs",
    ):
        print(f"  {key:<16} {env[key]}")
    print(f"  {'seed':<16} {a['seed']}")
    print("\nchecks")
    for check in report["checks"]:
        print(f"  {'PASS' if check['ok'] else 'FAIL'}  {check['name']:<72} {check['detail']}")
        for failure in check.get("failures", [])[:5]:
            print(f"          {failure}")
    kills = figures["kills"]
    recovery, stall = figures["recovery"], figures["longest_stall"]
    rows = [
        ("workflows x activities", f"{a['workflows']} x {a['activities']}"),
        ("worker kills (kill -9)", kills["workers"]),
        ("beat kills (kill -9)", kills["beat"]),
        ("redis restarts (data lost)", kills["redis_restarts"]),
        (
            "connection terminations",
            f"{kills['connection_terminations']} ({kills['backends_terminated']} backends)",
        ),
        ("unexpected process exits", len(figures["unexpected_exits"])),
        ("side effect rows", figures["side_effect_rows"]),
        ("duplicates / worker kills", f"{figures['duplicates']} / {kills['workers']}"),
        ("wall time, first start -> last close", f"{figures['wall_seconds']} s"),
        (
            "slowest recovery (kill -> run moves)",
            f"{recovery.get('slowest_s', '-')} s (median {recovery.get('median_s', '-')} s)",
        ),
        (
            "longest stall of a run",
            f"{stall.get('seconds', '-')} s ({stall.get('between', '')}, "
            f"p99 {stall.get('p99_s', '-')} s)",
        ),
    ]
    print("\nfigures")
    for label, value in rows:
        print(f"  {label:<40} {value}")
    for worker in figures["after_connection_termination"]:
        still = (
            f", STILL FAILING when {'killed' if worker['ended_by'] == 'kill' else 'stopped'}"
            if worker["still_failing_at_end"]
            else ""
        )
        print(
            f"  after its connection was terminated, {worker['worker']} failed "
            f"{worker['failed_tasks']} tasks over {worker['failing_s']} s{still}"
        )
    for exit_ in figures["unexpected_exits"]:
        print(f"  unexpected exit of {exit_['process']} (code {exit_['code']}): {exit_['why']}")
    print(f"\n  recovery: {recovery['definition']}")
    print(f"  stall: {stall.get('definition', '-')}")
    if stall.get("chaos_events_during"):
        print(f"  longest stall spans: {', '.join(stall['chaos_events_during'])}")
    if report["worker_log_warnings"]:
        print("\nwarnings and errors in the worker and beat logs (most frequent first)")
        for item in report["worker_log_warnings"]:
            print(f"  {item['count']:>5}  {item['line']}")


if __name__ == "__main__":
    main()
