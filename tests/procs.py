"""Real Celery worker and beat processes for the tests."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# One folder per test database, so concurrent sessions (see README) keep their logs apart.
ARTIFACTS = ROOT / "test-artifacts" / os.environ.get("TEST_DATABASE_NAME", "test_durable_workflows")


def celery_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "example_project", *args]


class Process:
    """A child process with its output in test-artifacts/<name>.log.

    Any still running when the test session ends (a test failed before stopping it)
    is killed then, so no worker outlives the session holding the test database.
    """

    live: set[Process] = set()

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = ARTIFACTS / f"{name}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        Process.live.add(self)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log()[-3000:]}")
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} did not log {text!r} in {timeout}s:\n{self.log()[-3000:]}")

    def kill9(self) -> None:
        """SIGKILL the whole process group: no cleanup, no acks, as in a power cut."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)
        self._log.close()
        Process.live.discard(self)

    def stop(self) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=15)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                self.kill9()
        self._log.close()
        Process.live.discard(self)


@atexit.register
def _kill_leftovers() -> None:
    for process in list(Process.live):
        process.kill9()


def start_worker(
    env: dict[str, str], queues: list[str], name: str | None = None, *, concurrency: int = 1
) -> Process:
    name = name or f"worker-{uuid.uuid4().hex[:6]}"
    pool = (
        ["--pool=solo"] if concurrency == 1 else ["--pool=threads", f"--concurrency={concurrency}"]
    )
    process = Process(
        name,
        celery_command(
            "worker",
            "-Q",
            ",".join(queues),
            "-n",
            f"{name}@%h",
            *pool,
            "--without-mingle",
            "--without-gossip",
            "-l",
            "info",
        ),
        env,
    )
    process.wait_for_log("ready.")
    return process


def start_beat(env: dict[str, str], name: str = "beat") -> Process:
    process = Process(
        name,
        celery_command(
            "beat",
            "-l",
            "info",
            "--scheduler",
            "django_celery_beat.schedulers:DatabaseScheduler",
            "--pidfile=",
        ),
        env,
    )
    process.wait_for_log("beat: Starting")
    return process


@contextlib.contextmanager
def worker_pool(
    env: dict[str, str], queue: str, name: str, count: int = 1
) -> Iterator[list[Process]]:
    """``count`` workers on ``queue``, stopped on the way out."""
    started = [start_worker(env, [queue], f"{name}-{n}") for n in range(count)]
    try:
        yield started
    finally:
        for process in started:
            process.stop()
