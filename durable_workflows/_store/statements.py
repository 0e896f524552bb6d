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
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Field, Model

from .. import _notify
from ..models import (
    ActivityStatus,
    ActivityTask,
    HistoryEvent,
    Timer,
    TimerStatus,
    WorkflowExecution,
    WorkflowStatus,
)
from . import slots

_EVENT_FIELDS: list[Field[Any, Any]] = [
    HistoryEvent._meta.get_field(name)  # type: ignore[misc]
    for name in ("execution", "event_id", "event_type", "timestamp", "attributes")
]


def lean() -> bool:
    """Whether the hand-written statements are used (PostgreSQL); else the ORM's path,
    which is also the reference a test compares them with."""
    return connection.vendor == "postgresql"


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
    execution: WorkflowExecution,
    update_fields: Sequence[str],
    events: Sequence[HistoryEvent],
    *,
    notify: str | None = None,
) -> None:
    """Save ``update_fields`` of the (locked) execution and insert ``events``; with
    ``notify``, wake waiters on that key once the transaction commits."""
    if not lean() or not events:
        execution.save(update_fields=update_fields)
        if events:
            HistoryEvent.objects.bulk_create(events)
        if notify:
            _notify.notify(notify)
        return
    meta = WorkflowExecution._meta
    fields: list[Field[Any, Any]] = [meta.get_field(name) for name in update_fields]  # type: ignore[misc]
    assignments = ", ".join(f"{_column(field)} = %s" for field in fields)
    appended, event_params = _appended(events)
    # The execution's id comes first among the parameters, as in the ORM's INSERT.
    # The notification rides in the same statement (``run`` is evaluated once).
    notified = ", pg_notify(%s, %s) AS notified" if notify else ""
    sql = (
        f"WITH run AS (SELECT %s::bigint AS id{notified}), "
        f"saved AS (UPDATE {_quote(meta.db_table)} SET {assignments} "
        f"WHERE {_column(meta.pk)} = (SELECT id FROM run)) " + _insert_events("run", appended)
    )
    params = [
        execution.pk,
        *((_notify.CHANNEL, notify) if notify else ()),
        *(_prepared(execution, field) for field in fields),
        *event_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def insert_with_events(execution: WorkflowExecution, events: Sequence[HistoryEvent]) -> bool:
    """Insert a new execution row and its first events; False if the id is already running.

    The partial unique index (one RUNNING run per workflow id) is the arbiter. Nothing
    is written when it refuses, and the caller's transaction stays usable.
    """
    if not lean():
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


def release_pending_work(execution: WorkflowExecution, now: datetime) -> None:
    """At a run's close: cancel its pending timers, abandon its open activities (as in
    Temporal: a late result from a running attempt is dropped), hand their concurrency
    slots on, and wake whoever waits for its result once the transaction commits."""
    timers = Timer.objects.filter(execution=execution, status=TimerStatus.PENDING)
    activities = ActivityTask.objects.filter(
        execution=execution, status__in=[ActivityStatus.SCHEDULED, ActivityStatus.STARTED]
    )
    key = f"closed:{execution.run_id}"
    if not lean():
        held = list(activities.filter(holds_slot=True).values_list("limit_key", flat=True))
        timers.update(status=TimerStatus.CANCELED)
        activities.update(status=ActivityStatus.CANCELED, timeout_at=None, holds_slot=False)
        _notify.notify(key)
    else:
        timer_table, activity_table = (
            _quote(model._meta.db_table) for model in (Timer, ActivityTask)
        )
        sql = (
            f"WITH timers AS (UPDATE {timer_table} SET status = %s"
            " WHERE execution_id = %s AND status = %s), "
            f"activities AS (UPDATE {activity_table} a SET status = %s, timeout_at = NULL,"
            " holds_slot = FALSE FROM (SELECT id, holds_slot AS held FROM "
            f"{activity_table} WHERE execution_id = %s AND status IN (%s, %s) FOR UPDATE) o"
            " WHERE a.id = o.id RETURNING a.limit_key, o.held) "
            "SELECT pg_notify(%s, %s), ARRAY(SELECT limit_key FROM activities WHERE held)"
        )
        params: list[Any] = [
            TimerStatus.CANCELED.value,
            execution.pk,
            TimerStatus.PENDING.value,
            ActivityStatus.CANCELED.value,
            execution.pk,
            ActivityStatus.SCHEDULED.value,
            ActivityStatus.STARTED.value,
            _notify.CHANNEL,
            key,
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        held = list(row[1]) if row else []
    if held:
        slots.hand_over(held, now)


#: One event as the database holds it: (event_id, event_type, timestamp, attributes).
EventRow = tuple[int, str, datetime, Any]


def lock_for_task(
    run_id: str, *, after_event_id: int
) -> tuple[WorkflowExecution, list[EventRow]] | None:
    """Lock a run for its workflow task and read its events after ``after_event_id``.

    The events are read only if a task is pending on the running run. On PostgreSQL the
    lock and the read are one statement. Its events come from the statement's snapshot,
    which (in READ COMMITTED) may predate a writer this statement waited for; then they
    fall short of the locked row's history_length and are read again, after the lock.
    """
    if not lean():
        execution = WorkflowExecution.objects.select_for_update().filter(run_id=run_id).first()
        if execution is None:
            return None
        return execution, _events_of(execution, after_event_id)
    meta = WorkflowExecution._meta
    fields = list(meta.concrete_fields)
    events = _quote(HistoryEvent._meta.db_table)
    wanted = (
        f"FROM {events} h WHERE h.execution_id = e.id AND h.event_id > %s"
        " AND e.task_pending AND e.status = %s ORDER BY h.event_id"
    )
    arrays_of = _EVENT_FIELDS[1:]
    arrays = ", ".join(f"ARRAY(SELECT h.{_column(field)} {wanted})" for field in arrays_of)
    sql = (
        f"SELECT {', '.join('e.' + _column(field) for field in fields)}, {arrays} "
        f"FROM {_quote(meta.db_table)} e WHERE e.run_id = %s FOR UPDATE OF e"
    )
    with connection.cursor() as cursor:
        params: list[Any] = [after_event_id, WorkflowStatus.RUNNING.value] * len(arrays_of)
        cursor.execute(sql, [*params, run_id])
        row = cursor.fetchone()
    if row is None:
        return None
    values = [_from_db(field, value) for field, value in zip(fields, row, strict=False)]
    execution = WorkflowExecution.from_db(connection.alias, [f.attname for f in fields], values)
    attributes = _EVENT_FIELDS[-1]
    ids, types, times, raw = row[len(fields) :]
    loaded = [
        (event_id, event_type, timestamp, _from_db(attributes, value))
        for event_id, event_type, timestamp, value in zip(ids, types, times, raw, strict=True)
    ]
    expected = execution.history_length - after_event_id
    if execution.task_pending and execution.is_running and len(loaded) != expected:
        loaded = _events_of(execution, after_event_id)
    return execution, loaded


def _from_db(field: Field[Any, Any], value: Any) -> Any:
    converter = getattr(field, "from_db_value", None)
    return value if converter is None else converter(value, None, connection)


def _events_of(execution: WorkflowExecution, after_event_id: int) -> list[EventRow]:
    return list(
        HistoryEvent.objects.filter(execution=execution, event_id__gt=after_event_id)
        .order_by("event_id")
        .values_list("event_id", "event_type", "timestamp", "attributes")
    )
