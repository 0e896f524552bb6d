"""Activities used by the tests. Side effects are rows, so any process can count them."""

import asyncio
import time
from decimal import Decimal
from pathlib import Path

from durable_workflows import activity
from durable_workflows.exceptions import ApplicationError

from .models import SideEffect, WebhookRequest
from .types import Order, Receipt


@activity.defn
def record(key: str, name: str) -> str:
    """Count one execution of step ``name`` for run ``key``."""
    SideEffect.record(key, name, activity.info().attempt)
    return f"{name} done"


@activity.defn
def record_and_pause_next_task(key: str, name: str, pause_file: str) -> str:
    """Count the step, then ask the worker hook to hold the next workflow task of this run."""
    SideEffect.record(key, name, activity.info().attempt)
    Path(pause_file).touch()
    return f"{name} done"


@activity.defn
def flaky(key: str, failures: int) -> int:
    """Raise on the first ``failures`` attempts, then return the attempt number."""
    attempt = activity.info().attempt
    SideEffect.record(key, "flaky", attempt)
    if attempt <= failures:
        raise ApplicationError(f"attempt {attempt} failed on purpose", type="FlakyError")
    return attempt


@activity.defn
def wait_for_file(path: str, timeout: float = 60.0) -> bool:
    """Block until ``path`` exists (lets a test act between two workflow tasks)."""
    deadline = time.monotonic() + timeout
    while not Path(path).exists():
        if time.monotonic() > deadline:
            raise ApplicationError(f"{path} never appeared", non_retryable=True)
        time.sleep(0.05)
    return True


@activity.defn
async def async_echo(value: str) -> str:
    return value


@activity.defn
def heartbeat_until_cancelled(key: str) -> str:
    """Heartbeat every 0.1 s; when cancellation arrives, count it and raise CancelledError."""
    from durable_workflows.exceptions import CancelledError

    for beat in range(600):
        try:
            activity.heartbeat(beat)  # raises once cancellation is known (as Temporal's)
        except CancelledError:
            SideEffect.record(key, "saw-cancel", activity.info().attempt)
            raise
        if activity.is_cancelled():
            SideEffect.record(key, "saw-cancel", activity.info().attempt)
            raise CancelledError("stopping: cancellation requested")
        time.sleep(0.1)
    return "never cancelled"


@activity.defn
def heartbeat_until_heartbeat_raises(key: str) -> str:
    """Heartbeat every 0.1 s and never look at is_cancelled(): once cancellation is known,
    heartbeat() itself raises CancelledError (as Temporal's); count that, and let it out."""
    from durable_workflows.exceptions import CancelledError

    try:
        for beat in range(600):
            activity.heartbeat(beat)
            time.sleep(0.1)
    except CancelledError:
        SideEffect.record(key, "heartbeat-raised", activity.info().attempt)
        raise
    return "never cancelled"


@activity.defn
def double(value: int) -> int:
    return value * 2


@activity.defn
def price_order(order: Order) -> Receipt:
    total = sum((line.price * line.quantity for line in order.lines), Decimal("0"))
    return Receipt(order_id=order.order_id, total=total, placed_at=order.placed_at)


@activity.defn
def ask_third_party(key: str) -> str:
    """Hand this attempt's task token to a third party, which settles it later."""
    info = activity.info()
    WebhookRequest.objects.create(
        key=key, attempt=info.attempt, task_token=info.task_token.decode("ascii")
    )
    activity.raise_complete_async()


@activity.defn
async def ask_third_party_async(key: str) -> str:
    """``ask_third_party`` as a coroutine: the worker runs it on an event loop."""
    info = activity.info()
    await asyncio.to_thread(
        WebhookRequest.objects.create,
        key=key,
        attempt=info.attempt,
        task_token=info.task_token.decode("ascii"),
    )
    activity.raise_complete_async()
