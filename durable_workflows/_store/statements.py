"""The writes every workflow step makes, as one statement each on PostgreSQL.

Saving a run's row and appending its events is two ORM statements, each compiled anew
(the compilation, not the database, was most of a step's cost: PERF-NOTES.md). On
PostgreSQL both go in one statement: the row's UPDATE (or INSERT) is a data-modifying
``WITH`` that the events' INSERT follows, so a step's transaction makes one round trip
for its writes. Values are prepared by the models' own fields (so payloads still pass
through PAYLOAD_CODEC); other databases take the ORM's path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Field, Model

from ..models import HistoryEvent, WorkflowExecution

_EVENT_FIELDS: list[Field[Any, Any]] = [
    HistoryEvent._meta.get_field(name)  # type: ignore[misc]
    for name in ("execution", "event_id", "event_type", "timestamp", "attributes")
]


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _column(field: Any) -> str:
    """The quoted column of a concrete model field."""
    assert isinstance(field, Field) and field.column is not None
    return _quote(field.column)


def _prepared(obj: Model, field: Field[Any, Any]) -> Any:
    return field.get_db_prep_save(getattr(obj, field.attname), connection)


def _appended(events: Sequence[HistoryEvent]) -> tuple[str, list[Any]]:
    """The events as a ``VALUES`` list (all columns but the execution's) and its params."""
    rows = ", ".join(["(%s, %s, %s, %s)"] * len(events))
    params = [_prepared(event, field) for event in events for field in _EVENT_FIELDS[1:]]
    names = ", ".join(_column(field) for field in _EVENT_FIELDS[1:])
    return f"(VALUES {rows}) AS appended ({names})", params


def _insert_events(source: str, appended: str) -> str:
    """``INSERT`` of the ``appended`` events for the execution whose ``id`` ``source`` holds."""
    columns = ", ".join(_column(field) for field in _EVENT_FIELDS)
    return (
        f"INSERT INTO {_quote(HistoryEvent._meta.db_table)} ({columns}) "
        f"SELECT {source}.id, appended.* FROM {source}, {appended}"
    )


def update_and_append(
    execution: WorkflowExecution, update_fields: Sequence[str], events: Sequence[HistoryEvent]
) -> None:
    """Save ``update_fields`` of the (locked) execution and insert ``events``."""
    if connection.vendor != "postgresql" or not events:
        execution.save(update_fields=update_fields)
        if events:
            HistoryEvent.objects.bulk_create(events)
        return
    meta = WorkflowExecution._meta
    fields: list[Field[Any, Any]] = [meta.get_field(name) for name in update_fields]  # type: ignore[misc]
    assignments = ", ".join(f"{_column(field)} = %s" for field in fields)
    appended, event_params = _appended(events)
    # The execution's id comes first among the parameters, as in the ORM's INSERT.
    sql = (
        "WITH run AS (SELECT %s::bigint AS id), "
        f"saved AS (UPDATE {_quote(meta.db_table)} SET {assignments} "
        f"WHERE {_column(meta.pk)} = (SELECT id FROM run)) " + _insert_events("run", appended)
    )
    params = [execution.pk, *(_prepared(execution, field) for field in fields), *event_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def insert_with_events(execution: WorkflowExecution, events: Sequence[HistoryEvent]) -> bool:
    """Insert a new execution row and its first events; False if the id is already running.

    The partial unique index (one RUNNING run per workflow id) is the arbiter. Nothing
    is written when it refuses, and the caller's transaction stays usable.
    """
    if connection.vendor != "postgresql":
        try:
            with transaction.atomic():
                execution.save(force_insert=True)
        except IntegrityError:
            return False
        for event in events:
            event.execution = execution
        HistoryEvent.objects.bulk_create(events)
        return True
    meta = WorkflowExecution._meta
    fields = [field for field in meta.concrete_fields if field is not meta.pk]
    columns = ", ".join(_column(field) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    params = [_prepared(execution, field) for field in fields]
    appended, event_params = _appended(events)
    pk = _column(meta.pk)
    sql = (
        f"WITH started AS (INSERT INTO {_quote(meta.db_table)} ({columns}) "
        f"VALUES ({placeholders}) ON CONFLICT DO NOTHING RETURNING {pk} AS id), "
        f"events AS ({_insert_events('started', appended)}) "
        "SELECT id FROM started"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params + event_params)
        row = cursor.fetchone()
    if row is None:
        return False
    execution.pk = row[0]
    execution._state.adding = False
    execution._state.db = connection.alias
    for event in events:
        event.execution = execution
    return True
