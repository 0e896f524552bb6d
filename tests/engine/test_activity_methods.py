"""Activities that are methods: decorated in the class body, named by the class's method in
workflow code (``execute_activity_method``), run by the method of an instance a worker holds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from durable_workflows import _registry, activity, workflow
from durable_workflows._engine import CompleteWorkflowExecution, ScheduleActivityTask
from durable_workflows.exceptions import InvalidArgumentError, WorkflowDefinitionError

from .memory import MemoryRun

TIMEOUT = timedelta(seconds=30)


class Inventory:
    def __init__(self, stock: dict[str, int]) -> None:
        self.stock = stock

    @activity.defn(name="EngineTestReserve")
    def reserve(self, sku: str, count: int) -> int:
        self.stock[sku] -= count
        return self.stock[sku]

    @activity.defn
    async def engine_test_count(self, sku: str) -> int:
        return self.stock[sku]


@activity.defn(name="EngineTestPlainFunction")
def plain_function(sku: str) -> int:
    return 0


def test_a_method_activity_is_defined_without_self_and_cannot_run_without_an_instance():
    _, definition = _registry.resolve_activity(Inventory.reserve)
    assert definition is not None
    assert definition.name == "EngineTestReserve"
    assert definition.is_method is True
    assert [p.name for p in definition.signature.parameters] == ["sku", "count"]
    assert definition.runnable is False
    assert _registry.is_activity_registered("EngineTestReserve") is False


def test_a_method_activity_is_named_after_the_method_unless_given_a_name():
    _, definition = _registry.resolve_activity(Inventory.engine_test_count)
    assert definition is not None
    assert definition.name == "engine_test_count"
    assert definition.is_async is True


def test_bound_to_an_instance_it_runs_that_instances_method():
    inventory = Inventory({"apple": 5})
    _, definition = _registry.resolve_activity(Inventory.reserve)
    assert definition is not None
    bound = definition.bound_to(inventory.reserve)
    assert bound.runnable and bound.name == "EngineTestReserve"
    assert bound.fn("apple", 2) == 3
    assert inventory.stock == {"apple": 3}


def test_binding_needs_an_instances_method():
    _, definition = _registry.resolve_activity(Inventory.reserve)
    assert definition is not None
    with pytest.raises(WorkflowDefinitionError, match="not bound to an instance"):
        definition.bound_to(Inventory.reserve)


@workflow.defn(name="EngineTestActivityMethods")
class ReservingWorkflow:
    @workflow.run
    async def run(self, sku: str) -> list[int]:
        left = await workflow.execute_activity_method(
            Inventory.reserve, sku, 2, start_to_close_timeout=TIMEOUT
        )
        handle = workflow.start_activity_method(
            Inventory.engine_test_count, sku, start_to_close_timeout=TIMEOUT
        )
        return [left, await handle]


def test_a_workflow_names_the_classs_method_and_schedules_the_activitys_name():
    run = MemoryRun(ReservingWorkflow, "apple")
    [first] = run.run_task()
    assert isinstance(first, ScheduleActivityTask)
    assert (first.activity_type, first.input) == ("EngineTestReserve", ["apple", 2])
    run.complete_activity("1", 3)
    [second] = run.run_task()
    assert isinstance(second, ScheduleActivityTask)
    assert (second.activity_type, second.input) == ("engine_test_count", ["apple"])
    run.complete_activity("2", 3)
    assert run.run_task() == [CompleteWorkflowExecution(result=[3, 3])]


@workflow.defn(name="EngineTestActivityMethodMisuse")
class MisusingWorkflow:
    @workflow.run
    async def run(self, use: str) -> None:
        if use == "function":
            await workflow.execute_activity_method(
                plain_function, "apple", start_to_close_timeout=TIMEOUT
            )
        else:
            await workflow.execute_activity_method(
                Inventory.reserve, "apple", start_to_close_timeout=TIMEOUT
            )


def test_execute_activity_method_refuses_a_plain_function():
    run = MemoryRun(MisusingWorkflow, "function")
    with pytest.raises(Exception, match="takes an @activity.defn method") as caught:
        run.run_task()
    assert isinstance(caught.value.__cause__, TypeError)


def test_the_methods_arguments_are_checked_without_self():
    run = MemoryRun(MisusingWorkflow, "too few")
    with pytest.raises(Exception, match=r"takes 2 argument\(s\) \(sku, count\), got 1") as caught:
        run.run_task()
    assert isinstance(caught.value.__cause__, InvalidArgumentError)
