"""Activities for the time, failure and crash tests. Each records what it did as SideEffect rows.

``SideEffect.created`` is stamped by the worker process when a row is written, so a
test reads attempt start times, steps and heartbeats from any process.
"""

import time
from datetime import timedelta
from pathlib import Path

from durable_workflows import activity
from durable_workflows.exceptions import ApplicationError

from .models import SideEffect


def _wait_for(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise ApplicationError(f"{path} never appeared", non_retryable=True)
        time.sleep(0.05)


@activity.defn
def gated_attempt(key: str, folder: str) -> str:
    """Record the attempt's start, then wait for ``<folder>/release-<attempt>``."""
    attempt = activity.info().attempt
    SideEffect.record(key, "started", attempt)
    _wait_for(Path(folder) / f"release-{attempt}", timeout=120)
    SideEffect.record(key, "finished", attempt)
    return f"attempt-{attempt}"


@activity.defn
def fail_with(key: str, how: str) -> str:
    """Record the attempt, then fail: by ApplicationError type, exception class or flag."""
    SideEffect.record(key, how, activity.info().attempt)
    if how == "typed":
        raise ApplicationError("fatal on purpose", type="FatalError")
    if how == "class":
        raise LookupError("a LookupError on purpose")
    if how == "flagged":
        raise ApplicationError("flagged non-retryable", non_retryable=True)
    raise ApplicationError(f"transient failure ({how})", type="TransientError")


@activity.defn
def resumable_count(key: str, steps: int, step_seconds: float) -> list[int]:
    """Do ``steps`` steps, heartbeating the last one done; resume after it on a retry.

    Returns ``[attempt, first step this attempt did]``.
    """
    info = activity.info()
    first = int(info.heartbeat_details[0]) + 1 if info.heartbeat_details else 0
    SideEffect.record(key, f"resumed-at-{first}", info.attempt)
    for step in range(first, steps):
        time.sleep(step_seconds)
        SideEffect.record(key, f"step-{step}", info.attempt)
        activity.heartbeat(step)
    return [info.attempt, first]


@activity.defn
def heartbeat_then_hang(key: str, beats: int, release_file: str) -> str:
    """Heartbeat ``beats`` times, 0.2 s apart, then go silent until ``release_file`` appears."""
    attempt = activity.info().attempt
    for beat in range(beats):
        activity.heartbeat(beat)
        time.sleep(0.2)
    SideEffect.record(key, "silent", attempt)
    _wait_for(Path(release_file), timeout=120)
    SideEffect.record(key, "woke-late", attempt)
    return "finished late"


@activity.defn
def heartbeat_steadily(key: str, seconds: float, every: float) -> int:
    """Heartbeat every ``every`` seconds for ``seconds``; returns how many heartbeats."""
    beats = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        activity.heartbeat(beats)
        beats += 1
        time.sleep(every)
    SideEffect.record(key, "steady-done", activity.info().attempt)
    return beats


def _gated_insert(key: str, folder: str) -> str:
    """Insert this attempt's row, wait for ``release-<attempt>``, then mark it done (a file:
    outside any transaction, so a test sees the body end even if its row rolled back)."""
    attempt = activity.info().attempt
    SideEffect.record(key, "row", attempt)
    (Path(folder) / f"inserted-{attempt}").touch()
    _wait_for(Path(folder) / f"release-{attempt}", timeout=120)
    (Path(folder) / f"done-{attempt}").touch()
    return f"attempt-{attempt}"


@activity.defn(atomic=True)
def atomic_gated_insert(key: str, folder: str) -> str:
    return _gated_insert(key, folder)


@activity.defn
def plain_gated_insert(key: str, folder: str) -> str:
    return _gated_insert(key, folder)


@activity.defn(atomic=True)
def atomic_insert_then_fail_once(key: str) -> int:
    """Insert a row; raise on attempt 1 (after the insert), succeed on the next."""
    attempt = activity.info().attempt
    SideEffect.record(key, "row", attempt)
    if attempt == 1:
        raise ApplicationError("failing after the insert, on purpose")
    return attempt


@activity.defn(concurrency=activity.Concurrency(limit=1, key="customer_id"))
def call_crm(customer_id: str, key: str, seconds: float) -> str:
    """At most one call per customer at a time: stamps its start and end."""
    attempt = activity.info().attempt
    SideEffect.record(key, f"start:{customer_id}", attempt)
    time.sleep(seconds)
    SideEffect.record(key, f"end:{customer_id}", attempt)
    return customer_id


@activity.defn(concurrency=activity.Concurrency(limit=1, key="customer_id"))
def call_crm_gated(customer_id: str, key: str, folder: str) -> str:
    """As call_crm, but attempt N waits for ``<folder>/release-<N>``."""
    attempt = activity.info().attempt
    SideEffect.record(key, f"start:{customer_id}", attempt)
    _wait_for(Path(folder) / f"release-{attempt}", timeout=120)
    SideEffect.record(key, f"end:{customer_id}", attempt)
    return f"{customer_id}-{attempt}"


@activity.defn(rate_limit=activity.RateLimit(limit=5, period=timedelta(seconds=1), key="key"))
def rate_limited_ping(key: str) -> int:
    """At most 5 starts a second (per ``key``)."""
    SideEffect.record(key, "ping", activity.info().attempt)
    return 1
