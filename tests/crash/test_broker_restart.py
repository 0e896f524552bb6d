"""The broker killed and restarted mid-flight: every queued message is lost, no work is.

Every test that kills or blocks a worker gives it a queue of its own, so the session
workers (queue "default", which also run the tick) keep ticking for everyone.
Timing bounds are generous: the machine running these is shared and loaded.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from durable_workflows import Client
from durable_workflows._engine import EventType
from durable_workflows.models import WorkflowExecution
from tests import procs
from tests.helpers import assert_well_formed, closed, types_of, wait_until
from tests.testapp.models import SideEffect

pytestmark = pytest.mark.usefixtures("workers")

client = Client()


# --- the broker restarted mid-flight --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A throwaway redis-server (no persistence): stopping it loses every message."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        wait_until(lambda: self._ping(redis), timeout=10, what="redis-server to accept")

    def _ping(self, redis) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url).ping())
        except redis.ConnectionError:
            return False

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


START_100 = """
import django, sys
django.setup()
from durable_workflows import Client
from tests.testapp.time_workflows import StepsWorkflow
client = Client()
prefix, queue = sys.argv[1], sys.argv[2]
for i in range(100):
    client.start_workflow(StepsWorkflow.run, f"{prefix}-{i}", 3, 1.0,
                          id=f"{prefix}-{i}", task_queue=queue)
"""


@contextlib.contextmanager
def suspended(process: procs.Process) -> Iterator[None]:
    os.killpg(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(process.pid, signal.SIGCONT)


@pytest.mark.crash
def test_broker_restarted_mid_flight_loses_nothing_and_duplicates_nothing(worker_env, beat, unique):
    queue = f"q-{unique}"
    broker = PrivateRedis(free_port())
    broker.start()
    # A cluster of its own: workers for the queue and for its ticks, and a beat, all on
    # the private broker (the shared one is not ours to restart). The session beat is
    # paused meanwhile: its ticks would resend this cluster's hints to the other broker.
    env = {**worker_env, "CELERY_BROKER_URL": broker.url}
    prefix = f"flight-{unique}"
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(broker.kill)
        cleanup.enter_context(suspended(beat))
        for process in (
            procs.start_worker(env, [queue], f"flight-{unique}", concurrency=2),
            procs.start_worker(env, ["default"], f"flight-ticks-{unique}"),
            procs.start_beat(env, f"flight-beat-{unique}"),
        ):
            cleanup.callback(process.stop)
        # Started by a process whose hints go to the private broker.
        subprocess.run(
            [sys.executable, "-c", START_100, prefix, queue], env=env, check=True, timeout=120
        )
        wait_until(
            lambda: SideEffect.objects.filter(key__startswith=prefix, name="step-0").count() >= 30,
            timeout=60,
            what="30 workflows to be under way",
        )
        broker.kill()  # every queued message, countdown and unacked delivery is gone
        in_flight = WorkflowExecution.objects.filter(
            workflow_id__startswith=prefix, status="RUNNING"
        ).count()
        time.sleep(2)
        broker.start()
        wait_until(
            lambda: closed(prefix) == 100,
            timeout=120,
            what="all 100 workflows to complete after the broker restart",
        )

    print(f"{in_flight} of 100 workflows were running when the broker died")
    assert in_flight >= 10
    for execution in WorkflowExecution.objects.filter(workflow_id__startswith=prefix):
        events = client.get_workflow_handle(execution.workflow_id).fetch_history().events
        assert_well_formed(events)
        kinds = types_of(events)
        assert kinds.count("ActivityTaskCompleted") == 3
        fired = [e.attributes["timer_id"] for e in events if e.event_type is EventType.TIMER_FIRED]
        assert len(fired) == len(set(fired)) == 3
        assert kinds[-1] == "WorkflowExecutionCompleted"
        assert execution.result == 3
