"""``python -m bench.embedded [--minutes 30]``: soak the embedded default.

The example project as ``make demo`` runs it (SQLite and the folder broker, one
``celery worker -B`` with beat inside), under a steady trickle for ``--minutes``:
each second a SignupWorkflow starts; runs get an update (``resend_code``, waited for)
and then their ``email_verified`` signal; a query now and then. Counted: worker exits
(crashes), ``Unrecoverable error`` lines in the worker's log, updates that failed or
timed out, and at the end every run must complete with the right result.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.embedded", description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--per-second", type=float, default=1.0, help="starts per second")
    args = parser.parse_args(argv)

    var_dir = Path(tempfile.mkdtemp(prefix="dw-embedded-"))
    os.environ["DURABLE_EXAMPLE_VAR_DIR"] = str(var_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "example_project.settings"
    for name in ("DATABASE_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(f"embedded soak: {args.minutes} min, {args.per_second} starts/s, var {var_dir}")
    worker = _start_worker(var_dir / "worker.log")
    try:
        report = _soak(args, worker, var_dir / "worker.log")
    finally:
        _stop(worker)
    for key, value in report.items():
        print(f"  {key:<28} {value}")
    ok = (
        report["worker exits"] == 0
        and report["unrecoverable errors"] == 0
        and report["runs not completed"] == 0
        and report["updates failed"] == 0
    )
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


def _start_worker(log_path: Path) -> subprocess.Popen[bytes]:
    log = open(log_path, "wb")  # noqa: SIM115 - the child owns it until it exits
    command = [
        sys.executable,
        *("-m", "celery", "-A", "example_project", "worker", "-B", "-Q", "default"),
        *("-n", f"soak-{uuid.uuid4().hex[:6]}@%h", "--pool=solo"),
        *("--without-mingle", "--without-gossip", "-l", "info"),
    ]
    worker = subprocess.Popen(
        command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while b" ready." not in log_path.read_bytes():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"The worker did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.1)
    return worker


def _stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def _soak(args: argparse.Namespace, worker: subprocess.Popen[bytes], log: Path) -> dict[str, Any]:
    from durable_workflows import Client
    from durable_workflows.exceptions import DurableWorkflowsError
    from example_project.app.workflows import SignupWorkflow

    client = Client()
    rng = random.Random(7)
    end = time.monotonic() + args.minutes * 60
    waiting: list[Any] = []  # started, not yet signalled
    started: list[Any] = []
    counts = {"starts": 0, "updates": 0, "signals": 0, "queries": 0}
    update_failures: list[str] = []
    slowest_update = 0.0
    while time.monotonic() < end:
        tick = time.monotonic()
        handle = client.start_workflow(
            SignupWorkflow.run, f"user-{len(started)}@example.com", id=f"soak-{uuid.uuid4()}"
        )
        started.append(handle)
        waiting.append(handle)
        counts["starts"] += 1
        if len(waiting) > 3:
            target = waiting.pop(0)
            began = time.monotonic()
            try:
                assert target.execute_update(SignupWorkflow.resend_code, timeout=60) == 1
                counts["updates"] += 1
            except (DurableWorkflowsError, AssertionError) as exc:
                update_failures.append(f"{target.workflow_id}: {exc!r}")
            slowest_update = max(slowest_update, time.monotonic() - began)
            target.signal(SignupWorkflow.email_verified)
            counts["signals"] += 1
        if rng.random() < 0.2 and started:
            rng.choice(started).query(SignupWorkflow.get_status)
            counts["queries"] += 1
        if worker.poll() is not None:
            break
        time.sleep(max(0.0, 1.0 / args.per_second - (time.monotonic() - tick)))
    for handle in waiting:
        handle.signal(SignupWorkflow.email_verified)
        counts["signals"] += 1
    not_completed = 0
    for handle in started:
        try:
            handle.result(timeout=120)
        except DurableWorkflowsError:
            not_completed += 1
    text = log.read_text(errors="replace")
    return {
        **counts,
        "worker exits": 0 if worker.poll() is None else 1,
        "unrecoverable errors": text.count("Unrecoverable error"),
        "updates failed": len(update_failures),
        "first update failures": update_failures[:3],
        "slowest update s": round(slowest_update, 3),
        "runs not completed": not_completed,
    }


if __name__ == "__main__":
    main()
