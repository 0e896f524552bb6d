"""The payload converter: JSON only, typed by hints, with clear errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any, Optional

import pytest

from durable_workflows import activity, workflow
from durable_workflows._engine import Signature, check_size, from_json, to_json
from durable_workflows.exceptions import InvalidArgumentError, PayloadError

from .memory import MemoryRun


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Line:
    sku: str
    quantity: int
    price: Decimal


@dataclasses.dataclass
class Order:
    id: uuid.UUID
    placed_at: dt.datetime
    due: dt.date
    color: Color
    lines: list[Line]
    batches: list[list[Line]]
    by_warehouse: dict[str, Line]
    note: Optional[str] = None  # noqa: UP045 - the typing spelling is what we test
    gift: Line | None = None


def stored(value: Any) -> Any:
    """What comes back from the database: the converter's output through JSON text."""
    return json.loads(json.dumps(to_json(value), allow_nan=False))


def sample_order() -> Order:
    line = Line("A-1", 2, Decimal("9.99"))
    return Order(
        id=uuid.UUID("12345678-1234-5678-1234-567812345678"),
        placed_at=dt.datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=dt.UTC),
        due=dt.date(2026, 3, 5),
        color=Color.GREEN,
        lines=[line, Line("B-2", 1, Decimal("0.10"))],
        batches=[[line], [], [Line("C-3", 5, Decimal("100"))]],
        by_warehouse={"north": line},
        gift=Line("G-0", 1, Decimal("0")),
    )


def test_dataclasses_with_nested_lists_dicts_and_scalars_round_trip():
    order = sample_order()
    data = stored(order)
    assert data["id"] == "12345678-1234-5678-1234-567812345678"
    assert data["placed_at"] == "2026-03-01T08:30:15.123456+00:00"
    assert data["lines"][0] == {"sku": "A-1", "quantity": 2, "price": "9.99"}
    rebuilt = from_json(data, Order)
    assert rebuilt == order
    assert isinstance(rebuilt.batches[2][0], Line)
    assert isinstance(rebuilt.by_warehouse["north"].price, Decimal)
    assert rebuilt.note is None


def test_a_list_of_dataclasses_round_trips():
    lines = [Line("A", 1, Decimal("1.5")), Line("B", 2, Decimal("2"))]
    assert from_json(stored(lines), list[Line]) == lines


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(timedelta(hours=2))), dt.datetime),
        (dt.datetime(2026, 1, 2, 3, 4, 5), dt.datetime),
        (dt.date(2026, 12, 31), dt.date),
        (dt.time(23, 59, 1), dt.time),
        (timedelta(hours=1, milliseconds=5), timedelta),
        (Decimal("12345678901234567890.000000001"), Decimal),
        (uuid.uuid4(), uuid.UUID),
        (Color.RED, Color),
        (Priority.HIGH, Priority),
        (None, Optional[int]),  # noqa: UP045
        (5, Optional[int]),  # noqa: UP045
        (dt.date(2026, 1, 1), Optional[dt.date]),  # noqa: UP045
        ({"a": Decimal("1.1"), "b": Decimal("2")}, dict[str, Decimal]),
        ({1: "one", 2: "two"}, dict[int, str]),
        ((1, "x", Decimal("3")), tuple[int, str, Decimal]),
        ({3, 1, 2}, set[int]),
        ([uuid.UUID(int=1), uuid.UUID(int=2)], list[uuid.UUID]),
    ],
)
def test_typed_values_round_trip(value, hint):
    rebuilt = from_json(stored(value), hint)
    assert rebuilt == value
    assert type(rebuilt) is type(value)


def test_without_a_hint_the_plain_json_value_comes_back():
    assert from_json(stored({"when": dt.date(2026, 1, 1)}), None) == {"when": "2026-01-01"}
    assert from_json(stored([Decimal("1.5")]), Any) == ["1.5"]


@pytest.mark.parametrize(
    "value",
    [
        object(),
        {"nested": [1, {"deep": object()}]},
        float("nan"),
        float("inf"),
        [1.0, float("-inf")],
        Line("A", 1, float("nan")),  # type: ignore[arg-type]
        {(1, 2): "tuple key"},
        b"bytes",
    ],
)
def test_unserializable_values_give_payload_error(value):
    with pytest.raises(PayloadError):
        to_json(value)


def test_payload_error_names_the_offending_type():
    class Widget:
        pass

    with pytest.raises(PayloadError, match="Object of type Widget cannot be stored"):
        to_json({"parts": [Widget()]})


def test_check_size_gives_payload_error_over_the_limit_and_passes_at_it():
    data = {"blob": "x" * 100}
    size = len(json.dumps(data, separators=(",", ":")).encode())
    check_size(data, size, "The input")
    with pytest.raises(
        PayloadError,
        match=rf"The input is {size} bytes as JSON, over the limit "
        rf"of {size - 1} bytes",
    ):
        check_size(data, size - 1, "The input")


def test_size_counts_utf8_bytes_not_characters():
    with pytest.raises(PayloadError):
        check_size("é" * 10, 20, "The text")  # 22 bytes with quotes


@workflow.defn(name="EngineTestBigPayloads")
class BigPayloadWorkflow:
    @workflow.run
    async def run(self, what: str) -> str:
        if what == "argument":
            await workflow.execute_activity(
                "EngineTestSink", "y" * 500, start_to_close_timeout=timedelta(seconds=5)
            )
        return "z" * 500


def test_an_activity_argument_over_the_run_limit_fails_the_task_with_payload_error():
    from durable_workflows._engine import WorkflowTaskError

    run = MemoryRun(BigPayloadWorkflow, "argument", max_payload_bytes=200)
    with pytest.raises(WorkflowTaskError) as caught:
        run.run_task()
    assert isinstance(caught.value.__cause__, PayloadError)
    assert "The arguments of activity EngineTestSink" in str(caught.value.__cause__)


def test_a_workflow_result_over_the_limit_is_refused_with_payload_error():
    run = MemoryRun(BigPayloadWorkflow, "result", max_payload_bytes=200)
    with pytest.raises(PayloadError, match="The result of EngineTestBigPayloads"):
        run.run_task()


# --- signatures -----------------------------------------------------------------------------


def two(a: int, b: str) -> None: ...


def one_or_two(a: int, b: str = "x") -> None: ...


def at_least_one(a: int, *rest: int) -> None: ...


def none() -> None: ...


@pytest.mark.parametrize(
    ("fn", "args", "message"),
    [
        (two, [1], r"two takes 2 argument\(s\) \(a, b\), got 1\."),
        (two, [1, "b", 3], r"two takes 2 argument\(s\) \(a, b\), got 3\."),
        (one_or_two, [], r"one_or_two takes 1 to 2 argument\(s\) \(a, b\), got 0\."),
        (one_or_two, [1, 2, 3], r"one_or_two takes 1 to 2 argument\(s\) \(a, b\), got 3\."),
        (at_least_one, [], r"at_least_one takes at least 1 argument\(s\) \(a\), got 0\."),
        (none, [1], r"none takes 0 argument\(s\) \(none\), got 1\."),
    ],
)
def test_check_arity_names_what_was_expected_and_what_was_given(fn, args, message):
    with pytest.raises(InvalidArgumentError, match=message):
        Signature.of(fn).check_arity(args)


@pytest.mark.parametrize(
    ("fn", "args"),
    [(two, [1, "b"]), (one_or_two, [1]), (one_or_two, [1, "c"]), (at_least_one, [1, 2, 3, 4])],
)
def test_check_arity_accepts_fitting_arguments(fn, args):
    Signature.of(fn).check_arity(args)


def test_signature_decodes_arguments_and_result_by_their_hints():
    def handler(when: dt.datetime, lines: list[Line], count) -> dict[str, Decimal]: ...

    signature = Signature.of(handler)
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    lines = [Line("A", 1, Decimal("2.50"))]
    payloads = signature.encode_args([when, lines, 3], max_bytes=10_000)
    assert signature.decode_args(stored(payloads)) == [when, lines, 3]
    assert signature.decode_result(stored({"total": Decimal("2.50")})) == {"total": Decimal("2.50")}
    with pytest.raises(PayloadError):
        signature.encode_args([when, lines, "x" * 10_000], max_bytes=10_000)


@activity.defn(name="EngineTestQuote")
def quote(lines: list[Line]) -> dict[str, Decimal]:
    return {"total": sum((line.price * line.quantity for line in lines), Decimal(0))}


@workflow.defn(name="EngineTestTypedOrder")
class TypedOrderWorkflow:
    @workflow.run
    async def run(self, order: Order) -> list[object]:
        assert isinstance(order, Order) and isinstance(order.lines[0], Line)
        quoted = await workflow.execute_activity(
            quote, order.lines, start_to_close_timeout=timedelta(seconds=5)
        )
        total = quoted["total"]
        return [type(order.placed_at).__name__, type(total).__name__, total + 1]


def test_workflow_arguments_and_activity_results_are_rebuilt_by_their_type_hints():
    run = MemoryRun(TypedOrderWorkflow, sample_order())
    commands = run.run_task()
    assert commands[0].input == [stored(sample_order().lines)]
    run.complete_activity("1", {"total": Decimal("20.08")})
    run.run_task()
    assert run.result == ["datetime", "Decimal", "21.08"]
