"""The chaos soak (``python -m bench.chaos``) at a modest size: workers killed with
SIGKILL every few seconds, beat killed once, the workers' database connections
terminated once; every run must complete, with well-formed histories and at-least-once
side effects, and nothing may be left stuck.

The soak runs in a subprocess with a database of its own (``<test database>_chaos``)
and on this session's broker database, on a queue of its own: the session's workers
are not disturbed. Redis is *not* restarted here (a restart cuts every client of the
Redis server, the session's own workers and other sessions on this machine included);
set ``DW_CHAOS_REDIS_RESTART=1`` to restart it too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 200


@pytest.mark.chaos
@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT + 40)
def test_chaos_soak_completes_every_run_and_leaves_nothing_stuck():
    database = f"{settings.DATABASES['default']['TEST']['NAME']}_chaos"
    command = [
        sys.executable, "-m", "bench.chaos",
        "--workflows", "40", "--activities", "4",
        "--start-rate", "2", "--kill-every", "5", "--deadline", "120",
        "--database", database, "--broker", settings.CELERY_BROKER_URL,
    ]  # fmt: skip
    if os.environ.get("DW_CHAOS_REDIS_RESTART") != "1":
        command.append("--no-redis-restart")
    # Popen, not run(): on a timeout the soak gets SIGTERM, so it stops its workers and
    # beat and drops its database rather than leaving them behind.
    soak = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        stdout, stderr = soak.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        soak.terminate()
        try:
            stdout, stderr = soak.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            soak.kill()
            stdout, stderr = soak.communicate()
        pytest.fail(f"The chaos soak did not finish in {TIMEOUT} s:\n{stdout}\n{stderr[-5000:]}")
    print(" ".join(command))
    print(stdout)
    assert soak.returncode == 0, f"The chaos soak failed:\n{stdout}\n{stderr[-5000:]}"
