"""Reading many runs and long histories: the listing filters and history pages shared by
the client, the API, the management command and the admin.

Temporal calls this "visibility". Listing never loads payload columns (input, result,
failure, memo), so a page of runs costs one query whatever the payloads weigh.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime

from django.db.models import QuerySet
from django.db.models.fields.json import KeyTextTransform

from .._engine import HistoryEvent
from .._store import to_engine_event
from ..common import WorkflowSummary
from ..exceptions import InvalidArgumentError
from ..models import HistoryEvent as HistoryEventRow
from ..models import WorkflowExecution, WorkflowStatus

#: What a listing tells of a run (a :class:`WorkflowSummary`); payloads stay in the database.
SUMMARY_FIELDS = tuple(field.name for field in fields(WorkflowSummary))

#: The columns a listing reads: the summary's and the primary key.
LIST_FIELDS = ("id", *SUMMARY_FIELDS)

#: Search attribute names a filter may use: letters, digits, ``_`` and ``-``.
SEARCH_ATTRIBUTE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,99}$")


def list_executions(
    *,
    status: str | None = None,
    workflow_type: str | None = None,
    task_queue: str | None = None,
    started_after: datetime | None = None,
    started_before: datetime | None = None,
    search_attributes: Mapping[str, str] | None = None,
) -> QuerySet[WorkflowExecution]:
    """Runs matching every given filter, newest first.

    Search attributes are compared as text: ``{"priority": "3"}`` matches a run whose
    attribute ``priority`` is the number 3 or the string ``"3"``; booleans are
    ``"true"``/``"false"``.

    Raises:
        InvalidArgumentError: an unknown status or an unusable search attribute name.
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
    for index, (key, value) in enumerate(sorted((search_attributes or {}).items())):
        if not SEARCH_ATTRIBUTE_KEY.match(key):
            raise InvalidArgumentError(
                f"Search attribute name {key!r} is not usable in a filter: use letters, "
                "digits, '_' and '-', starting with a letter or '_'."
            )
        alias = f"_search_{index}"
        rows = rows.annotate(**{alias: KeyTextTransform(key, "search_attributes")}).filter(
            **{alias: value}
        )
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
