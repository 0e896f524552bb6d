"""Run OrderWorkflow end to end on a real Celery worker and print its event history.

    python manage.py migrate && python manage.py demo

The worker is a child process (``celery -A example_project worker -B``: beat is
embedded so the tick runs) with this process's environment, so it uses the same
database and broker: SQLite and the filesystem broker under ./var/ by default.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from durable_workflows import Client, WorkflowHandle
from durable_workflows.exceptions import DurableWorkflowsError, WorkflowResultTimeoutError
from example_project.app.workflows import OrderWorkflow

READY_TIMEOUT = 60.0
RESULT_TIMEOUT = 60.0
# Attributes worth a glance, in the order they are shown; the rest is in the database.
DETAIL_KEYS = (
    "workflow_type",
    "activity_type",
    "activity_id",
    "timer_id",
    "signal_name",
    "input",
    "attempt",
    "result",
    "failure",
    "reason",
)


class Command(BaseCommand):
    help = "Start a Celery worker, run OrderWorkflow on it, print the result and event history."

    def handle(self, *args: Any, **options: Any) -> None:
        _require_migrated()
        log_path = Path(getattr(settings, "VAR_DIR", Path.cwd() / "var")) / "demo-worker.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.stdout.write(f"Starting a Celery worker (log: {log_path}) ...")
        worker = _Worker(log_path)
        try:
            worker.wait_until_ready(READY_TIMEOUT)
            workflow_id = f"order-{uuid.uuid4().hex[:8]}"
            handle = Client().start_workflow(OrderWorkflow.run, workflow_id, 99.99, id=workflow_id)
            self.stdout.write(f"Started OrderWorkflow {workflow_id!r} (run {handle.run_id}).")
            started = time.monotonic()
            result = _wait_for_result(handle, worker, RESULT_TIMEOUT)
            elapsed = time.monotonic() - started
            self.stdout.write(self.style.SUCCESS(f"Result ({elapsed:.2f} s): {result!r}"))
            self.stdout.write("")
            self.stdout.write(_history_table(handle))
        finally:
            worker.stop()


def _require_migrated() -> None:
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise CommandError("The database has unapplied migrations: run `manage.py migrate` first.")


class _Worker:
    """A ``celery worker -B`` child process in its own session, logging to a file."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        command = [
            sys.executable,
            *("-m", "celery", "-A", "example_project", "worker", "-B"),
            *("-Q", "default", "-n", f"demo-{uuid.uuid4().hex[:6]}@%h", "--pool=solo"),
            # Info level, because "ready." is logged at info; it all goes to the file.
            *("--without-mingle", "--without-gossip", "-l", "info"),
        ]
        self.popen = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the embedded beat stops with it
        )

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def check_alive(self) -> None:
        code = self.popen.poll()
        if code is not None:
            raise CommandError(
                f"The Celery worker exited with code {code}. Last lines of {self.log_path}:\n"
                f"{self.log_tail()}"
            )

    def wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while " ready." not in self.log_path.read_text(errors="replace"):
            self.check_alive()
            if time.monotonic() > deadline:
                raise CommandError(
                    f"The Celery worker was not ready after {timeout:.0f} s. Last lines of "
                    f"{self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        self._log.close()


def _wait_for_result(handle: WorkflowHandle, worker: _Worker, timeout: float) -> Any:
    """``handle.result(timeout)``, in short slices so that a dead worker is reported at once."""
    deadline = time.monotonic() + timeout
    while True:
        worker.check_alive()
        remaining = deadline - time.monotonic()
        try:
            return handle.result(timeout=max(0.1, min(2.0, remaining)))
        except WorkflowResultTimeoutError as exc:
            if remaining <= 2.0:
                raise CommandError(
                    f"{exc} Last lines of {worker.log_path}:\n{worker.log_tail()}"
                ) from exc
        except DurableWorkflowsError as exc:
            raise CommandError(f"The workflow did not complete: {exc}") from exc


def _history_table(handle: WorkflowHandle) -> str:
    history = handle.fetch_history()
    rows = [("ID", "EVENT TYPE", "DETAILS")]
    for event in history.events:
        details = "  ".join(
            f"{key}={_short(event.attributes[key])}"
            for key in DETAIL_KEYS
            if event.attributes.get(key) is not None
        )
        rows.append((str(event.event_id), str(event.event_type), details))
    width = max(len(row[1]) for row in rows)
    lines = [f"Event history of {history.workflow_id} (run {history.run_id}):"]
    lines += [
        f"{event_id:>4}  {event_type:<{width}}  {details}" for event_id, event_type, details in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
