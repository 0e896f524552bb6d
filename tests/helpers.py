"""Small assertions and queries shared by the integration and crash tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from durable_workflows._engine import EventType, HistoryEvent
from durable_workflows.models import WorkflowExecution
from tests.testapp.models import SideEffect

T = TypeVar("T")

#: How late a tick-driven action may be on this shared machine: one 1 s tick, plus slack.
TICK_SLACK = timedelta(seconds=2.5)


def wait_until(predicate: Callable[[], T], timeout: float = 30.0, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def types_of(events: list[HistoryEvent]) -> list[str]:
    return [e.event_type.value for e in events]


def assert_well_formed(events: list[HistoryEvent]) -> None:
    """Dense ids from 1; starts with Started; every activity scheduled once and closed once."""
    assert [e.event_id for e in events] == list(range(1, len(events) + 1))
    assert events[0].event_type is EventType.WORKFLOW_EXECUTION_STARTED
    scheduled = {e.event_id for e in events if e.event_type is EventType.ACTIVITY_TASK_SCHEDULED}
    closed = [
        e.attributes["scheduled_event_id"]
        for e in events
        if e.event_type
        in (
            EventType.ACTIVITY_TASK_COMPLETED,
            EventType.ACTIVITY_TASK_FAILED,
            EventType.ACTIVITY_TASK_TIMED_OUT,
            EventType.ACTIVITY_TASK_CANCELED,
        )
    ]
    assert len(closed) == len(set(closed)), f"an activity closed twice: {closed}"
    assert set(closed) <= scheduled
    started = [
        e.attributes["scheduled_event_id"]
        for e in events
        if e.event_type is EventType.ACTIVITY_TASK_STARTED
    ]
    assert len(started) == len(set(started)), f"an activity started twice: {started}"


def events_of(handle) -> list[HistoryEvent]:
    return handle.fetch_history().events


def only(events: list[HistoryEvent], event_type: EventType) -> HistoryEvent:
    found = [e for e in events if e.event_type is event_type]
    assert len(found) == 1, f"expected one {event_type.value}, got {types_of(events)}"
    return found[0]


def attempt_times(key: str, name: str) -> list[datetime]:
    rows = SideEffect.objects.filter(key=key, name=name).order_by("attempt")
    return [row.created for row in rows]


def closed(prefix: str) -> int:
    return WorkflowExecution.objects.filter(
        workflow_id__startswith=f"{prefix}-", status="COMPLETED"
    ).count()
