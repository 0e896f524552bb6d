"""Declaring workflows fails at decoration time with a message naming the fix; retry policies."""

from __future__ import annotations

from datetime import timedelta

import pytest

from durable_workflows import RetryPolicy, _registry, activity, workflow
from durable_workflows.exceptions import WorkflowDefinitionError

# --- workflow definitions -------------------------------------------------------------------


def test_a_class_without_a_run_method_is_refused():
    with pytest.raises(WorkflowDefinitionError, match=r"has no @workflow.run method"):

        @workflow.defn(name="EngineTestNoRun")
        class NoRun:
            async def run(self) -> None: ...


def test_a_non_async_run_method_is_refused():
    with pytest.raises(WorkflowDefinitionError, match=r"must be `async def`"):

        class SyncRun:
            @workflow.run
            def run(self) -> None: ...


def test_two_run_methods_are_refused_and_named():
    with pytest.raises(
        WorkflowDefinitionError, match=r"several @workflow.run methods \(one, two\)"
    ):

        @workflow.defn(name="EngineTestTwoRuns")
        class TwoRuns:
            @workflow.run
            async def one(self) -> None: ...

            @workflow.run
            async def two(self) -> None: ...


def test_an_async_query_is_refused():
    with pytest.raises(WorkflowDefinitionError, match=r"must be a plain `def`"):

        class AsyncQuery:
            @workflow.query
            async def status(self) -> str:
                return "x"


def test_two_handlers_with_one_signal_name_are_refused():
    with pytest.raises(WorkflowDefinitionError, match=r"defines the signal 'go' twice"):

        @workflow.defn(name="EngineTestTwoSignals")
        class TwoSignals:
            @workflow.run
            async def run(self) -> None: ...

            @workflow.signal(name="go")
            def go_one(self) -> None: ...

            @workflow.signal(name="go")
            def go_two(self) -> None: ...


def test_two_workflow_classes_may_share_a_name_until_a_lookup_cannot_choose():
    @workflow.defn(name="EngineTestDuplicateName")
    class First:
        @workflow.run
        async def run(self) -> None: ...

    @workflow.defn(name="EngineTestDuplicateName")  # another module's, say: no error here
    class Second:
        @workflow.run
        async def run(self) -> None: ...

    with pytest.raises(WorkflowDefinitionError) as caught:
        _registry.get_workflow("EngineTestDuplicateName", "engine-test-queue")
    message = str(caught.value)
    assert "Two workflow definitions are named 'EngineTestDuplicateName'" in message
    assert "First" in message and "Second" in message
    assert "Worker(task_queue=..., workflows=[...])" in message
    assert "@workflow.defn(name=...)" in message
    # A queue that lists one runs that one.
    _registry.register_for_queue("engine-test-second", workflows=[workflow.get_definition(Second)])
    assert _registry.get_workflow("EngineTestDuplicateName", "engine-test-second").cls is Second


def test_redecorating_the_same_class_is_not_a_duplicate():
    # Module reloads (autoreload, autodiscovery twice) decorate the same class again.
    for _ in range(2):

        @workflow.defn(name="EngineTestReloaded")
        class Reloaded:
            @workflow.run
            async def run(self) -> None: ...


def test_a_definition_records_handlers_and_whether_init_takes_the_arguments():
    @workflow.defn(name="EngineTestWithHandlers")
    class WithHandlers:
        def __init__(self, customer: str) -> None:
            self.customer = customer

        @workflow.run
        async def go(self, customer: str) -> str:
            return customer

        @workflow.signal
        async def poke(self) -> None: ...

        @workflow.query(name="who")
        def customer_name(self) -> str:
            return self.customer

    definition = workflow.get_definition(WithHandlers)
    assert workflow.get_definition(WithHandlers.go) is definition
    assert definition.name == "EngineTestWithHandlers"
    assert definition.init_takes_args is True
    assert set(definition.signals) == {"poke"}
    assert definition.signals["poke"].is_async is True
    assert set(definition.queries) == {"who"}
    assert definition.updates == {}


def test_two_activities_may_share_a_name_until_a_lookup_cannot_choose():
    @activity.defn(name="EngineTestDuplicateActivity")
    def first() -> None: ...

    @activity.defn(name="EngineTestDuplicateActivity")
    def second() -> None: ...

    with pytest.raises(WorkflowDefinitionError, match="Two activity definitions are named"):
        _registry.get_activity("EngineTestDuplicateActivity")
    assert not _registry.is_activity_registered("EngineTestDuplicateActivity")


def test_a_generator_activity_is_refused():
    with pytest.raises(WorkflowDefinitionError, match="is a generator"):

        @activity.defn(name="EngineTestGenerator")
        def produce():
            yield 1


# --- retry policy ---------------------------------------------------------------------------


def seconds(policy: RetryPolicy, attempts: int) -> list[float]:
    return [policy.retry_delay(n).total_seconds() for n in range(1, attempts + 1)]


def test_default_retry_delays_double_from_one_second_up_to_a_hundred_times_initial():
    assert seconds(RetryPolicy(), 10) == [1, 2, 4, 8, 16, 32, 64, 100, 100, 100]


def test_the_default_cap_scales_with_the_initial_interval():
    policy = RetryPolicy(initial_interval=timedelta(milliseconds=100), backoff_coefficient=3)
    assert seconds(policy, 6) == pytest.approx([0.1, 0.3, 0.9, 2.7, 8.1, 10.0])


def test_maximum_interval_caps_the_delay():
    policy = RetryPolicy(maximum_interval=timedelta(seconds=5))
    assert seconds(policy, 5) == [1, 2, 4, 5, 5]


def test_a_backoff_coefficient_of_one_gives_a_constant_delay():
    assert seconds(
        RetryPolicy(initial_interval=timedelta(seconds=3), backoff_coefficient=1), 4
    ) == [
        3,
        3,
        3,
        3,
    ]


def test_max_attempts_is_an_alias_of_maximum_attempts():
    assert RetryPolicy(max_attempts=3) == RetryPolicy(maximum_attempts=3)
    assert RetryPolicy(max_attempts=3).maximum_attempts == 3
    assert RetryPolicy(maximum_attempts=3, max_attempts=3).maximum_attempts == 3
    with pytest.raises(ValueError, match="not both"):
        RetryPolicy(maximum_attempts=2, max_attempts=3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"initial_interval": timedelta(0)}, "initial_interval must be positive"),
        ({"backoff_coefficient": 0.5}, "backoff_coefficient must be at least 1.0"),
        ({"maximum_attempts": -1}, "maximum_attempts must be 0"),
        ({"maximum_interval": timedelta(milliseconds=10)}, "must not be below initial_interval"),
        ({"non_retryable_error_types": "ValueError"}, "must be a list of names"),
    ],
)
def test_invalid_retry_policies_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)


def test_retry_policy_round_trips_through_its_recorded_form():
    policy = RetryPolicy(
        initial_interval=timedelta(milliseconds=250),
        backoff_coefficient=1.5,
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=7,
        non_retryable_error_types=["Declined", "ValueError"],
    )
    data = policy.to_dict()
    assert data == {
        "initial_interval": 0.25,
        "backoff_coefficient": 1.5,
        "maximum_interval": 30.0,
        "maximum_attempts": 7,
        "non_retryable_error_types": ["Declined", "ValueError"],
    }
    assert RetryPolicy.from_dict(data) == policy
    assert RetryPolicy.from_dict(RetryPolicy().to_dict()) == RetryPolicy()


@pytest.mark.parametrize("attempt", [48, 60, 1100, 10**6])
def test_retry_delay_stays_at_the_cap_however_many_attempts_failed(attempt):
    # Unlimited attempts is the default: an activity failing for hours must keep retrying.
    assert RetryPolicy().retry_delay(attempt) == timedelta(seconds=100)
    capped = RetryPolicy(maximum_interval=timedelta(minutes=10), backoff_coefficient=10)
    assert capped.retry_delay(attempt) == timedelta(minutes=10)
