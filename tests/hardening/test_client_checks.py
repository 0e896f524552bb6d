"""Item 11: the service layer refuses for every caller (the Python client included) what
the API refuses: NUL characters and lone surrogates in ids, names and payloads, cycles, and
timeouts out of range; nothing is written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from durable_workflows._services.arguments import encode_handler_args
from durable_workflows.exceptions import InvalidArgumentError, PayloadError
from durable_workflows.models import HistoryEvent

from .workflows import AnythingWorkflow

SURROGATE = "\ud800"


@pytest.fixture
def running(client, unique, idle_queue) -> str:
    wid = f"hard-run-{unique}"
    client.start_workflow(AnythingWorkflow.run, 1, id=wid, task_queue=idle_queue)
    return wid


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"id": "a\x00b"}, InvalidArgumentError, "workflow id contains a NUL"),
        ({"id": "a" + SURROGATE}, InvalidArgumentError, "workflow id contains an unpaired"),
        ({"task_queue": "q\x00"}, InvalidArgumentError, "not a valid name"),
        ({"args": ["a\x00b"]}, PayloadError, "NUL"),
        ({"args": [{"k\x00": 1}]}, PayloadError, "NUL"),
        ({"args": [["x", SURROGATE]]}, PayloadError, "unpaired surrogate"),
        ({"memo": {"m": "\x00"}}, PayloadError, "The memo: a string holds a NUL"),
        ({"memo": {"k\x00": 1}}, InvalidArgumentError, "key of the memo contains a NUL"),
        ({"search_attributes": {"s": SURROGATE}}, PayloadError, "unpaired surrogate"),
        ({"execution_timeout": timedelta.max}, InvalidArgumentError, "at most 3650 days"),
        ({"execution_timeout": timedelta(days=365 * 1000)}, InvalidArgumentError, "3650 days"),
        ({"execution_timeout": 1e300}, InvalidArgumentError, "execution timeout"),
        ({"execution_timeout": float("nan")}, InvalidArgumentError, "execution timeout"),
        ({"execution_timeout": "soon"}, InvalidArgumentError, "execution timeout"),
    ],
)
def test_a_start_with_unstorable_values_is_refused_before_anything_is_written(
    client, unique, nothing_written, change, error, match
):
    options: dict[str, Any] = {"id": f"hard-11-{unique}", "task_queue": f"idle-{unique}"}
    args = change.pop("args", [1])
    with pytest.raises(error, match=match):
        client.start_workflow(AnythingWorkflow.run, *args, **{**options, **change})


def test_a_self_referential_list_is_refused_clearly(client, unique, nothing_written):
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(PayloadError, match="contains itself"):
        client.start_workflow(AnythingWorkflow.run, loop, id=f"hard-loop-{unique}")


def test_ten_years_is_the_longest_execution_timeout(client, unique):
    handle = client.start_workflow(
        AnythingWorkflow.run,
        1,
        id=f"hard-10y-{unique}",
        task_queue=f"idle-{unique}",
        execution_timeout=timedelta(days=3650),
    )
    assert handle.describe().execution_timeout == timedelta(days=3650).total_seconds()


@pytest.mark.parametrize(
    ("send", "error", "match"),
    [
        (lambda h: h.signal("poke", "a\x00b"), PayloadError, "NUL"),
        (lambda h: h.signal("poke", SURROGATE), PayloadError, "unpaired surrogate"),
        (lambda h: h.signal("po\x00ke", 1), InvalidArgumentError, "signal name contains a NUL"),
        (lambda h: h.query("echo", "a\x00b"), PayloadError, "NUL"),
        (lambda h: h.execute_update("store", "a\x00b"), PayloadError, "NUL"),
        (lambda h: h.execute_update("store", 1, id="u\x00"), InvalidArgumentError, "update id"),
        (
            lambda h: h.execute_update("store", 1, timeout=timedelta.max),
            InvalidArgumentError,
            "update timeout",
        ),
        (lambda h: h.execute_update("store", 1, timeout=-1), InvalidArgumentError, "timeout"),
        (lambda h: h.result(timeout=timedelta.max), InvalidArgumentError, "result timeout"),
        (lambda h: h.result(timeout=float("inf")), InvalidArgumentError, "result timeout"),
    ],
)
def test_messages_with_unstorable_values_are_refused_before_anything_is_written(
    client, running, send, error, match
):
    events = HistoryEvent.objects.filter(execution__workflow_id=running).count()
    with pytest.raises(error, match=match):
        send(client.get_workflow_handle(running))
    assert HistoryEvent.objects.filter(execution__workflow_id=running).count() == events


@pytest.mark.parametrize("workflow_id", ["a\x00b", "a" + SURROGATE])
def test_a_handle_on_an_id_postgresql_cannot_hold_is_an_invalid_argument(client, workflow_id):
    with pytest.raises(InvalidArgumentError, match="workflow id"):
        client.get_workflow_handle(workflow_id).describe()


def test_signals_to_a_type_unknown_here_are_checked_too():
    with pytest.raises(PayloadError, match="NUL"):
        encode_handler_args(None, "signal", "poke", ["a\x00"])
    with pytest.raises(InvalidArgumentError, match="NUL"):
        encode_handler_args(None, "signal", "po\x00ke", [1])


def test_the_api_still_refuses_nul_in_the_body_as_a_parse_error(admin_api, unique):
    response = admin_api.post(
        "/api/workflows/",
        {"workflow_type": "HardeningAnything", "workflow_id": f"hard-{unique}", "args": ["\x00"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
