"""Search attributes and memo inside a workflow: upserts are commands, replay reads them back."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from durable_workflows import workflow
from durable_workflows._engine import (
    EventType,
    ModifyWorkflowProperties,
    ReadOnlyViolationError,
    WorkflowTaskError,
)
from durable_workflows._engine import UpsertWorkflowSearchAttributes as Upsert
from durable_workflows.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)
from durable_workflows.exceptions import NondeterminismError

from .memory import MemoryRun, kinds, unregistered

TIMEOUT = timedelta(seconds=30)
STAGE = SearchAttributeKey.for_keyword("Stage")
AMOUNT = SearchAttributeKey.for_float("Amount")
TAGS = SearchAttributeKey.for_keyword_list("Tags")
DUE = SearchAttributeKey.for_datetime("DueAt")
DUE_AT = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=2)))


@workflow.defn(name="EngineTestTagging")
class TaggingWorkflow:
    @workflow.run
    async def run(self) -> list[dict[str, Any]]:
        self.seen = seen = [dict(workflow.info().search_attributes)]
        workflow.upsert_search_attributes({"Stage": "charging", "Amount": 12, "Tags": ["a", "b"]})
        seen.append(dict(workflow.info().search_attributes))
        await workflow.execute_activity(
            "EngineTestCharge", start_to_close_timeout=TIMEOUT, activity_id="charge"
        )
        workflow.upsert_search_attributes(
            [STAGE.value_set("done"), TAGS.value_unset(), DUE.value_set(DUE_AT)]
        )
        workflow.upsert_search_attributes({"Amount": None})
        seen.append(dict(workflow.info().search_attributes))
        return seen


def test_an_upsert_is_recorded_and_info_shows_it_at_once():
    run = MemoryRun(TaggingWorkflow, search_attributes={"CustomerId": "c-7"})
    assert kinds(run.run_task()) == ["UpsertWorkflowSearchAttributes", "ScheduleActivityTask"]
    (upserted,) = run.of_type(EventType.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)
    assert upserted.attributes == {
        "search_attributes": {"Stage": "charging", "Amount": 12, "Tags": ["a", "b"]}
    }
    run.complete_activity("charge")
    commands = run.run_task()
    assert kinds(commands)[:2] == ["UpsertWorkflowSearchAttributes"] * 2
    first, second = (c for c in commands if isinstance(c, Upsert))
    assert first.search_attributes == {
        "Stage": "done",
        "Tags": None,
        "DueAt": "2026-03-01T07:30:00+00:00",  # stored in UTC, so it orders as text
    }
    assert second.search_attributes == {"Amount": None}
    final = {"CustomerId": "c-7", "Stage": "done", "DueAt": "2026-03-01T07:30:00+00:00"}
    assert run.result == [
        {"CustomerId": "c-7"},
        {"CustomerId": "c-7", "Stage": "charging", "Amount": 12, "Tags": ["a", "b"]},
        final,
    ]
    assert run.search_attributes == final  # what the store merges into the row


def test_replay_reads_the_attributes_as_they_were_at_each_step_not_the_rows_latest():
    run = MemoryRun(TaggingWorkflow, search_attributes={"CustomerId": "c-7"})
    run.run_task()
    run.complete_activity("charge")
    run.run_task()
    recorded = run.result
    # A worker builds info() from the row, which already holds the final attributes.
    run.info = dataclasses.replace(run.info, search_attributes=dict(run.search_attributes))
    replayed = run.replay()
    assert replayed.instance.closed
    assert replayed.instance.info.search_attributes == run.search_attributes
    assert replayed.instance.workflow.seen == recorded  # the code saw the same at each step


@workflow.defn(name="EngineTestTyped")
class TypedWorkflow:
    @workflow.run
    async def run(self) -> list[Any]:
        workflow.upsert_search_attributes(
            TypedSearchAttributes(
                [SearchAttributePair(AMOUNT, 3), SearchAttributePair(DUE, DUE_AT)]
            )
        )
        typed = workflow.info().typed_search_attributes
        return [
            typed[AMOUNT],
            typed.get(DUE) == DUE_AT,
            typed.get(STAGE, "none"),
            STAGE in typed,
            AMOUNT in typed,
            len(typed),
        ]


def test_typed_attributes_read_back_as_their_key_types():
    run = MemoryRun(TypedWorkflow)
    run.run_task()
    assert run.result == [3.0, True, "none", False, True, 2]


def test_typed_updates_check_the_value_against_the_key():
    with pytest.raises(TypeError, match="'Amount' is a double"):
        AMOUNT.value_set("12")
    with pytest.raises(TypeError, match="timezone-aware"):
        DUE.value_set(datetime(2026, 1, 1))
    with pytest.raises(TypeError, match="'Tags' is a keyword list"):
        TAGS.value_set(["a", 1])
    assert SearchAttributeKey.for_int("N").value_set(3).value == 3
    with pytest.raises(TypeError):
        SearchAttributeKey.for_int("N").value_set(True)  # a bool is not an int here


class _BadUpsert:
    @workflow.run
    async def run(self, which: str) -> None:
        workflow.upsert_search_attributes(BAD_UPSERTS[which])


BAD_UPSERTS: dict[str, Any] = {
    "name": {"no spaces": "x"},
    "value": {"Nested": {"a": 1}},
}


@pytest.mark.parametrize(
    ("which", "message"),
    [("name", "'no spaces' is not usable"), ("value", "dict is not a search attribute value")],
)
def test_an_unusable_name_or_value_fails_the_task_naming_it(which, message):
    run = MemoryRun(unregistered(_BadUpsert, "EngineTestBadUpsert"), which)
    with pytest.raises(WorkflowTaskError) as caught:
        run.run_task()
    assert message in str(caught.value.__cause__)


class _UpsertsStage:
    @workflow.run
    async def run(self, stage: str) -> None:
        workflow.upsert_search_attributes({"Stage": stage})
        await workflow.sleep(60)


class _NoUpsert:
    @workflow.run
    async def run(self, stage: str) -> None:
        await workflow.sleep(60)


def test_a_different_value_replays_but_a_missing_upsert_is_nondeterminism():
    run = MemoryRun(unregistered(_UpsertsStage, "EngineTestUpsertReplay"), "old")
    run.run_task()
    changed = run.replay(unregistered(_UpsertsStage, "EngineTestUpsertReplay"))
    assert changed.commands == []  # the recorded task matched
    with pytest.raises(NondeterminismError, match="UpsertWorkflowSearchAttributes"):
        run.replay(unregistered(_NoUpsert, "EngineTestUpsertReplay"))


# --- memo ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Owner:
    name: str
    since: datetime


@workflow.defn(name="EngineTestMemo")
class MemoWorkflow:
    @workflow.run
    async def run(self) -> list[Any]:
        owner = workflow.memo_value("owner", type_hint=Owner)
        before = workflow.memo()
        try:
            workflow.memo_value("absent")
            missing = "no error"
        except KeyError as exc:
            missing = str(exc)
        workflow.upsert_memo({"note": "charged", "owner": None})
        return [
            isinstance(owner, Owner) and owner.since.year,
            sorted(before),
            missing,
            workflow.memo_value("absent", default=0),
            workflow.memo(),
        ]


def test_memo_values_convert_by_type_hint_and_a_missing_key_needs_a_default():
    owner = {"name": "ada", "since": "2025-05-01T00:00:00+00:00"}
    run = MemoryRun(MemoWorkflow, memo={"owner": owner, "plan": "pro"})
    (command, _complete) = run.run_task()
    assert isinstance(command, ModifyWorkflowProperties)
    assert command.memo == {"note": "charged", "owner": None}
    assert run.result == [
        2025,
        ["owner", "plan"],
        "\"Memo has no key 'absent'.\"",
        0,
        {"plan": "pro", "note": "charged"},
    ]
    assert run.memo == {"plan": "pro", "note": "charged"}
    (modified,) = run.of_type(EventType.WORKFLOW_PROPERTIES_MODIFIED)
    assert modified.attributes == {"memo": {"note": "charged", "owner": None}}


def test_an_upsert_from_a_query_handler_is_refused():
    run = MemoryRun(unregistered(_UpsertsStage, "EngineTestUpsertQuery"), "x")
    run.run_task()
    instance = run.replay().instance
    with pytest.raises(ReadOnlyViolationError):
        instance.call_read_only(
            lambda: workflow.upsert_search_attributes({"Stage": "y"}), "query q"
        )


def test_the_typed_collection_applies_updates_and_reads_stored_values():
    typed = TypedSearchAttributes.from_json({"Stage": "a", "N": 2, "Ok": True, "L": ["x"]})
    assert [pair.key.indexed_value_type.name for pair in typed] == [
        "KEYWORD",
        "INT",
        "BOOL",
        "KEYWORD_LIST",
    ]
    updated = typed.updated(STAGE.value_set("b"), SearchAttributeKey.for_int("N").value_unset())
    assert updated.to_json() == {"Stage": "b", "Ok": True, "L": ["x"]}
    assert updated[STAGE] == "b"
    with pytest.raises(KeyError):
        updated[SearchAttributeKey.for_int("N")]
    assert TypedSearchAttributes.empty.to_json() == {}
