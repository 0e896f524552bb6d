"""The seed documents' code runs on durable_workflows with changed imports only.

Seed 001's run_worker.py and run_workflow.py are in tests/seed_scripts/ and run
as plain scripts; seed 004's snippets are below. Each is verbatim except for its
import lines (temporalio.* -> durable_workflows.*, app.* -> the example app).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from tests import procs


@pytest.fixture
def seed_queue_worker(worker_env, live_db):
    worker = procs.start_worker(worker_env, ["default"], "seed-worker")
    yield worker
    worker.stop()


# --- seed 004, "Practical Example" usage and the query example --------------------------------
from durable_workflows.client import Client  # noqa: E402  (was: temporalio.client)
from example_project.app.workflows import (  # noqa: E402
    OrderWorkflow,
    ProcessOrderWorkflow,
)


async def process_order():
    client = await Client.connect("localhost:7233")
    handle = await client.execute_workflow(
        ProcessOrderWorkflow.run, "order-456", 99.99, id="order-456"
    )
    return handle


async def query_order():
    # Later, from your API endpoint
    client = await Client.connect("localhost:7233")
    handle = client.get_workflow_handle("order-123")
    status = await handle.query(OrderWorkflow.get_status)
    print(status)  # "charging" or "shipped" or "pending"


def test_seed_001_worker_and_workflow_scripts_run_unchanged(worker_env, live_db):
    # The test settings live in `tests`, not in the Celery app's package: name the app.
    env = {**worker_env, "PYTHONPATH": str(procs.ROOT), "CELERY_APP": "example_project"}
    scripts = procs.ROOT / "tests" / "seed_scripts"
    worker = procs.Process(
        "seed-001-run-worker", [sys.executable, str(scripts / "run_worker.py")], env
    )
    try:
        worker.wait_for_log("ready.")
        done = subprocess.run(
            [sys.executable, str(scripts / "run_workflow.py")],
            env=env,
            cwd=procs.ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        worker.stop()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Workflow result: Hello, Alice!"


def test_seed_004_order_and_query_examples_run_unchanged(seed_queue_worker, capsys):
    # The seed's execute_workflow returns the result directly (its name for it, `handle`,
    # is the seed's); RetryPolicy(max_attempts=3) is accepted as in the seed.
    assert asyncio.run(process_order()) == "Order order-456: Charged $99.99"

    from durable_workflows import Client as SyncClient

    SyncClient().execute_workflow(OrderWorkflow.run, "order-123", 99.99, id="order-123")
    asyncio.run(query_order())
    assert capsys.readouterr().out.strip() == "shipped"
