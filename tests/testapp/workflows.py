"""Workflows used by the tests."""

import asyncio
import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from durable_workflows import RetryPolicy, workflow
from durable_workflows.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    WorkflowAlreadyStartedError,
)

from .activities import (
    ask_third_party,
    ask_third_party_async,
    async_echo,
    double,
    flaky,
    heartbeat_until_heartbeat_raises,
    price_order,
    record,
    record_and_pause_next_task,
    wait_for_file,
)
from .time_workflows import RunActivityWorkflow
from .types import Order, Receipt

SHORT = timedelta(seconds=20)


@workflow.defn
class TwoStepWorkflow:
    """Seed 000 scenario 3: step A, then step B; a test kills the worker in between."""

    @workflow.run
    async def run(self, key: str, pause_dir: str) -> str:
        pause_file = os.path.join(pause_dir, workflow.info().run_id)
        a = await workflow.execute_activity(
            record_and_pause_next_task, key, "A", pause_file, start_to_close_timeout=SHORT
        )
        b = await workflow.execute_activity(record, key, "B", start_to_close_timeout=SHORT)
        return f"{a}, {b}"


@workflow.defn
class FlakyWorkflow:
    @workflow.run
    async def run(self, key: str, failures: int, maximum_attempts: int) -> int:
        return await workflow.execute_activity(
            flaky,
            key,
            failures,
            start_to_close_timeout=SHORT,
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=100),
                backoff_coefficient=1.0,
                maximum_attempts=maximum_attempts,
            ),
        )


@workflow.defn
class DeployChangesOrderWorkflow:
    """Its first command depends on a flag file: flipping it mid-run is a bad deploy."""

    @workflow.run
    async def run(self, key: str, flag_file: str, gate_file: str) -> str:
        if Path(flag_file).exists():  # the "new code"
            await workflow.execute_activity(
                record, key, "new-first-step", start_to_close_timeout=SHORT
            )
        await workflow.execute_activity(wait_for_file, gate_file, start_to_close_timeout=SHORT)
        await workflow.execute_activity(record, key, "after-gate", start_to_close_timeout=SHORT)
        return "restored"


@workflow.defn
class GatherWorkflow:
    @workflow.run
    async def run(self, key: str, count: int) -> list[str]:
        results = await asyncio.gather(
            *(
                workflow.execute_activity(record, key, f"step-{i}", start_to_close_timeout=SHORT)
                for i in range(count)
            )
        )
        return list(results)


@workflow.defn
class DoubleWorkflow:
    """One sync activity: the shape whose database work the statement budget counts."""

    @workflow.run
    async def run(self, value: int) -> int:
        return await workflow.execute_activity(double, value, start_to_close_timeout=SHORT)


@workflow.defn
class EchoWorkflow:
    @workflow.run
    async def run(self, value: str) -> str:
        return await workflow.execute_activity(async_echo, value, start_to_close_timeout=SHORT)


@workflow.defn
class BuggyWorkflow:
    """Raises a plain exception (a bug) unless the fix file exists."""

    @workflow.run
    async def run(self, fix_file: str) -> str:
        if not os.path.exists(fix_file):
            raise KeyError("a bug in workflow code")
        return "fixed"


@workflow.defn
class CounterWorkflow:
    """Counts ``add`` signals until ``target``; remembers their order."""

    def __init__(self) -> None:
        self.count = 0
        self.seen: list[str] = []

    @workflow.run
    async def run(self, target: int) -> list[str]:
        await workflow.wait_condition(lambda: self.count >= target)
        return self.seen

    @workflow.signal
    def add(self, tag: str) -> None:
        self.count += 1
        self.seen.append(tag)

    @workflow.query
    def current(self) -> int:
        return self.count


@workflow.defn
class ApprovalWorkflow:
    def __init__(self) -> None:
        self.approved_by: str | None = None

    @workflow.run
    async def run(self, request: str) -> str:
        try:
            await workflow.wait_condition(
                lambda: self.approved_by is not None, timeout=timedelta(days=1)
            )
        except TimeoutError:
            return f"{request}: expired"
        return f"{request}: approved by {self.approved_by}"

    @workflow.signal
    async def approve(self, who: str) -> None:
        self.approved_by = who

    @workflow.query
    def is_approved(self) -> bool:
        return self.approved_by is not None


@workflow.defn
class CartWorkflow:
    """Updates change the total; the validator refuses non-positive amounts."""

    def __init__(self) -> None:
        self.total = 0
        self.done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        return self.total

    @workflow.update
    def add_item(self, amount: int) -> int:
        self.total += amount
        return self.total

    @add_item.validator
    def _check_amount(self, amount: int) -> None:
        if amount <= 0:
            raise ValueError(f"amount must be positive, got {amount}")

    @workflow.update
    async def add_doubled(self, amount: int) -> int:
        doubled = await workflow.execute_activity("double", amount, start_to_close_timeout=SHORT)
        self.total += doubled
        return self.total

    @workflow.signal
    def checkout(self) -> None:
        self.done = True

    @workflow.signal
    def note(self, text: str) -> None:
        self.last_note = text

    @workflow.query
    def get_total(self) -> int:
        return self.total

    @workflow.query
    def sneaky_query(self) -> int:
        self.total += 1000
        return self.total


@workflow.defn
class CompensatingWorkflow:
    """Saga: on cancellation, undo the work with a compensation activity, then stay cancelled."""

    @workflow.run
    async def run(self, key: str) -> str:
        try:
            await workflow.execute_activity(
                "heartbeat_until_cancelled",
                key,
                start_to_close_timeout=timedelta(seconds=60),
                heartbeat_timeout=timedelta(seconds=2),
            )
        except asyncio.CancelledError:
            await workflow.execute_activity(
                record, key, "compensated", start_to_close_timeout=SHORT
            )
            raise
        return "finished"


@workflow.defn
class SleeperWorkflow:
    @workflow.run
    async def run(self, key: str, seconds: float) -> str:
        await workflow.sleep(seconds)
        await workflow.execute_activity(record, key, "after-sleep", start_to_close_timeout=SHORT)
        return "woke"


@workflow.defn
class TypedOrderWorkflow:
    """Dataclasses, datetimes, decimals and UUIDs in and out, through a real worker."""

    @workflow.run
    async def run(self, order: Order) -> Receipt:
        assert isinstance(order.lines[0].price, Decimal)
        receipt = await workflow.execute_activity(price_order, order, start_to_close_timeout=SHORT)
        assert isinstance(receipt, Receipt) and isinstance(receipt.total, Decimal)
        return receipt


@workflow.defn
class ReviewWorkflow:
    """Runs a first step, waits for ``approve(who)``, then runs a second step (admin tests)."""

    def __init__(self) -> None:
        self.approved_by: str | None = None

    @workflow.run
    async def run(self, key: str) -> str:
        await workflow.execute_activity(record, key, "prepare", start_to_close_timeout=SHORT)
        await workflow.wait_condition(lambda: self.approved_by is not None)
        await workflow.execute_activity(record, key, "publish", start_to_close_timeout=SHORT)
        return f"{key}: approved by {self.approved_by}"

    @workflow.signal
    def approve(self, who: str) -> None:
        self.approved_by = who


@workflow.defn
class MonthlyReminderWorkflow:
    """Sleeps ``days``, then runs ``flaky`` whose first ``failures`` attempts fail an hour apart."""

    @workflow.run
    async def run(self, key: str, days: int, failures: int) -> dict[str, float]:
        started = workflow.now()
        await workflow.sleep(timedelta(days=days))
        attempts = await workflow.execute_activity(
            flaky,
            key,
            failures,
            start_to_close_timeout=SHORT,
            retry_policy=RetryPolicy(
                initial_interval=timedelta(hours=1),
                backoff_coefficient=2.0,
                maximum_attempts=failures + 1,
            ),
        )
        hours = (workflow.now() - started).total_seconds() / 3600
        return {"attempts": attempts, "hours": hours}


# --- composition ------------------------------------------------------------------------


@workflow.defn
class CountdownWorkflow:
    """Continues as new ``n`` times; returns the chain's run ids, oldest first."""

    @workflow.run
    async def run(self, n: int, seen: list[str]) -> list[str]:
        seen = [*seen, workflow.info().run_id]
        if n > 0:
            workflow.continue_as_new(n - 1, seen)
        return seen


@workflow.defn
class ContinuedInfoWorkflow:
    """Continues once; the second run reports what ``info()`` says about the chain."""

    @workflow.run
    async def run(self, first: bool) -> dict[str, object]:
        if first:
            workflow.continue_as_new(False)
        info = workflow.info()
        return {
            "continued_run_id": info.continued_run_id,
            "history_length": info.get_current_history_length(),
            "memo": info.memo,
        }


@workflow.defn
class ChildFailingWorkflow:
    @workflow.run
    async def run(self, message: str) -> None:
        raise ApplicationError(message, type="ChildBroke", non_retryable=True)


@workflow.defn
class ParentWorkflow:
    """Runs a child of the kind asked for and reports what happened."""

    @workflow.run
    async def run(self, kind: str, child_id: str) -> object:
        if kind == "double":
            return await workflow.execute_child_workflow(DoubleWorkflow.run, 21, id=child_id)
        if kind == "fail":
            try:
                await workflow.execute_child_workflow(ChildFailingWorkflow.run, "boom", id=child_id)
            except ChildWorkflowError as err:
                cause = err.cause
                return f"{type(err).__name__}: {type(cause).__name__}: {cause}"
            return "no error"
        if kind == "signal":
            handle = await workflow.start_child_workflow(CartWorkflow.run, id=child_id)
            await handle.signal(CartWorkflow.checkout)
            return await handle
        if kind == "cancel":
            handle = await workflow.start_child_workflow(
                SleeperWorkflow.run, child_id, 3600.0, id=child_id
            )
            await workflow.sleep(1)
            handle.cancel()
            try:
                await handle
            except ChildWorkflowError as err:
                return f"cancelled: {type(err.cause).__name__}"
            return "not cancelled"
        if kind == "abandon-on-close":
            await workflow.start_child_workflow(
                SleeperWorkflow.run,
                child_id,
                3600.0,
                id=child_id,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
            return "left"
        if kind == "terminate-on-close":
            await workflow.start_child_workflow(SleeperWorkflow.run, child_id, 3600.0, id=child_id)
            return "left"
        if kind == "duplicate":
            await workflow.start_child_workflow(SleeperWorkflow.run, child_id, 3600.0, id=child_id)
            try:
                await workflow.start_child_workflow(
                    SleeperWorkflow.run, child_id, 3600.0, id=child_id
                )
            except WorkflowAlreadyStartedError:
                return "already started"
            return "started twice"
        raise ValueError(kind)


@workflow.defn
class SignallerWorkflow:
    """Signals (or cancels) another workflow by id; reports the outcome."""

    @workflow.run
    async def run(self, target_id: str, action: str) -> str:
        handle = workflow.get_external_workflow_handle(target_id)
        try:
            if action == "cancel":
                await handle.cancel()
            else:
                await handle.signal(CartWorkflow.checkout)
        except ApplicationError as err:
            return f"failed: {err.type}"
        return "delivered"


@workflow.defn
class LocalStepsWorkflow:
    """A local activity, a durable sleep (the next task replays the first from its marker),
    then a flaky local activity retried in process."""

    @workflow.run
    async def run(self, key: str, failures: int, maximum_attempts: int) -> list[object]:
        first = await workflow.execute_local_activity(
            record, key, "local-1", start_to_close_timeout=SHORT
        )
        await workflow.sleep(5)
        second = await workflow.execute_local_activity(
            flaky,
            key,
            failures,
            start_to_close_timeout=SHORT,
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=10), maximum_attempts=maximum_attempts
            ),
        )
        return [first, second]


@workflow.defn
class CronTickWorkflow:
    """One firing of a cron workflow: reports when it started (workflow time)."""

    @workflow.run
    async def run(self, label: str) -> str:
        return f"{label}@{workflow.now():%H:%M:%S}"


@workflow.defn
class ChildRunnerWorkflow:
    """A parent whose child runs one activity (RunActivityWorkflow) with the options given."""

    @workflow.run
    async def run(
        self, child_id: str, activity: str, args: list[object], options: dict[str, object]
    ) -> object:
        return await workflow.execute_child_workflow(
            RunActivityWorkflow.run, activity, args, options, id=child_id
        )


@workflow.defn
class WaitingParentWorkflow:
    """Starts a long-sleeping child with the given close policy, then waits to be ended."""

    @workflow.run
    async def run(self, child_id: str, policy: str) -> None:
        await workflow.start_child_workflow(
            SleeperWorkflow.run,
            child_id,
            3600.0,
            id=child_id,
            parent_close_policy=workflow.ParentClosePolicy(policy),
        )
        await workflow.wait_condition(lambda: False)


@workflow.defn
class CounterChainWorkflow:
    """Counts to ``total`` in runs of one step each: continue-as-new ``total`` times."""

    @workflow.run
    async def run(self, remaining: int, count: int) -> int:
        if remaining > 0:
            workflow.continue_as_new(remaining - 1, count + 1)
        return count


@workflow.defn
class RenewingWorkflow:
    """Continues as new when told to renew; finishes when told to stop."""

    def __init__(self) -> None:
        self.renew = False
        self.stop = False

    @workflow.run
    async def run(self, generation: int) -> int:
        await workflow.wait_condition(lambda: self.renew or self.stop)
        if self.stop:
            return generation
        workflow.continue_as_new(generation + 1)

    @workflow.signal
    def renew_now(self) -> None:
        self.renew = True

    @workflow.signal
    def stop_now(self) -> None:
        self.stop = True


@workflow.defn
class WebhookWorkflow:
    """One step a third party completes (async activity completion); reports how it ended.

    On cancellation of the run, it cancels the step and lingers a minute, so the third
    party can report the cancellation while the run is open.
    """

    @workflow.run
    async def run(
        self,
        key: str,
        start_to_close: float = 3600.0,
        heartbeat: float | None = None,
        attempts: int = 1,
        coroutine: bool = False,
    ) -> object:
        try:
            return await workflow.execute_activity(
                ask_third_party_async if coroutine else ask_third_party,
                key,
                start_to_close_timeout=timedelta(seconds=start_to_close),
                heartbeat_timeout=timedelta(seconds=heartbeat) if heartbeat else None,
                retry_policy=RetryPolicy(
                    maximum_attempts=attempts, initial_interval=timedelta(seconds=1)
                ),
            )
        except ActivityError as err:
            cause = err.cause
            return {
                "error": type(cause).__name__,
                "type": str(getattr(cause, "type", None)),
                "message": str(cause),
                "attempt": err.attempt,
            }
        except asyncio.CancelledError:
            await workflow.sleep(60)
            return "cancelled"


@workflow.defn
class OrderTaggingWorkflow:
    """Search attributes and memo set mid-run; waits for ``ship`` (a day at most)."""

    def __init__(self) -> None:
        self.shipped = False

    @workflow.run
    async def run(self, customer_id: str, amount: float) -> dict:
        workflow.upsert_search_attributes(
            {"CustomerId": customer_id, "Amount": amount, "Stage": "paid", "Tags": ["new"]}
        )
        workflow.upsert_memo({"note": f"paid {amount}"})
        await workflow.wait_condition(lambda: self.shipped, timeout=timedelta(days=1))
        workflow.upsert_search_attributes({"Stage": "shipped", "Tags": []})
        return {"attributes": workflow.info().search_attributes, "memo": workflow.memo()}

    @workflow.signal
    def ship(self) -> None:
        self.shipped = True


@workflow.defn
class HeartbeatingWorkWorkflow:
    """Runs one activity that heartbeats until it is cancelled."""

    @workflow.run
    async def run(self, key: str) -> str:
        return await workflow.execute_activity(
            heartbeat_until_heartbeat_raises,
            key,
            start_to_close_timeout=timedelta(seconds=60),
            heartbeat_timeout=timedelta(seconds=2),
        )


@workflow.defn
class ShortNapWorkflow:
    @workflow.run
    async def run(self, seconds: float) -> str:
        await workflow.sleep(seconds)
        return "woke"
