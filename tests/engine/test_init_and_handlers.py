"""``workflow.init`` hands the run's arguments to ``__init__``; a run can wait for its
in-flight handlers with ``all_handlers_finished()``, and warns when it closes without
waiting (unless the handler's ``unfinished_policy`` is ``ABANDON``)."""

from __future__ import annotations

import asyncio
import warnings
from datetime import timedelta

import pytest

from durable_workflows import workflow
from durable_workflows._engine import CompleteWorkflowExecution, EventType
from durable_workflows.exceptions import WorkflowDefinitionError

from .memory import MemoryRun, kinds

TIMEOUT = timedelta(seconds=30)


# --- workflow.init ---------------------------------------------------------------------------


@workflow.defn(name="EngineTestInitGreeter")
class InitGreeter:
    @workflow.init
    def __init__(self, name: str, punctuation: str = "!") -> None:
        self.greeting = f"Hello, {name}{punctuation}"
        self.heard: list[str] = []

    @workflow.signal
    def hear(self) -> None:
        # Runs before the run method (signal-with-start): the constructor has the arguments.
        self.heard.append(self.greeting)

    @workflow.run
    async def run(self, name: str, punctuation: str = "!") -> list[str]:
        return [*self.heard, self.greeting]


def test_an_init_method_receives_the_runs_arguments_before_any_handler_runs():
    run = MemoryRun(InitGreeter, "Ada", "?")
    run.signal("hear")
    assert run.run_task() == [CompleteWorkflowExecution(result=["Hello, Ada?", "Hello, Ada?"])]


def test_an_init_method_with_only_defaulted_parameters_still_receives_the_arguments():
    # Without @workflow.init a defaulted parameter would be left at its default.
    run = MemoryRun(InitGreeter, "Bo")
    assert run.run_task() == [CompleteWorkflowExecution(result=["Hello, Bo!"])]
    assert workflow.get_definition(InitGreeter).init_takes_args is True


def test_workflow_init_on_another_method_is_refused():
    with pytest.raises(WorkflowDefinitionError, match="decorates a workflow's __init__"):

        class _Wrong:
            @workflow.init
            def setup(self, name: str) -> None: ...


def test_an_init_whose_parameters_differ_from_the_run_methods_is_refused():
    with pytest.raises(WorkflowDefinitionError, match="must take the parameters of its run"):

        @workflow.defn(name="EngineTestInitMismatch")
        class _Mismatch:
            @workflow.init
            def __init__(self, name: str) -> None: ...

            @workflow.run
            async def run(self, name: str, count: int) -> None: ...


# --- all_handlers_finished -------------------------------------------------------------------


@workflow.defn(name="EngineTestPatientHandlers")
class PatientHandlers:
    def __init__(self) -> None:
        self.done: list[str] = []
        self.seen_unfinished = False
        self.go = False

    @workflow.signal
    async def slow(self, tag: str) -> None:
        await asyncio.sleep(10)
        self.done.append(tag)

    @workflow.update
    async def slow_update(self, tag: str) -> str:
        await asyncio.sleep(20)
        self.done.append(tag)
        return tag

    @workflow.signal
    def finish(self) -> None:
        self.go = True

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: self.go)
        self.seen_unfinished = not workflow.all_handlers_finished()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.done


def accept_update(run: MemoryRun, update_id: str, name: str, *args: object) -> None:
    run.append(
        EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        {"update_id": update_id, "update_name": name, "input": list(args)},
    )


def test_a_run_waits_for_its_async_signal_and_update_handlers_before_returning():
    run = MemoryRun(PatientHandlers)
    run.run_task()
    run.signal("slow", "signal")
    accept_update(run, "u-1", "slow_update", "update")
    run.signal("finish")
    assert kinds(run.run_task()) == ["StartTimer", "StartTimer"]
    assert run.instance.workflow.seen_unfinished is True
    run.advance(10)
    run.fire_timer("1")
    assert run.run_task() == []  # the update handler is still sleeping
    run.advance(10)
    run.fire_timer("2")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # waiting for the handlers: no warning
        commands = run.run_task()
    assert kinds(commands) == ["CompleteWorkflowUpdate", "CompleteWorkflowExecution"]
    assert commands[-1] == CompleteWorkflowExecution(result=["signal", "update"])
    assert run.replay().instance.closed


def test_all_handlers_finished_is_true_when_no_handler_ever_ran():
    run = MemoryRun(PatientHandlers)
    run.run_task()
    run.signal("finish")
    assert run.run_task() == [CompleteWorkflowExecution(result=[])]
    assert run.instance.workflow.seen_unfinished is False


# --- closing with handlers running -----------------------------------------------------------


@workflow.defn(name="EngineTestImpatient")
class Impatient:
    def __init__(self) -> None:
        self.go = False

    @workflow.signal
    async def slow(self) -> None:
        await asyncio.sleep(60)

    @workflow.signal(unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def slow_but_abandonable(self) -> None:
        await asyncio.sleep(60)

    @workflow.update
    async def slow_update(self) -> None:
        await asyncio.sleep(60)

    @workflow.signal
    def finish(self) -> None:
        self.go = True

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.go)
        return "done"


def test_closing_with_an_async_signal_handler_running_warns_and_names_it():
    run = MemoryRun(Impatient, workflow_id="impatient-1")
    run.run_task()
    run.signal("slow")
    run.signal("finish")
    with pytest.warns(workflow.UnfinishedSignalHandlersWarning) as caught:
        assert kinds(run.run_task())[-1] == "CompleteWorkflowExecution"
    message = str(caught[0].message)
    assert "EngineTestImpatient 'impatient-1'" in message
    assert "slow" in message and "all_handlers_finished" in message


def test_closing_with_an_update_handler_running_warns_with_its_id():
    run = MemoryRun(Impatient)
    run.run_task()
    accept_update(run, "upd-7", "slow_update")
    run.signal("finish")
    with pytest.warns(workflow.UnfinishedUpdateHandlersWarning, match=r"slow_update \(id upd-7\)"):
        run.run_task()


def test_a_handler_declared_abandon_closes_without_a_warning():
    run = MemoryRun(Impatient)
    run.run_task()
    run.signal("slow_but_abandonable")
    run.signal("finish")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kinds(run.run_task())[-1] == "CompleteWorkflowExecution"


def test_replaying_a_closed_run_does_not_warn_again():
    run = MemoryRun(Impatient)
    run.run_task()
    run.signal("slow")
    run.signal("finish")
    with pytest.warns(workflow.UnfinishedSignalHandlersWarning):
        run.run_task()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run.replay().instance.closed
