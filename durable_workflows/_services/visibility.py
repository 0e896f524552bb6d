"""Reading many runs and long histories: the listing filters and history pages shared by
the client, the API, the management command and the admin.

Temporal calls this "visibility". Listing never loads payload columns (input, result,
failure, memo), so a page of runs costs one query whatever the payloads weigh. Which
runs a user may see at all is the project's ``VISIBLE_RUNS`` hook (:func:`visible_runs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet

from .._engine import HistoryEvent
from .._store import to_engine_event
from ..common import WorkflowSummary
from ..conf import dw_settings
from ..exceptions import InvalidArgumentError, WorkflowNotFoundError
from ..models import HistoryEvent as HistoryEventRow
from ..models import WorkflowExecution, WorkflowStatus
from .search import filter_runs, pairs_as_conditions, parse_query

#: What a listing tells of a run (a :class:`WorkflowSummary`); payloads stay in the database.
SUMMARY_FIELDS = tuple(field.name for field in fields(WorkflowSummary))

#: The columns a listing reads: the summary's and the primary key.
LIST_FIELDS = ("id", *SUMMARY_FIELDS)


def list_executions(
    *,
    status: str | None = None,
    workflow_type: str | None = None,
    task_queue: str | None = None,
    started_after: datetime | None = None,
    started_before: datetime | None = None,
    search_attributes: Mapping[str, str] | None = None,
    query: str | None = None,
) -> QuerySet[WorkflowExecution]:
    """Runs matching every given filter, newest first.

    ``search_attributes`` are compared as text: ``{"priority": "3"}`` matches a run whose
    attribute ``priority`` is the number 3 or the string ``"3"``; booleans are
    ``"true"``/``"false"``; a keyword list matches if it holds the text. ``query`` is a
    list filter (``CustomerId = "c-7" AND Amount > 10``; see :mod:`.search`).

    Raises:
        InvalidArgumentError: an unknown status, an unusable search attribute name, or a
            query that does not parse (the message says where).
    """
    rows = WorkflowExecution.objects.only(*LIST_FIELDS)
    if status:
        if status not in WorkflowStatus.values:
            raise InvalidArgumentError(
                f"Unknown status {status!r}; one of {', '.join(WorkflowStatus.values)}."
            )
        rows = rows.filter(status=status)
    if workflow_type:
        rows = rows.filter(workflow_type=workflow_type)
    if task_queue:
        rows = rows.filter(task_queue=task_queue)
    if started_after is not None:
        rows = rows.filter(start_time__gte=started_after)
    if started_before is not None:
        rows = rows.filter(start_time__lt=started_before)
    conditions = pairs_as_conditions(search_attributes or {})
    if query is not None and query.strip():
        conditions += parse_query(query)
    rows = filter_runs(rows, conditions)
    return rows.order_by("-start_time", "-id")


def history_page(
    execution: WorkflowExecution, *, after_event_id: int = 0, limit: int | None = None
) -> list[HistoryEvent]:
    """Events of the run with ids above ``after_event_id``, in order, at most ``limit``."""
    rows = HistoryEventRow.objects.filter(
        execution=execution, event_id__gt=after_event_id
    ).order_by("event_id")
    if limit is not None:
        rows = rows[:limit]
    return [to_engine_event(row) for row in rows]


def visible_runs(rows: QuerySet[WorkflowExecution], user: Any) -> QuerySet[WorkflowExecution]:
    """``rows`` narrowed to the runs ``user`` may see, by the ``VISIBLE_RUNS`` hook.

    Without the hook every run is visible to whoever holds the view permission.

    Raises:
        ImproperlyConfigured: the hook returned something other than a queryset of runs.
    """
    hook = dw_settings.VISIBLE_RUNS
    if hook is None:
        return rows
    narrowed = hook(rows, user)
    if not (isinstance(narrowed, QuerySet) and narrowed.model is WorkflowExecution):
        raise ImproperlyConfigured(
            "DURABLE_WORKFLOWS['VISIBLE_RUNS'] must return a queryset of WorkflowExecution "
            f"(the one it was given, filtered); it returned {narrowed!r}."
        )
    return narrowed


def require_visible(
    execution: WorkflowExecution, user: Any, run_id: str | None = None
) -> WorkflowExecution:
    """Return ``execution`` (found by ``get_execution(workflow_id, run_id)``) if ``user``
    may see it.

    Raises:
        WorkflowNotFoundError: the ``VISIBLE_RUNS`` hook hides it. The error reads as the
            one for a run that does not exist, so it tells nothing of the run.
    """
    if dw_settings.VISIBLE_RUNS is None:
        return execution
    if not visible_runs(WorkflowExecution.objects.filter(pk=execution.pk), user).exists():
        suffix = f" with run id {run_id!r}" if run_id else ""
        raise WorkflowNotFoundError(f"No workflow {execution.workflow_id!r}{suffix}.")
    return execution
