"""What the engine raises inside workflow code cannot be swallowed by ``except Exception``."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from durable_workflows import workflow
from durable_workflows._engine import (
    CancelTimer,
    CancelWorkflowExecution,
    NotInWorkflowError,
    ReadOnlyViolationError,
    StartTimer,
    WorkflowInterrupt,
    WorkflowLoopError,
    WorkflowTaskError,
)
from durable_workflows.exceptions import DurableWorkflowsError

from .memory import MemoryRun


def test_engine_errors_join_the_root_and_interrupts_are_not_exceptions():
    for error in (WorkflowTaskError, ReadOnlyViolationError, NotInWorkflowError):
        assert issubclass(error, DurableWorkflowsError)
    assert issubclass(NotInWorkflowError, RuntimeError)
    for interrupt in (WorkflowInterrupt, WorkflowLoopError):
        assert issubclass(interrupt, BaseException)
        assert not issubclass(interrupt, Exception)


def test_a_workflow_call_outside_workflow_code_raises_not_in_workflow_error():
    with pytest.raises(NotInWorkflowError, match="only be called from workflow code"):
        workflow.now()


@workflow.defn(name="EngineTestSwallowsIO")
class SwallowsIOWorkflow:
    @workflow.run
    async def run(self) -> str:
        try:
            await asyncio.get_running_loop().run_in_executor(None, print)
        except Exception:
            return "swallowed"
        return "ran"


def test_forbidden_io_stops_the_workflow_even_inside_except_exception():
    run = MemoryRun(SwallowsIOWorkflow)
    with pytest.raises(WorkflowTaskError) as caught:
        run.run_task()
    assert isinstance(caught.value.__cause__, WorkflowLoopError)
    assert run.types()[-1] == "WorkflowExecutionStarted"  # nothing recorded: task retried


@workflow.defn(name="EngineTestSignalSwallowsIO")
class SignalSwallowsIOWorkflow:
    def __init__(self) -> None:
        self.done = False

    @workflow.signal
    def poke(self) -> None:
        try:  # noqa: SIM105 - the user's pattern under test
            asyncio.get_running_loop().call_soon_threadsafe(print)
        except Exception:
            pass
        self.done = True

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.done)
        return "poked"


def test_forbidden_io_in_a_signal_handler_fails_the_task_even_inside_except_exception():
    run = MemoryRun(SignalSwallowsIOWorkflow)
    run.run_task()
    run.signal("poke")
    with pytest.raises(WorkflowTaskError) as caught:
        run.run_task()
    assert isinstance(caught.value.__cause__, WorkflowLoopError)


def test_forbidden_io_in_a_read_only_call_is_reported_as_an_ordinary_error():
    run = MemoryRun(SignalSwallowsIOWorkflow)
    run.run_task()

    def query() -> None:
        try:  # noqa: SIM105 - the user's pattern under test
            asyncio.get_running_loop().run_in_executor(None, print)
        except Exception:
            pass

    with pytest.raises(WorkflowTaskError) as caught:
        run.instance.call_read_only(query, "Query 'peek'")
    assert isinstance(caught.value.__cause__, WorkflowLoopError)


@workflow.defn(name="EngineTestSwallowsCancel")
class SwallowsCancelWorkflow:
    @workflow.run
    async def run(self) -> str:
        try:
            await asyncio.sleep(timedelta(days=1).total_seconds())
        except Exception:
            return "swallowed"
        return "slept"


def test_a_cancel_request_is_not_swallowed_by_except_exception():
    run = MemoryRun(SwallowsCancelWorkflow)
    assert run.run_task() == [StartTimer(seq=1, timer_id="1", duration=86_400.0)]
    run.request_cancel()
    assert run.run_task() == [CancelTimer(seq=1, timer_id="1"), CancelWorkflowExecution()]
