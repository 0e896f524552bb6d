"""Item 4: arguments are checked against the type hints of run, signal, query and update
parameters, strictly, before anything is written; replay stays lenient."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any, Literal, Optional
from urllib.parse import quote

import pytest

from durable_workflows._engine import Signature, from_json
from durable_workflows.exceptions import InvalidArgumentError
from durable_workflows.models import HistoryEvent, WorkflowExecution

from .workflows import Item, TypedWorkflow

API = "/api/workflows/"
GOOD = ["ada", 9.5, 3, True]


def url(workflow_id: str, *rest: str) -> str:
    return API + "/".join([quote(workflow_id, safe="/"), *rest]) + "/"


@pytest.fixture
def typed(client, unique, idle_queue) -> str:
    wid = f"hard-typed-{unique}"
    client.start_workflow(TypedWorkflow.run, *GOOD, id=wid, task_queue=idle_queue)
    return wid


@pytest.mark.parametrize(
    ("index", "bad", "words"),
    [
        (1, "notafloat", ["amount", "expected float", "string 'notafloat'"]),
        (1, True, ["amount", "expected float", "boolean"]),
        (1, None, ["amount", "expected float"]),
        (2, 1.5, ["count", "expected int", "1.5"]),
        (2, True, ["count", "expected int", "boolean"]),
        (2, "3", ["count", "expected int", "string '3'"]),
        (0, 5, ["name", "expected str", "integer 5"]),
        (3, 1, ["flag", "expected bool", "integer 1"]),
        (3, [True], ["flag", "expected bool", "array"]),
    ],
)
def test_a_start_whose_arguments_do_not_fit_the_hints_is_refused(
    admin_api, client, unique, idle_queue, nothing_written, index, bad, words
):
    args = list(GOOD)
    args[index] = bad
    wid = f"hard-bad-{unique}"
    with pytest.raises(InvalidArgumentError, match="workflow 'HardeningTyped'") as raised:
        client.start_workflow(TypedWorkflow.run, *args, id=wid, task_queue=idle_queue)
    for word in words:
        assert word in str(raised.value)
    body = {"workflow_type": "HardeningTyped", "workflow_id": wid, "args": args}
    response = admin_api.post(API, {**body, "task_queue": idle_queue}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_arguments"
    for word in words:
        assert word in error["message"]


def test_the_issues_examples_amount_notafloat_and_an_update_given_1_5(
    admin_api, typed, nothing_written
):
    """OrderWorkflow-style ``amount: float`` given "notafloat"; an int update given 1.5."""
    started = admin_api.post(
        API,
        {"workflow_type": "OrderWorkflow", "workflow_id": f"{typed}-o", "args": ["o", "notafloat"]},
        format="json",
    )
    assert started.status_code == 400, started.content
    assert started.json()["error"]["code"] == "invalid_arguments"
    assert "amount: expected float" in started.json()["error"]["message"]
    update = admin_api.post(url(typed, "updates", "set_count"), {"args": [1.5]}, format="json")
    assert update.status_code == 400, update.content
    assert update.json()["error"]["code"] == "invalid_arguments"
    assert "count: expected int, got a number 1.5" in update.json()["error"]["message"]


@pytest.mark.parametrize(
    ("kind", "name", "args"),
    [
        ("signals", "add", ["1.5"]),
        ("signals", "add_items", [[{"sku": "a", "quantity": 1.5}], None]),
        ("signals", "add_items", [[{"sku": "a"}], None]),
        ("signals", "add_items", [{"sku": "a", "quantity": 1}, None]),
        ("signals", "add_items", [[], 5]),
        ("queries", "times", [True]),
        ("updates", "set_count", ["2"]),
    ],
)
def test_signal_query_and_update_arguments_are_refused_before_anything_is_written(
    admin_api, client, typed, kind, name, args
):
    events = HistoryEvent.objects.filter(execution__workflow_id=typed).count()
    response = admin_api.post(url(typed, kind, name), {"args": args}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_arguments"
    assert HistoryEvent.objects.filter(execution__workflow_id=typed).count() == events
    handle = client.get_workflow_handle(typed)
    call = {"signals": handle.signal, "queries": handle.query, "updates": handle.execute_update}
    with pytest.raises(InvalidArgumentError, match="do not fit its parameter types"):
        call[kind](name, *args)
    assert HistoryEvent.objects.filter(execution__workflow_id=typed).count() == events


def test_fitting_arguments_are_accepted_and_stored_as_sent(admin_api, client, typed, unique):
    handle = client.get_workflow_handle(typed)
    handle.signal(TypedWorkflow.add, 2)  # an int is a float
    handle.signal(TypedWorkflow.add_items, [Item("a", 1)], None)
    handle.signal("add_items", [{"sku": "b", "quantity": 2.0}], "gift")  # 2.0 is the int 2
    assert handle.query(TypedWorkflow.times, 3) == 0.0
    run = WorkflowExecution.objects.get(workflow_id=typed)
    assert run.input == GOOD
    started = admin_api.post(
        API,
        {
            "workflow_type": "HardeningTyped",
            "workflow_id": f"{typed}-2",
            "args": ["x", 1, 2.0, False],
            "task_queue": f"idle-{unique}",
        },
        format="json",
    )
    assert started.status_code == 201, started.content


# --- the converter ---------------------------------------------------------------------------


@dataclasses.dataclass
class Point:
    x: int
    y: float = 0.0


@pytest.mark.parametrize(
    ("data", "hint", "expected"),
    [
        (3, int, 3),
        (3.0, int, 3),
        (3, float, 3.0),
        ("a", str, "a"),
        (False, bool, False),
        (None, Optional[int], None),  # noqa: UP045
        (2, int | str, 2),
        ("2", int | str, "2"),
        (2.5, int | float, 2.5),
        ("b", Literal["a", "b"], "b"),
        ([1, 2.0], list[int], [1, 2]),
        ({"1": 2}, dict[int, float], {1: 2.0}),
        ({"x": 1}, Point, Point(1)),
        ([1, "a"], tuple[int, str], (1, "a")),
        ("1.50", Decimal, Decimal("1.50")),
        ({"any": [1]}, Any, {"any": [1]}),
    ],
)
def test_strict_decoding_accepts_what_fits(data, hint, expected):
    decoded = from_json(data, hint, strict=True)
    assert decoded == expected
    assert type(decoded) is type(expected)


@pytest.mark.parametrize(
    ("data", "hint"),
    [
        (1.5, int),
        (True, int),
        ("1", int),
        ("1.5", float),
        (False, float),
        (1, str),
        (1, bool),
        ("true", bool),
        (None, int),
        (None, list[int]),
        ([1.5], list[int]),
        ({"a": 1}, list[int]),
        ([1], dict[str, int]),
        ({"x": "1"}, Point),
        ({"y": 1.0}, Point),
        ([1], tuple[int, str]),
        ("c", Literal["a", "b"]),
        ([], int | str),
        (True, Decimal),
        ("5", dt.timedelta),
        (5, dt.datetime),
    ],
)
def test_strict_decoding_refuses_what_does_not_fit(data, hint):
    with pytest.raises((TypeError, ValueError, KeyError, ArithmeticError)):
        from_json(data, hint, strict=True)


def test_lenient_decoding_of_histories_is_unchanged():
    """Replay decodes as before: values that would be refused today still come through."""
    assert from_json("5", int) == 5
    assert from_json("notafloat", float) == "notafloat"
    assert from_json(True, int) is True
    assert from_json(1, str) == 1
    assert from_json(None, int) is None
    assert from_json(1.5, int) == 1.5
    assert from_json([1], int | str) == [1]


def test_a_parameter_defaulting_to_none_accepts_none():
    def handler(a: int, b: str = None) -> None: ...  # type: ignore[assignment]  # noqa: RUF013

    assert Signature.of(handler).decode_args([1, None], strict=True) == [1, None]
    with pytest.raises(ValueError, match="a: expected int"):
        Signature.of(handler).decode_args([None, None], strict=True)
