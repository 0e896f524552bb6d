"""Failure is a typed value whose dict form is exactly what histories already store."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from durable_workflows._engine import (
    Failure,
    FailureKind,
    exception_from_failure,
    failure_from_exception,
)
from durable_workflows.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    RetryState,
    TerminatedError,
    TimeoutError,
    TimeoutType,
)

#: Failure dicts in the shapes the package has been storing (histories, executions,
#: activity rows), each written by hand as it appears in the database.
STORED_SHAPES = {
    "application error": {
        "message": "nope",
        "stack_trace": "trace",
        "kind": "ApplicationError",
        "type": "T",
        "non_retryable": True,
        "details": [{"a": [1]}, "x"],
    },
    "activity error with a cause": {
        "message": "Activity task failed",
        "stack_trace": "trace",
        "kind": "ActivityError",
        "activity_type": "Charge",
        "activity_id": "7",
        "scheduled_event_id": 12,
        "attempt": 2,
        "retry_state": "MAXIMUM_ATTEMPTS_REACHED",
        "cause": {
            "message": "lookup failed",
            "stack_trace": "trace",
            "kind": "ApplicationError",
            "type": "Lookup",
            "non_retryable": False,
            "details": [{"sku": 1}],
        },
    },
    "child workflow error": {
        "message": "child died",
        "stack_trace": "trace",
        "kind": "ChildWorkflowError",
        "workflow_id": "c-1",
        "workflow_type": "C",
    },
    "activity timeout": {
        "message": "Activity heartbeat timeout",
        "stack_trace": "trace",
        "kind": "TimeoutError",
        "timeout_type": "HEARTBEAT",
        "last_heartbeat_details": [7],
    },
    "cancelled": {
        "message": "stop",
        "stack_trace": "trace",
        "kind": "CancelledError",
        "details": ["why"],
    },
    "terminated by exception": {
        "message": "killed",
        "stack_trace": "trace",
        "kind": "TerminatedError",
    },
    # Written by the store without an exception: no stack trace.
    "terminated": {"kind": "TerminatedError", "message": "operator said so"},
    "workflow timed out": {
        "kind": "TimeoutError",
        "message": "Workflow execution timed out",
        "timeout_type": None,
    },
}


@pytest.mark.parametrize("stored", STORED_SHAPES.values(), ids=STORED_SHAPES.keys())
def test_a_stored_failure_reads_and_writes_back_exactly(stored):
    failure = Failure.from_dict(json.loads(json.dumps(stored)))
    assert failure.to_dict() == stored


RAISED = {name: shape for name, shape in STORED_SHAPES.items() if "stack_trace" in shape}


@pytest.mark.parametrize("stored", RAISED.values(), ids=RAISED.keys())
def test_the_exception_rebuilt_from_a_stored_failure_is_described_by_the_same_dict(stored):
    rebuilt = exception_from_failure(stored)
    assert Failure.from_exception(rebuilt).to_dict() == stored
    assert failure_from_exception(rebuilt) == stored


def test_failures_are_frozen_values():
    failure = Failure.terminated("bye")
    with pytest.raises(dataclasses.FrozenInstanceError):
        failure.message = "other"  # type: ignore[misc]
    assert failure == Failure.terminated("bye")


def test_the_named_constructors_build_what_the_store_wrote_by_hand():
    assert Failure.terminated("operator said so").to_dict() == STORED_SHAPES["terminated"]
    assert Failure.terminated("").to_dict() == {"kind": "TerminatedError", "message": "Terminated"}
    assert Failure.workflow_timed_out().to_dict() == STORED_SHAPES["workflow timed out"]


def test_an_activity_timeout_is_the_timeout_error_the_store_described_with_the_last_failure():
    last = failure_from_exception(ApplicationError("flaky", type="Flaky"))
    built = Failure.activity_timed_out(
        TimeoutType.START_TO_CLOSE,
        last_heartbeat_details=[3],
        cause=Failure.from_dict(last),
    ).to_dict()

    by_hand = failure_from_exception(
        TimeoutError(
            "Activity start-to-close timeout",
            type=TimeoutType.START_TO_CLOSE,
            last_heartbeat_details=[3],
        )
    )
    by_hand["cause"] = last
    assert built == by_hand


def test_a_cancellation_is_described_as_the_store_described_it():
    assert Failure.cancelled("Activity cancelled before it started").to_dict() == (
        failure_from_exception(CancelledError("Activity cancelled before it started"))
    )


def test_from_exception_and_to_exception_keep_kind_fields_and_cause():
    try:
        try:
            raise KeyError("sku")
        except KeyError as root:
            raise ActivityError(
                "Activity task failed",
                activity_type="Charge",
                activity_id="7",
                scheduled_event_id=12,
                attempt=2,
                retry_state=RetryState.TIMEOUT,
            ) from root
    except ActivityError as error:
        failure = Failure.from_exception(error)

    assert failure.kind is FailureKind.ACTIVITY
    assert (failure.activity_type, failure.retry_state) == ("Charge", RetryState.TIMEOUT)
    assert failure.cause is not None
    assert (failure.cause.kind, failure.cause.type) == (FailureKind.APPLICATION, "KeyError")

    rebuilt = failure.to_exception()
    assert type(rebuilt) is ActivityError
    assert (rebuilt.activity_id, rebuilt.attempt) == ("7", 2)
    assert isinstance(rebuilt.cause, ApplicationError)
    assert rebuilt.cause.type == "KeyError"
    assert "KeyError" in (rebuilt.cause.stack_trace or "")


def test_asyncio_cancellation_and_termination_have_their_kinds():
    assert Failure.from_exception(asyncio.CancelledError()).kind is FailureKind.CANCELLED
    assert type(Failure.from_exception(TerminatedError("x")).to_exception()) is TerminatedError


def test_an_unknown_kind_reads_as_an_application_failure_as_before():
    rebuilt = exception_from_failure({"kind": "SomethingNew", "message": "m", "type": "Q"})
    assert type(rebuilt) is ApplicationError
    assert (rebuilt.message, rebuilt.type) == ("m", "Q")


def test_a_rebuilt_error_carries_the_failure_it_was_rebuilt_from_at_every_link():
    stored = {
        "message": "Activity task failed",
        "kind": "ActivityError",
        "activity_type": "charge",
        "activity_id": "1",
        "scheduled_event_id": 5,
        "attempt": 3,
        "retry_state": "MAXIMUM_ATTEMPTS_REACHED",
        "cause": {
            "message": "card declined",
            "kind": "ApplicationError",
            "type": "Declined",
            "non_retryable": True,
            "details": [],
        },
    }
    error = exception_from_failure(stored)
    assert error.failure == Failure.from_dict(stored)
    assert error.failure is not None and error.failure.to_dict() == stored
    cause = error.cause
    assert isinstance(cause, ApplicationError)
    assert cause.failure is error.failure.cause
    assert ApplicationError("raised here").failure is None
