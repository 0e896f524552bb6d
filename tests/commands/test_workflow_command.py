"""``manage.py workflow ...`` in a subprocess, as a script would run it: output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from durable_workflows import Client
from durable_workflows.models import WorkflowExecution
from tests.procs import ROOT

client = Client()


def workflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "workflow", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(env: dict[str, str], *args: str) -> str:
    done = workflow(env, *args)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


def as_json(env: dict[str, str], *args: str) -> Any:
    return json.loads(ok(env, *args, "--json"))


def fails(env: dict[str, str], code: int, *args: str) -> str:
    done = workflow(env, *args)
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == ""
    return done.stderr


@pytest.mark.usefixtures("workers")
def test_start_describe_query_history_and_list_an_order(worker_env, unique):
    wid = f"cmd-order-{unique}"
    started = ok(
        worker_env,
        "start",
        "--type",
        "OrderWorkflow",
        "--workflow-id",
        wid,
        "--input",
        f'["o-{unique}", 9.5]',
        "--task-queue",
        "default",
        "--search-attribute",
        f"tenant=t-{unique}",
    )
    assert started.startswith(f"Started OrderWorkflow '{wid}' (run ")

    handle = client.get_workflow_handle(wid)
    assert handle.result(timeout=30) == f"Order o-{unique}: Charged $9.5"

    described = ok(worker_env, "describe", wid)
    assert f"Workflow ID:        {wid}" in described
    assert "Status:             COMPLETED" in described
    assert f'Result:             "Order o-{unique}: Charged $9.5"' in described
    data = as_json(worker_env, "describe", wid)
    assert data["status"] == "COMPLETED" and data["input"] == [f"o-{unique}", 9.5]

    assert ok(worker_env, "query", wid, "get_status").strip() == '"shipped"'
    assert as_json(worker_env, "query", wid, "get_status") == {"result": "shipped"}

    table = ok(worker_env, "history", wid).splitlines()
    assert table[0].split() == ["ID", "TIME", "TYPE", "DETAILS"]
    assert table[1].split()[:3][0] == "1" and "WorkflowExecutionStarted" in table[1]
    assert "WorkflowExecutionCompleted" in table[-1]
    history = as_json(worker_env, "history", wid)
    assert history["workflow_id"] == wid
    assert [e["event_id"] for e in history["events"]] == list(range(1, len(history["events"]) + 1))

    listed = ok(worker_env, "list", "--type", "OrderWorkflow", "--search", f"tenant=t-{unique}")
    lines = listed.splitlines()
    assert lines[0].split()[:3] == ["STATUS", "WORKFLOW", "ID"]
    assert lines[1].split()[:2] == ["COMPLETED", wid]
    rows = as_json(worker_env, "list", "--status", "COMPLETED", "--search", f"tenant=t-{unique}")
    assert [r["workflow_id"] for r in rows] == [wid]
    assert ok(worker_env, "list", "--search", f"tenant=none-{unique}").strip() == (
        "No workflows match."
    )


@pytest.mark.usefixtures("workers")
def test_signal_update_cancel_and_terminate(worker_env, unique):
    counter, cart, doomed = (f"cmd-{k}-{unique}" for k in ("counter", "cart", "doomed"))
    client.start_workflow("CounterWorkflow", 1, id=counter)
    client.start_workflow("CartWorkflow", id=cart)
    client.start_workflow("CounterWorkflow", 5, id=doomed)

    out = ok(worker_env, "signal", counter, "add", "--input", '["from-cli"]')
    assert out.strip().startswith(f"Signal 'add' sent to '{counter}' (run ")
    assert client.get_workflow_handle(counter).result(timeout=30) == ["from-cli"]

    assert ok(worker_env, "update", cart, "add_item", "--input", "[7]").strip() == "7"
    assert as_json(worker_env, "update", cart, "add_item", "--input", "[3]") == {"result": 10}

    assert "Cancellation requested" in ok(worker_env, "cancel", cart, "--reason", "test")
    with pytest.raises(Exception, match="CANCELED"):
        client.get_workflow_handle(cart).result(timeout=30)

    data = as_json(worker_env, "terminate", doomed, "--reason", "from the cli")
    assert data["workflow_id"] == doomed
    described = client.get_workflow_handle(doomed).describe()
    assert described.status == "TERMINATED"
    assert described.failure["message"] == "from the cli"


def test_workflow_errors_exit_1_with_a_message_and_write_nothing(worker_env, unique):
    wid = f"cmd-idle-{unique}"
    client.start_workflow("CounterWorkflow", 2, id=wid, task_queue=f"idle-{unique}")
    closed = f"cmd-closed-{unique}"
    client.start_workflow("CounterWorkflow", 2, id=closed, task_queue=f"idle-{unique}")
    client.get_workflow_handle(closed).terminate()
    missing = f"cmd-missing-{unique}"

    cases = [
        (["describe", missing], f"No workflow '{missing}'", "workflow_not_found"),
        (["history", missing], f"No workflow '{missing}'", "workflow_not_found"),
        (["signal", missing, "add"], f"No workflow '{missing}'", "workflow_not_found"),
        (["cancel", missing], f"No workflow '{missing}'", "workflow_not_found"),
        (["signal", wid, "nope"], "has no signal named 'nope'", "unknown_handler"),
        (["query", wid, "nope"], "has no query named 'nope'", "unknown_handler"),
        (["signal", wid, "add", "--input", "[]"], "got 0", "invalid_arguments"),
        (["signal", closed, "add", "--input", '["x"]'], "is TERMINATED", "workflow_closed"),
        (["terminate", closed], "is TERMINATED", "workflow_closed"),
        (
            ["start", "--type", "NoSuchWorkflow", "--workflow-id", f"cmd-new-{unique}"],
            "Unknown workflow type 'NoSuchWorkflow'",
            "unknown_workflow_type",
        ),
        (
            ["start", "--type", "CounterWorkflow", "--workflow-id", wid, "--input", "[1]"],
            wid,
            "workflow_already_started",
        ),
    ]
    for args, message, code in cases:
        stderr = fails(worker_env, 1, *args)
        assert stderr.startswith("CommandError: "), stderr
        assert message in stderr and f"[{code}]" in stderr, stderr
    assert WorkflowExecution.objects.get(workflow_id=wid).history_length == 1
    assert not WorkflowExecution.objects.filter(workflow_id__startswith=f"cmd-new-{unique}")


def test_usage_errors_exit_2_with_a_message(worker_env, unique):
    wid = f"cmd-usage-{unique}"
    start = ["start", "--type", "CounterWorkflow", "--workflow-id", wid]
    for args, message in [
        ([*start, "--input", "[1,"], "--input is not valid JSON"),
        ([*start, "--input", "3"], "--input must be a JSON array"),
        ([*start, "--input", "[1]", "--execution-timeout", "-5"], "--execution-timeout"),
        ([*start, "--search-attribute", "novalue"], "--search-attribute takes KEY=VALUE"),
        (["signal", wid, "add", "--input", "{oops"], "--input is not valid JSON"),
        (["list", "--started-after", "yesterday"], "--started-after must be an ISO 8601"),
        (["list", "--limit", "0"], "--limit must be at least 1"),
    ]:
        assert message in fails(worker_env, 2, *args)
    # argparse's own usage errors exit 2 too.
    assert "invalid choice: 'SLEEPING'" in fails(worker_env, 2, "list", "--status", "SLEEPING")
    assert "the following arguments are required" in fails(worker_env, 2, "start")
    assert "invalid choice" in fails(worker_env, 2, "frobnicate")
    assert not WorkflowExecution.objects.filter(workflow_id=wid).exists()


def test_the_help_documents_the_exit_codes(worker_env):
    text = ok(worker_env, "--help")
    for line in ("exit codes:", "0  success", "1  the workflow refused", "2  usage error"):
        assert line in text
