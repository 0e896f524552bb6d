"""Plain-text and JSON output for the ``workflow`` management command."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from .. import _json
from .._services import HistoryEvent, json_ready
from ..common import WorkflowDescription


def json_text(value: Any) -> str:
    """Indented JSON of a value, dataclasses and datetimes included."""
    return _json.dumps_readable(json_ready(value), indent=2)


def compact(value: Any, limit: int = 80) -> str:
    """One-line JSON, shortened to ``limit`` characters."""
    text = _json.dumps(json_ready(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Left-aligned columns separated by two spaces, with a header row."""
    cells = [[str(h) for h in headers], *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def description_text(d: WorkflowDescription) -> str:
    """A run as ``key: value`` lines, then its pending activities and timers."""
    fields = [
        ("Workflow ID", d.workflow_id),
        ("Run ID", d.run_id),
        ("Type", d.workflow_type),
        ("Task queue", d.task_queue),
        ("Status", d.status),
        ("Start time", when(d.start_time)),
        ("Close time", when(d.close_time)),
        ("Execution timeout", f"{d.execution_timeout:g} s" if d.execution_timeout else "-"),
        ("History length", d.history_length),
        ("Input", compact(d.input, 200)),
    ]
    if d.status == "COMPLETED":
        fields.append(("Result", compact(d.result, 200)))
    if d.failure:
        fields.append(("Failure", compact(d.failure, 200)))
    if d.task_failure:
        fields.append(("Task failure", compact(d.task_failure, 200)))
    if d.search_attributes:
        fields.append(("Search attributes", compact(d.search_attributes, 200)))
    if d.memo:
        fields.append(("Memo", compact(d.memo, 200)))
    width = max(len(name) for name, _ in fields)
    lines = [f"{name + ':':<{width + 1}}  {value}" for name, value in fields]
    if d.pending_activities:
        lines += ["", "Pending activities:"]
        lines.append(
            table(
                ["ACTIVITY ID", "TYPE", "STATUS", "ATTEMPT", "SCHEDULED"],
                (
                    (a.activity_id, a.activity_type, a.status, a.attempt, when(a.scheduled_time))
                    for a in d.pending_activities
                ),
            )
        )
    if d.pending_timers:
        lines += ["", "Pending timers:"]
        lines.append(
            table(
                ["TIMER ID", "FIRES AT"], ((t.timer_id, when(t.fire_at)) for t in d.pending_timers)
            )
        )
    return "\n".join(lines)


def summaries_text(rows: Iterable[Any]) -> str:
    """A table of runs (model rows as listed by ``_services.list_executions``)."""
    return table(
        ["STATUS", "WORKFLOW ID", "TYPE", "TASK QUEUE", "START TIME", "CLOSE TIME"],
        (
            (
                r.status,
                r.workflow_id,
                r.workflow_type,
                r.task_queue,
                when(r.start_time),
                when(r.close_time),
            )
            for r in rows
        ),
    )


def summary_dict(row: Any) -> dict[str, Any]:
    return {
        "workflow_id": row.workflow_id,
        "run_id": str(row.run_id),
        "workflow_type": row.workflow_type,
        "task_queue": row.task_queue,
        "status": row.status,
        "start_time": row.start_time,
        "close_time": row.close_time,
        "execution_timeout": row.execution_timeout,
        "history_length": row.history_length,
        "search_attributes": row.search_attributes,
    }


def history_text(events: Iterable[HistoryEvent]) -> str:
    return table(
        ["ID", "TIME", "TYPE", "DETAILS"],
        (
            (e.event_id, when(e.timestamp), e.event_type.value, compact(e.attributes, 100))
            for e in events
        ),
    )
