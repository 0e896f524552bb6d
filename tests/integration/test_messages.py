"""Signals, queries, updates, cancellation, termination and signal-with-start, end to end."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest

from durable_workflows import Client, WorkflowIDReusePolicy
from durable_workflows._engine import EventType
from durable_workflows.exceptions import (
    InvalidArgumentError,
    PayloadError,
    UnknownHandlerError,
    WorkflowAlreadyStartedError,
    WorkflowClosedError,
    WorkflowFailureError,
    WorkflowNotFoundError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from durable_workflows.models import WorkflowExecution
from example_project.app.workflows import GreetingWorkflow, OrderWorkflow
from tests import procs
from tests.helpers import assert_well_formed, types_of, wait_until
from tests.testapp.models import SideEffect
from tests.testapp.workflows import (
    ApprovalWorkflow,
    CartWorkflow,
    CompensatingWorkflow,
    CounterWorkflow,
    SleeperWorkflow,
)

pytestmark = pytest.mark.usefixtures("workers")

client = Client()


def history_length(workflow_id: str) -> int:
    return WorkflowExecution.objects.get(workflow_id=workflow_id, status="RUNNING").history_length


def test_order_status_query_follows_progress_with_and_without_a_worker(
    worker_env, pause_dir, unique
):
    queue = f"orders-{unique}"
    handle = client.start_workflow(
        OrderWorkflow.run, f"o-{unique}", 10.0, id=f"order-q-{unique}", task_queue=queue
    )
    # No worker consumes this queue yet: the query is answered here, from the history.
    assert handle.query(OrderWorkflow.get_status) == "pending"

    hold = Path(pause_dir) / "activity-charge_card"
    hold.touch()
    worker = procs.start_worker(worker_env, [queue], f"orders-{unique}")
    try:
        wait_until((Path(pause_dir) / "activity-charge_card.held").exists, what="charge held")
        assert handle.query(OrderWorkflow.get_status) == "charging"
        assert handle.query("get_status") == "charging"
        hold.unlink()
        assert handle.result(timeout=30).startswith(f"Order o-{unique}")
        assert handle.query(OrderWorkflow.get_status) == "shipped"
    finally:
        hold.unlink(missing_ok=True)
        worker.stop()
    # Worker gone: a completed run still answers with its final state, writing nothing.
    length = handle.describe().history_length
    assert handle.query(OrderWorkflow.get_status) == "shipped"
    assert handle.describe().history_length == length


def test_a_thousand_signals_from_eight_threads_are_each_delivered_once_in_history_order(unique):
    handle = client.start_workflow(CounterWorkflow.run, 1000, id=f"counter-{unique}")
    errors: list[BaseException] = []

    def send(thread: int) -> None:
        try:
            for i in range(125):
                handle.signal(CounterWorkflow.add, f"{thread}:{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors

    seen = handle.result(timeout=180)
    events = handle.fetch_history().events
    assert_well_formed(events)
    signaled = [
        e.attributes["input"][0]
        for e in events
        if e.event_type is EventType.WORKFLOW_EXECUTION_SIGNALED
    ]
    assert len(signaled) == 1000 and len(set(signaled)) == 1000
    # Handlers ran in exactly history order, and each thread's signals kept their order.
    assert seen == signaled
    per_thread: dict[str, list[int]] = defaultdict(list)
    for tag in signaled:
        thread, i = tag.split(":")
        per_thread[thread].append(int(i))
    assert all(order == sorted(order) for order in per_thread.values())


def test_approval_signal_wakes_a_day_long_wait_condition_promptly(unique):
    handle = client.start_workflow(ApprovalWorkflow.run, "leave", id=f"approval-{unique}")
    wait_until(
        lambda: "TimerStarted" in types_of(handle.fetch_history().events), what="the 1-day timer"
    )
    assert handle.query(ApprovalWorkflow.is_approved) is False

    sent = time.monotonic()
    handle.signal(ApprovalWorkflow.approve, "ada")
    assert handle.result(timeout=30) == "leave: approved by ada"
    assert time.monotonic() - sent < 10

    types = types_of(handle.fetch_history().events)
    assert types.count("WorkflowExecutionSignaled") == 1
    assert "TimerCanceled" in types and "TimerFired" not in types


def test_update_validator_rejects_without_writing_and_accepts_with_a_result(unique):
    handle = client.start_workflow(CartWorkflow.run, id=f"cart-{unique}")
    wait_until(lambda: handle.describe().history_length >= 2, what="the first workflow task")
    before = handle.describe().history_length

    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        handle.execute_update(CartWorkflow.add_item, -5)
    assert "amount must be positive, got -5" in str(rejected.value)
    assert rejected.value.cause.type == "ValueError"
    assert handle.describe().history_length == before

    assert handle.execute_update(CartWorkflow.add_item, 7) == 7
    assert handle.execute_update("add_item", 3) == 10
    # A handler that awaits an activity returns after the activity.
    assert handle.execute_update(CartWorkflow.add_doubled, 5) == 20
    assert handle.query(CartWorkflow.get_total) == 20

    handle.signal(CartWorkflow.checkout)
    assert handle.result(timeout=30) == 20
    types = types_of(handle.fetch_history().events)
    assert types.count("WorkflowExecutionUpdateAccepted") == 3
    assert types.count("WorkflowExecutionUpdateCompleted") == 3


def test_query_that_changes_state_is_refused_and_changes_nothing(unique):
    handle = client.start_workflow(CartWorkflow.run, id=f"cart-sneaky-{unique}")
    wait_until(lambda: handle.describe().history_length >= 2, what="the first workflow task")
    with pytest.raises(WorkflowQueryFailedError, match="changed workflow state"):
        handle.query(CartWorkflow.sneaky_query)
    assert handle.query(CartWorkflow.get_total) == 0
    handle.terminate("test over")


def test_cancel_during_activity_runs_compensation_then_ends_canceled(unique):
    handle = client.start_workflow(CompensatingWorkflow.run, unique, id=f"saga-{unique}")
    wait_until(
        lambda: any(a.status == "STARTED" for a in handle.describe().pending_activities),
        what="the long activity to start",
    )
    handle.cancel()

    with pytest.raises(WorkflowFailureError) as raised:
        handle.result(timeout=30)
    assert raised.value.status == "CANCELED"
    assert handle.describe().status == "CANCELED"
    wait_until(lambda: SideEffect.count(unique, "saw-cancel") == 1, what="heartbeat to see cancel")
    assert SideEffect.count(unique, "compensated") == 1

    types = types_of(handle.fetch_history().events)
    assert types.index("WorkflowExecutionCancelRequested") < types.index(
        "ActivityTaskCancelRequested"
    )
    assert types.count("ActivityTaskCompleted") == 1  # the compensation
    assert types[-1] == "WorkflowExecutionCanceled"


def test_terminate_during_sleep_closes_at_once_and_nothing_runs_after(unique):
    handle = client.start_workflow(SleeperWorkflow.run, unique, 2.0, id=f"term-{unique}")
    wait_until(lambda: "TimerStarted" in types_of(handle.fetch_history().events), what="the timer")
    handle.terminate("no longer needed")

    assert handle.describe().status == "TERMINATED"
    with pytest.raises(WorkflowFailureError) as raised:
        handle.result(timeout=5)
    assert raised.value.status == "TERMINATED"
    assert "no longer needed" in str(raised.value)
    length = handle.describe().history_length
    time.sleep(4)  # past the timer's due time and a few ticks
    events = handle.fetch_history().events
    assert len(events) == length
    assert types_of(events)[-1] == "WorkflowExecutionTerminated"
    assert "TimerFired" not in types_of(events)
    assert SideEffect.count(unique, "after-sleep") == 0


def test_signal_with_start_from_ten_threads_starts_one_run_and_delivers_every_signal(unique):
    workflow_id = f"sws-{unique}"
    errors: list[BaseException] = []

    def call(i: int) -> None:
        try:
            client.start_workflow(
                CounterWorkflow.run,
                10,
                id=workflow_id,
                start_signal=CounterWorkflow.add,
                start_signal_args=[f"t{i}"],
            )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert WorkflowExecution.objects.filter(workflow_id=workflow_id).count() == 1
    seen = client.get_workflow_handle(workflow_id).result(timeout=30)
    assert sorted(seen) == sorted(f"t{i}" for i in range(10))


def test_id_reuse_policies(unique):
    workflow_id = f"reuse-{unique}"
    first = client.start_workflow(GreetingWorkflow.run, "a", id=workflow_id)
    with pytest.raises(WorkflowAlreadyStartedError):
        client.start_workflow(GreetingWorkflow.run, "b", id=workflow_id)
    first.result(timeout=30)

    with pytest.raises(WorkflowAlreadyStartedError, match="REJECT_DUPLICATE"):
        client.start_workflow(
            GreetingWorkflow.run,
            "c",
            id=workflow_id,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    with pytest.raises(WorkflowAlreadyStartedError, match="FAILED_ONLY"):
        client.start_workflow(
            GreetingWorkflow.run,
            "c",
            id=workflow_id,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )
    second = client.start_workflow(GreetingWorkflow.run, "d", id=workflow_id)  # the default
    assert second.run_id != first.run_id
    assert second.result(timeout=30) == "Hello, d!"
    assert client.get_workflow_handle(workflow_id).describe().run_id == second.run_id


class TestBadInputIsRefusedAndWritesNothing:
    @pytest.fixture
    def running(self, unique):
        handle = client.start_workflow(CartWorkflow.run, id=f"bad-{unique}")
        wait_until(lambda: handle.describe().history_length >= 2, what="the first task")
        yield handle
        handle.terminate("test over")

    def test_unknown_handler_names_list_the_known_ones(self, running):
        before = running.describe().history_length
        with pytest.raises(UnknownHandlerError, match=r"no signal named 'nope'.*checkout"):
            running.signal("nope")
        with pytest.raises(UnknownHandlerError, match=r"no query named 'nope'.*get_total"):
            running.query("nope")
        with pytest.raises(UnknownHandlerError, match=r"no update named 'nope'.*add_item"):
            running.execute_update("nope", 1)
        with pytest.raises(UnknownHandlerError, match="is a query handler, not a signal"):
            running.signal(CartWorkflow.get_total)
        assert running.describe().history_length == before

    def test_wrong_argument_counts_and_non_json_arguments(self, running):
        before = running.describe().history_length
        with pytest.raises(InvalidArgumentError, match=r"takes 0 argument\(s\).*got 1"):
            running.signal(CartWorkflow.checkout, "extra")
        with pytest.raises(InvalidArgumentError, match=r"takes 1 argument\(s\).*got 0"):
            running.execute_update(CartWorkflow.add_item)
        with pytest.raises(PayloadError, match="cannot be stored"):
            running.execute_update(CartWorkflow.add_item, object())
        with pytest.raises(InvalidArgumentError, match=r"takes 0 argument\(s\)"):
            running.query(CartWorkflow.get_total, 1)
        assert running.describe().history_length == before

    def test_oversized_signal_payload_is_refused(self, running):
        before = running.describe().history_length
        with pytest.raises(PayloadError, match="over the limit"):
            running.signal(CartWorkflow.note, "x" * (3 * 1024 * 1024))
        assert running.describe().history_length == before

    def test_signals_to_closed_or_unknown_workflows(self, unique):
        with pytest.raises(WorkflowNotFoundError, match="No workflow 'missing-"):
            client.get_workflow_handle(f"missing-{unique}").signal("add", "x")
        handle = client.start_workflow(GreetingWorkflow.run, "x", id=f"closed-{unique}")
        handle.result(timeout=30)
        length = handle.describe().history_length
        with pytest.raises(WorkflowClosedError, match="is COMPLETED"):
            handle.signal("anything")
        with pytest.raises(WorkflowClosedError):
            handle.cancel()
        with pytest.raises(WorkflowClosedError):
            handle.terminate("late")
        assert handle.describe().history_length == length
