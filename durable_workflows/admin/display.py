"""How executions, failures and history events read in the admin: pure presentation.

Nothing here writes; the only reads are the history page and the activity types
that page's events refer to.

Payloads are shown bounded: at most ``PAYLOAD_CHARS`` characters (``EVENT_CHARS`` for an
event's attributes) and ``MAX_DEPTH`` levels of nesting, written out piece by piece and
stopped once the budget is spent, so a page costs about the same whatever the run holds.
What is cut is marked, with a link to the whole value through the HTTP API.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from .. import _json
from ..models import ActivityTask, HistoryEvent, WorkflowExecution

EVENTS_PER_PAGE = 100
PREVIEW_CHARS = 80
MAX_CAUSES = 16
#: The most of one payload the run's page shows (input, result, memo, ...), in characters.
PAYLOAD_CHARS = 20_000
#: The most of one event's attributes shown, in characters (a page has up to 100 events).
EVENT_CHARS = 4_000
#: Nesting shown; deeper lists and dicts read ``[…]`` and ``{…}``.
MAX_DEPTH = 20

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


@dataclass(frozen=True)
class Shown:
    """A payload as the page shows it: its text, and whether that is only part of it."""

    text: str
    truncated: bool = False
    full_url: str = ""  # where the whole value can be read (the HTTP API), if mounted


def bounded_json(
    value: Any, limit: int = PAYLOAD_CHARS, *, indent: int | None = 2, max_depth: int = MAX_DEPTH
) -> tuple[str, bool]:
    """JSON text of ``value`` for reading, at most ``limit`` characters and ``max_depth``
    levels deep; and whether anything was left out.

    Up to the limits it reads as ``json.dumps(value, indent=indent)``. The text is built
    piece by piece and building stops at the limit: the cost is bounded by ``limit`` and
    ``max_depth``, not by the size of ``value``.
    """
    writer = _BoundedWriter(limit, indent, max_depth)
    pieces: list[str] = []
    size = 0
    for piece in writer.pieces(value, 0):
        if size + len(piece) > limit:
            pieces.append(piece[: limit - size])
            return "".join(pieces) + "…", True
        pieces.append(piece)
        size += len(piece)
    return "".join(pieces), writer.cut


@dataclass
class _BoundedWriter:
    limit: int
    indent: int | None
    max_depth: int
    cut: bool = False

    def pieces(self, value: Any, depth: int) -> Iterator[str]:
        if isinstance(value, dict | list | tuple) and value:
            yield from self._container(value, depth)
        elif isinstance(value, str) and len(value) > self.limit:
            # Only the beginning can be shown; encoding all of a long string is not free.
            self.cut = True
            yield _json.dumps_readable(value[: self.limit])[:-1]
        else:
            yield _json.dumps_readable(value, default=str)

    def _container(
        self, value: dict[Any, Any] | list[Any] | tuple[Any, ...], depth: int
    ) -> Iterator[str]:
        is_dict = isinstance(value, dict)
        opening, closing = ("{", "}") if is_dict else ("[", "]")
        if depth >= self.max_depth:
            self.cut = True
            yield f"{opening}…{closing}"
            return
        if self.indent is None:
            between, first, last = ", ", "", ""
        else:
            first = "\n" + " " * (self.indent * (depth + 1))
            between, last = "," + first, "\n" + " " * (self.indent * depth)
        items = value.items() if isinstance(value, dict) else ((None, item) for item in value)
        yield opening
        for index, (key, item) in enumerate(items):
            yield between if index else first
            if is_dict:
                yield _json.dumps_readable(str(key)) + ": "
            yield from self.pieces(item, depth + 1)
        yield last + closing


def pretty_json(value: Any, limit: int = PAYLOAD_CHARS) -> str:
    """Indented JSON for reading, bounded (see :func:`bounded_json`)."""
    return bounded_json(value, limit)[0]


def shown(value: Any, full_url: str = "", limit: int = PAYLOAD_CHARS) -> Shown:
    """A payload for the page, with the link to all of it when it is cut."""
    text, truncated = bounded_json(value, limit)
    return Shown(text, truncated, full_url if truncated else "")


def preview(value: Any, limit: int = PREVIEW_CHARS) -> str:
    """A one-line rendering of a JSON value, cut to ``limit`` characters."""
    if isinstance(value, dict) and "message" in value:  # a failure: its kind and message
        kind = value.get("type") or value.get("kind") or "Failure"
        text = f"{kind}: {str(value['message'])[:limit]}"
    elif isinstance(value, str):
        text = value[: limit + 1]
    else:
        text, _ = bounded_json(value, limit + 1, indent=None)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def api_url(execution: WorkflowExecution, endpoint: str = "", **params: Any) -> str:
    """The HTTP API's URL of ``execution`` (its description, or ``endpoint`` of it), or
    ``""`` when the project does not mount the API."""
    try:
        base = reverse("durable_workflows_api:workflow-list")
    except NoReverseMatch:
        return ""
    segment = quote(execution.workflow_id, safe="")
    if not segment.strip("."):
        segment = segment.replace(".", "%2E")
    path = f"{base}{segment}/" + (f"{endpoint}/" if endpoint else "")
    return f"{path}?{urlencode({'run_id': str(execution.run_id), **params})}"


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
                message=_cut(str(failure.get("message", ""))),
                stack_trace=_cut(str(failure.get("stack_trace") or "")),
                attributes={
                    key: preview(value, PREVIEW_CHARS * 4)
                    for key, value in failure.items()
                    if key not in ("kind", "type", "message", "stack_trace", "cause")
                    and value not in _HIDDEN_WHEN_EMPTY
                },
            )
        )
        failure = failure.get("cause")
    return chain


def _cut(text: str, limit: int = PAYLOAD_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class TimelineEvent:
    event_id: int
    event_type: str
    category: str
    timestamp: datetime
    since_start: str
    summary: list[tuple[str, str]]
    attributes: Shown


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
            attributes=shown(
                row.attributes,
                api_url(execution, "history", after_event_id=row.event_id - 1, limit=1),
                EVENT_CHARS,
            ),
        )
        for row in rows
    ]
    return TimelinePage(events=events, number=number, num_pages=num_pages)
