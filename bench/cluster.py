"""The bench's servers: a fresh database, an empty broker, worker and beat processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "bench" / "results" / "logs"

PG = "postgres://postgres@127.0.0.1:5432"
DB_NAME = "durable_workflows_bench"
DATABASE_URL = f"{PG}/{DB_NAME}"
#: The search bench's own database (it needs no broker or workers).
SEARCH_DB_NAME = "durable_workflows_bench_search"
BROKER_URL = "redis://127.0.0.1:6379/13"
QUEUE = "bench"


def configure_environment() -> None:
    """Point this process (and the children it starts) at the bench database and broker."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ["CELERY_BROKER_URL"] = BROKER_URL
    os.environ["BENCH_QUEUE"] = QUEUE
    os.environ["PYTHONUNBUFFERED"] = "1"


def recreate_database(name: str = DB_NAME) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str = DB_NAME) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_broker() -> None:
    redis.Redis.from_url(BROKER_URL).flushdb()


@dataclass(frozen=True)
class WorkerConfig:
    processes: int = 2
    pool: str = "solo"
    concurrency: int = 1

    def pool_args(self) -> list[str]:
        if self.pool == "solo":
            return ["--pool=solo"]
        return [f"--pool={self.pool}", f"--concurrency={self.concurrency}"]

    def describe(self) -> str:
        per = "" if self.pool == "solo" else f" x {self.concurrency}"
        return f"{self.processes} processes, --pool={self.pool}{per}"


class Process:
    """A child in its own session (so a terminal's Ctrl-C reaches only the bench)."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = LOGS / f"{name}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "example_project", *args],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{tail}")

    def kill9(self) -> None:
        """SIGKILL the whole process group: no cleanup, no acks, as in a power cut."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        self._log.close()


@dataclass
class Cluster:
    """Worker processes on the bench queue, and beat (the tick), for one phase."""

    name: str
    config: WorkerConfig
    env: dict[str, str] = field(default_factory=dict)
    workers: list[Process] = field(default_factory=list)
    beat: Process | None = None

    def __enter__(self) -> Cluster:
        flush_broker()
        env = {**os.environ, **self.env}
        try:
            self.beat = Process(
                f"{self.name}-beat",
                ["beat", "-l", "info", "--pidfile=", "--scheduler",
                 "django_celery_beat.schedulers:DatabaseScheduler"],
                env,
            )  # fmt: skip
            for i in range(1, self.config.processes + 1):
                self.workers.append(
                    Process(
                        f"{self.name}-worker{i}",
                        ["worker", "-Q", QUEUE, "-n", f"{self.name}-worker{i}@bench",
                         *self.config.pool_args(), "--without-mingle", "--without-gossip",
                         "-l", "warning"],
                        env,
                    )
                )  # fmt: skip
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        for process in [*self.workers, *([self.beat] if self.beat else [])]:
            process.stop()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        from example_project.celery import app

        names = {f"{w.name}@bench" for w in self.workers}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in [*self.workers, *([self.beat] if self.beat else [])]:
                process.check_alive()
            replies = app.control.ping(destination=sorted(names), timeout=0.5)
            names -= {name for reply in replies for name in reply}
            beat_up = self.beat is not None and "beat: Starting" in self.beat.log_path.read_text()
            if not names and beat_up:
                return
        raise TimeoutError(f"Workers {sorted(names)} or beat not ready after {timeout} s.")

    def worker_rss_kib(self) -> list[int]:
        return [rss_kib(w.pid) for w in self.workers]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"No VmRSS for process {pid}.")
