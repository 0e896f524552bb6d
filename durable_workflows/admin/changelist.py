"""A changelist that stays fast on hundreds of thousands of executions.

* The rows are read with the listing's columns (``_services.LIST_FIELDS``, shared with
  the client and the API), never the payloads.
* The unfiltered count is PostgreSQL's planner estimate once the table is large,
  instead of a ``COUNT(*)`` over every row.
* The type and task-queue filters list their values with an index skip scan, one
  index probe per distinct value, instead of a ``DISTINCT`` over every row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.admin import AllValuesFieldListFilter
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

from .._services import LIST_FIELDS
from ..conf import dw_settings

if TYPE_CHECKING:
    _Paginator = Paginator[Any]
else:  # Django's Paginator is generic only in the stubs, not at runtime.
    _Paginator = Paginator


class ExecutionChangeList(ChangeList):
    def get_queryset(self, request: Any, exclude_parameters: Any = None) -> QuerySet[Any]:
        return super().get_queryset(request, exclude_parameters).only(*LIST_FIELDS)


class EstimatedCountPaginator(_Paginator):
    """Counts exactly, except an unfiltered PostgreSQL table past ``ESTIMATE_ABOVE`` rows.

    Then the count is ``pg_class.reltuples``, kept current by autovacuum's analyze:
    close enough for "about 100,000 executions" and for the page links.
    """

    ESTIMATE_ABOVE = 10_000
    is_estimate = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if isinstance(queryset, QuerySet) and not queryset.query.where:
            estimate = _estimated_rows(queryset)
            if estimate is not None and estimate >= self.ESTIMATE_ABOVE:
                self.is_estimate = True
                return estimate
        return super().count


def _estimated_rows(queryset: QuerySet[Any]) -> int | None:
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
            [connection.ops.quote_name(queryset.model._meta.db_table)],
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None and row[0] >= 0 else None


class IndexedValuesFilter(AllValuesFieldListFilter):
    """Lists a column's distinct values; on PostgreSQL with a skip scan over its index.

    The column must have a b-tree index (``db_index=True``). At most ``MAX_VALUES``
    values are listed. With a ``VISIBLE_RUNS`` hook, only the values of the runs this
    user may see: a ``DISTINCT`` over those, since the skip scan reads the whole table.
    """

    MAX_VALUES = 200

    def choices(self, changelist: Any) -> Any:
        # Read the values only when the filter is drawn, not whenever the list is filtered.
        queryset = self.lookup_choices
        connection = connections[queryset.db]
        column = self.field.column  # None only for fields without a column, never here
        values: list[Any]
        everything_visible = dw_settings.VISIBLE_RUNS is None
        if connection.vendor == "postgresql" and column is not None and everything_visible:
            values = _skip_scan(connection, queryset.model._meta.db_table, column)
        else:
            values = list(queryset[: self.MAX_VALUES])
        # The stubs type this as the queryset Django builds; Django only iterates it.
        self.lookup_choices = values  # type: ignore[assignment]
        yield from super().choices(changelist)


def _skip_scan(connection: Any, table: str, column: str) -> list[str]:
    quote = connection.ops.quote_name
    table, column = quote(table), quote(column)
    sql = f"""
        WITH RECURSIVE v(value) AS (
            (SELECT {column} FROM {table} ORDER BY {column} LIMIT 1)
            UNION ALL
            SELECT (SELECT {column} FROM {table} WHERE {column} > v.value
                    ORDER BY {column} LIMIT 1)
            FROM v WHERE v.value IS NOT NULL
        )
        SELECT value FROM v WHERE value IS NOT NULL LIMIT %s
    """  # identifiers are quoted model metadata, never input
    with connection.cursor() as cursor:
        cursor.execute(sql, [IndexedValuesFilter.MAX_VALUES])
        return [row[0] for row in cursor.fetchall()]
