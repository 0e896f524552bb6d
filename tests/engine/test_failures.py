"""Which exceptions fail the workflow, which fail only the task, and how failures travel."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from durable_workflows import workflow
from durable_workflows._engine import (
    CompleteWorkflowExecution,
    WorkflowTaskError,
    exception_from_failure,
    failure_from_exception,
)
from durable_workflows.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    RetryState,
    TerminatedError,
    TimeoutError,
    TimeoutType,
)

from .memory import MemoryRun, kinds, unregistered

TIMEOUT = timedelta(seconds=30)


@workflow.defn(name="EngineTestRejects")
class RejectingWorkflow:
    @workflow.run
    async def run(self, order_id: str) -> str:
        await workflow.execute_activity("EngineTestCheck", order_id, start_to_close_timeout=TIMEOUT)
        raise ApplicationError(
            f"order {order_id} is invalid",
            {"order": order_id},
            3,
            type="BadOrder",
            non_retryable=True,
        )


def test_application_error_fails_the_workflow_with_its_type_message_and_details():
    run = MemoryRun(RejectingWorkflow, "o-1")
    run.run_task()
    run.complete_activity("1")
    assert kinds(run.run_task()) == ["FailWorkflowExecution"]
    failure = run.failure
    assert failure["kind"] == "ApplicationError"
    assert failure["message"] == "order o-1 is invalid"
    assert failure["type"] == "BadOrder"
    assert failure["non_retryable"] is True
    assert failure["details"] == [{"order": "o-1"}, 3]
    assert "in run" in failure["stack_trace"]
    assert "ApplicationError: order o-1 is invalid" in failure["stack_trace"]
    json.dumps(failure)  # storable as is


@workflow.defn(name="EngineTestBuggy")
class BuggyWorkflow:
    @workflow.run
    async def run(self, data: dict[str, int]) -> int:
        await workflow.execute_activity("EngineTestCheck", start_to_close_timeout=TIMEOUT)
        return data["missing"]


class BuggyWorkflowFixed:
    @workflow.run
    async def run(self, data: dict[str, int]) -> int:
        await workflow.execute_activity("EngineTestCheck", start_to_close_timeout=TIMEOUT)
        return data.get("missing", -1)


def test_a_key_error_fails_the_task_not_the_workflow_and_a_fixed_deploy_resumes_it():
    run = MemoryRun(BuggyWorkflow, {"present": 1})
    run.run_task()
    run.complete_activity("1")
    history_before = list(run.events)
    with pytest.raises(WorkflowTaskError) as caught:
        run.run_task()
    assert isinstance(caught.value.__cause__, KeyError)
    assert "KeyError('missing')" in str(caught.value)
    assert run.events == history_before  # nothing recorded: the task is retried
    with pytest.raises(WorkflowTaskError):  # the same code fails the same way
        run.run_task()
    assert run.run_task(unregistered(BuggyWorkflowFixed, "EngineTestBuggy")) == [
        CompleteWorkflowExecution(result=-1)
    ]


@workflow.defn(name="EngineTestCatchesActivityError")
class CatchesActivityErrorWorkflow:
    @workflow.run
    async def run(self, catch: bool) -> dict[str, object]:
        try:
            await workflow.execute_activity(
                "EngineTestCharge", 10, start_to_close_timeout=TIMEOUT, activity_id="charge"
            )
        except ActivityError as error:
            if not catch:
                raise
            cause = error.cause
            assert isinstance(cause, ApplicationError)
            chain, failure = [], error.failure  # walked as Temporal code walks one
            while failure is not None:
                chain.append([failure.kind, failure.message, failure.attempt])
                failure = failure.cause
            return {
                "chain": chain,
                "activity_type": error.activity_type,
                "activity_id": error.activity_id,
                "scheduled_event_id": error.scheduled_event_id,
                "attempt": error.attempt,
                "retry_state": error.retry_state,
                "cause": [cause.message, cause.type, cause.non_retryable, list(cause.details)],
            }
        return {}


def test_activity_task_failed_surfaces_as_activity_error_caused_by_the_rebuilt_application_error():
    run = MemoryRun(CatchesActivityErrorWorkflow, True)
    run.run_task()
    run.fail_activity(
        "charge",
        ApplicationError("card declined", {"code": 51}, type="Declined", non_retryable=True),
        attempt=3,
        retry_state=RetryState.NON_RETRYABLE_FAILURE,
    )
    run.run_task()
    assert run.result == {
        "chain": [
            ["ActivityError", "Activity task failed", 3],
            ["ApplicationError", "card declined", None],
        ],
        "activity_type": "EngineTestCharge",
        "activity_id": "charge",
        "scheduled_event_id": 3,
        "attempt": 3,
        "retry_state": "NON_RETRYABLE_FAILURE",
        "cause": ["card declined", "Declined", True, [{"code": 51}]],
    }


def test_an_activity_failing_with_a_plain_exception_has_its_class_name_as_type():
    run = MemoryRun(CatchesActivityErrorWorkflow, True)
    run.run_task()
    run.fail_activity(
        "charge",
        ValueError("bad amount"),
        attempt=5,
        retry_state=RetryState.MAXIMUM_ATTEMPTS_REACHED,
    )
    run.run_task()
    assert run.result["cause"] == ["bad amount", "ValueError", False, []]
    assert run.result["retry_state"] == "MAXIMUM_ATTEMPTS_REACHED"


def test_an_uncaught_activity_error_fails_the_workflow_with_the_cause_chain():
    run = MemoryRun(CatchesActivityErrorWorkflow, False)
    run.run_task()
    run.fail_activity("charge", ApplicationError("card declined", type="Declined"))
    assert kinds(run.run_task()) == ["FailWorkflowExecution"]
    failure = run.failure
    assert failure["kind"] == "ActivityError"
    assert failure["activity_type"] == "EngineTestCharge"
    assert failure["cause"]["kind"] == "ApplicationError"
    assert failure["cause"]["type"] == "Declined"
    rebuilt = exception_from_failure(failure)
    assert isinstance(rebuilt, ActivityError)
    assert isinstance(rebuilt.cause, ApplicationError)
    assert rebuilt.cause.type == "Declined"


@workflow.defn(name="EngineTestFailingSignal")
class FailingSignalWorkflow:
    @workflow.signal
    def reject(self, reason: str) -> None:
        raise ApplicationError(reason, type="Rejected")

    @workflow.signal
    def crash(self) -> None:
        raise ZeroDivisionError("oops")

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: False)
        return "never"


def test_application_error_in_a_signal_handler_fails_the_workflow():
    run = MemoryRun(FailingSignalWorkflow)
    run.run_task()
    run.signal("reject", "no thanks")
    assert kinds(run.run_task()) == ["FailWorkflowExecution"]
    assert (run.failure["message"], run.failure["type"]) == ("no thanks", "Rejected")


def test_a_bug_in_a_signal_handler_fails_the_task():
    run = MemoryRun(FailingSignalWorkflow)
    run.run_task()
    run.signal("crash")
    with pytest.raises(WorkflowTaskError) as caught:
        run.run_task()
    assert isinstance(caught.value.__cause__, ZeroDivisionError)


# --- failure dicts ------------------------------------------------------------------------


def round_trip(error: BaseException):
    failure = failure_from_exception(error)
    json.dumps(failure)
    return exception_from_failure(json.loads(json.dumps(failure)))


def test_application_error_round_trips_with_type_details_and_non_retryable():
    rebuilt = round_trip(ApplicationError("nope", {"a": [1, 2]}, "x", type="T", non_retryable=True))
    assert type(rebuilt) is ApplicationError
    assert (rebuilt.message, rebuilt.type, rebuilt.non_retryable) == ("nope", "T", True)
    assert list(rebuilt.details) == [{"a": [1, 2]}, "x"]
    assert rebuilt.cause is None


def test_every_failure_kind_round_trips_with_its_own_fields():
    timeout = round_trip(
        TimeoutError("slow", type=TimeoutType.HEARTBEAT, last_heartbeat_details=[7])
    )
    assert type(timeout) is TimeoutError
    assert (timeout.type, list(timeout.last_heartbeat_details)) == (TimeoutType.HEARTBEAT, [7])

    cancelled = round_trip(CancelledError("stop", "why"))
    assert type(cancelled) is CancelledError
    assert (cancelled.message, list(cancelled.details)) == ("stop", ["why"])

    child = round_trip(ChildWorkflowError("child died", workflow_id="c-1", workflow_type="C"))
    assert type(child) is ChildWorkflowError
    assert (child.workflow_id, child.workflow_type) == ("c-1", "C")

    terminated = round_trip(TerminatedError("killed"))
    assert type(terminated) is TerminatedError
    assert terminated.message == "killed"


def test_cause_chains_survive_the_round_trip():
    try:
        try:
            try:
                raise KeyError("sku")
            except KeyError as root:
                raise ApplicationError("lookup failed", type="Lookup") from root
        except ApplicationError as middle:
            raise ActivityError(
                "Activity task failed",
                activity_type="EngineTestCharge",
                activity_id="7",
                scheduled_event_id=12,
                attempt=2,
                retry_state=RetryState.MAXIMUM_ATTEMPTS_REACHED,
            ) from middle
    except ActivityError as top:
        error = top

    rebuilt = round_trip(error)
    assert type(rebuilt) is ActivityError
    assert (rebuilt.activity_type, rebuilt.activity_id, rebuilt.scheduled_event_id) == (
        "EngineTestCharge",
        "7",
        12,
    )
    assert (rebuilt.attempt, rebuilt.retry_state) == (2, RetryState.MAXIMUM_ATTEMPTS_REACHED)
    middle = rebuilt.cause
    assert type(middle) is ApplicationError
    assert (middle.message, middle.type) == ("lookup failed", "Lookup")
    root = middle.cause
    assert type(root) is ApplicationError  # a plain exception comes back as its description
    assert (root.message, root.type, root.non_retryable) == ("'sku'", "KeyError", False)
    assert root.cause is None
    assert "KeyError" in root.stack_trace


def test_unserializable_details_are_kept_as_their_repr():
    failure = failure_from_exception(ApplicationError("odd", object.__new__(object)))
    assert failure["details"][0].startswith("<object object at")
    json.dumps(failure)


def test_an_activity_timeout_surfaces_as_activity_error_caused_by_timeout_error():
    @workflow.defn(name="EngineTestActivityTimeout")
    class ActivityTimeoutWorkflow:
        @workflow.run
        async def run(self) -> list[object]:
            try:
                await workflow.execute_activity("EngineTestSlow", start_to_close_timeout=TIMEOUT)
            except ActivityError as error:
                assert isinstance(error.cause, TimeoutError)
                return [
                    error.retry_state,
                    error.cause.type,
                    list(error.cause.last_heartbeat_details),
                ]
            return []

    run = MemoryRun(ActivityTimeoutWorkflow)
    run.run_task()
    run.time_out_activity(
        "1",
        TimeoutError("no heartbeat", type=TimeoutType.HEARTBEAT, last_heartbeat_details=[40]),
        attempt=2,
    )
    run.run_task()
    assert run.result == ["TIMEOUT", "HEARTBEAT", [40]]
