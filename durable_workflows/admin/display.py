"""How executions, failures and history events read in the admin: pure presentation.

Nothing here writes; the only reads are the history page and the activity types
that page's events refer to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from .. import _json
from ..models import ActivityTask, HistoryEvent, WorkflowExecution

EVENTS_PER_PAGE = 100
PREVIEW_CHARS = 80
MAX_CAUSES = 16

# Attributes worth a glance, in the order they read best on one line.
_SUMMARY_KEYS = (
    "workflow_type",
    "activity_type",
    "activity_id",
    "signal_name",
    "update_name",
    "update_id",
    "timer_id",
    "duration",
    "marker_name",
    "scheduled_event_id",
    "started_event_id",
    "attempt",
    "task_queue",
    "identity",
    "retry_state",
    "reason",
    "input",
    "result",
    "failure",
    "details",
)
_HIDDEN_WHEN_EMPTY: tuple[object, ...] = (None, "", [], {})

_CATEGORY_PREFIXES = (
    ("WorkflowTask", "task"),
    ("ActivityTask", "activity"),
    ("Timer", "timer"),
    ("WorkflowExecutionSignaled", "signal"),
    ("WorkflowExecutionUpdate", "signal"),
    ("Marker", "marker"),
    ("ChildWorkflow", "child"),
    ("StartChildWorkflow", "child"),
)


def event_category(event_type: str) -> str:
    """A colour family for an event type: failed, canceled, task, activity, timer, ..."""
    if event_type == "WorkflowExecutionCompleted":
        return "completed"
    if event_type.endswith(("Failed", "TimedOut", "Terminated")):
        return "failed"
    if "Cancel" in event_type:
        return "canceled"
    for prefix, category in _CATEGORY_PREFIXES:
        if event_type.startswith(prefix):
            return category
    return "workflow"


def pretty_json(value: Any) -> str:
    """Indented JSON for reading (display only; payloads are coded by the converter)."""
    return _json.dumps_readable(value, indent=2, default=str)


def preview(value: Any, limit: int = PREVIEW_CHARS) -> str:
    """A one-line rendering of a JSON value, cut to ``limit`` characters."""
    if isinstance(value, dict) and "message" in value:  # a failure: its kind and message
        kind = value.get("type") or value.get("kind") or "Failure"
        text = f"{kind}: {value['message']}"
    elif isinstance(value, str):
        text = value
    else:
        text = _json.dumps_readable(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_duration(seconds: float | None) -> str:
    """``350 ms``, ``4.2 s``, ``3m 20s``, ``2h 5m``, ``1d 4h``."""
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s"


def format_time(value: datetime) -> str:
    """``2026-11-22 21:36:44`` in the current time zone."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


def run_duration(execution: WorkflowExecution, now: datetime) -> float:
    """Seconds from start to close, or to ``now`` for a running execution."""
    return ((execution.close_time or now) - execution.start_time).total_seconds()


@dataclass(frozen=True)
class FailureLink:
    """One failure of a chain: the outer failure first, then its cause, and so on."""

    kind: str
    message: str
    stack_trace: str
    attributes: dict[str, Any]


def failure_chain(failure: dict[str, Any] | None) -> list[FailureLink]:
    """Flatten a failure dict and its nested ``cause`` into a list, outermost first."""
    chain: list[FailureLink] = []
    while isinstance(failure, dict) and len(chain) < MAX_CAUSES:
        kind = failure.get("kind") or "Failure"
        if failure.get("type") and failure.get("type") != kind:
            kind = f"{kind} ({failure['type']})"
        chain.append(
            FailureLink(
                kind=kind,
                message=str(failure.get("message", "")),
                stack_trace=str(failure.get("stack_trace") or ""),
                attributes={
                    key: value
                    for key, value in failure.items()
                    if key not in ("kind", "type", "message", "stack_trace", "cause")
                    and value not in _HIDDEN_WHEN_EMPTY
                },
            )
        )
        failure = failure.get("cause")
    return chain


@dataclass(frozen=True)
class TimelineEvent:
    event_id: int
    event_type: str
    category: str
    timestamp: datetime
    since_start: str
    summary: list[tuple[str, str]]
    attributes_json: str


@dataclass(frozen=True)
class TimelinePage:
    """One page of a run's history, ``EVENTS_PER_PAGE`` events by event id."""

    events: list[TimelineEvent]
    number: int
    num_pages: int

    @property
    def page_numbers(self) -> list[int | None]:
        """The page links to show; ``None`` stands for an ellipsis."""
        shown = {1, self.num_pages, *range(self.number - 2, self.number + 3)}
        pages = sorted(p for p in shown if 1 <= p <= self.num_pages)
        out: list[int | None] = []
        for page in pages:
            if out and page - (out[-1] or 0) > 1:
                out.append(None)
            out.append(page)
        return out


def _summary(attributes: dict[str, Any], activity_types: dict[int, str]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if "activity_type" not in attributes:
        activity_type = activity_types.get(attributes.get("scheduled_event_id", -1))
        if activity_type:
            pairs.append(("activity_type", activity_type))
    for key in _SUMMARY_KEYS:
        value = attributes.get(key)
        if value in _HIDDEN_WHEN_EMPTY:
            continue
        if key == "duration" and isinstance(value, int | float):
            pairs.append((key, format_duration(value)))
        else:
            pairs.append((key, preview(value)))
    return pairs


def timeline_page(execution: WorkflowExecution, page: Any) -> TimelinePage:
    """The requested page of ``execution``'s history (clamped to the pages there are).

    Event ids are dense from 1, so a page is an id range read through the unique
    index: no count and no offset, however long the history.
    """
    num_pages = max(1, math.ceil(execution.history_length / EVENTS_PER_PAGE))
    try:
        number = min(max(int(page), 1), num_pages)
    except (TypeError, ValueError):
        number = 1
    first = (number - 1) * EVENTS_PER_PAGE + 1
    rows = list(
        HistoryEvent.objects.filter(
            execution=execution, event_id__gte=first, event_id__lt=first + EVENTS_PER_PAGE
        ).order_by("event_id")
    )
    referenced = {
        row.attributes["scheduled_event_id"]
        for row in rows
        if isinstance(row.attributes.get("scheduled_event_id"), int)
        and "activity_type" not in row.attributes
    }
    activity_types = (
        dict(
            ActivityTask.objects.filter(
                execution=execution, scheduled_event_id__in=referenced
            ).values_list("scheduled_event_id", "activity_type")
        )
        if referenced
        else {}
    )
    events = [
        TimelineEvent(
            event_id=row.event_id,
            event_type=row.event_type,
            category=event_category(row.event_type),
            timestamp=row.timestamp,
            since_start="+"
            + format_duration(max((row.timestamp - execution.start_time).total_seconds(), 0.0)),
            summary=_summary(row.attributes, activity_types),
            attributes_json=pretty_json(row.attributes),
        )
        for row in rows
    ]
    return TimelinePage(events=events, number=number, num_pages=num_pages)
