"""S: searching runs by search attribute, with and without the GIN index (jsonb_path_ops).

``--runs`` runs (100,000 by default) are bulk-inserted with varied attributes, as a
busy project's table would hold them; no workflow runs. Each search is the query the
API's list (``GET workflows/?query=...``) sends for its first page (the newest 50
matching runs), compiled by the same service; it is timed with ``EXPLAIN (ANALYZE)``,
the median of ``--search-repeats`` executions after one warm-up, first with the index,
then after ``DROP INDEX`` (and ``ANALYZE``), and the index is put back.

Attributes of run ``i``: ``CustomerId`` "c-<i mod 10,000>" (10 runs each), ``Region``
one of five, ``Amount`` (i mod 1,000) + 0.5, ``Vip`` every 7th, ``Tags`` a keyword list,
``OrderId`` unique.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

#: (label, list-filter query) timed in each state of the index.
SEARCHES = [
    ("unique OrderId (1 run)", 'OrderId = "o-{probe}"'),
    ("CustomerId (10 runs)", 'CustomerId = "c-{customer}"'),
    ("Tags holds 'gold' (1%)", 'Tags = "gold"'),
    ("Region (20%)", 'Region = "eu"'),
    ("CustomerId + Amount < 500", 'CustomerId = "c-{customer}" AND Amount < 500'),
    ("Amount > 998 (range, 0.1%)", "Amount > 998"),
]
REGIONS = ["eu", "us", "apac", "latam", "mea"]
INDEX = "dw_exec_search_attrs"
PAGE = 50
BATCH = 5000


def attributes(i: int) -> dict[str, Any]:
    tags = ["gold"] if i % 100 == 0 else ["std"]
    return {
        "OrderId": f"o-{i}",
        "CustomerId": f"c-{i % 10_000}",
        "Region": REGIONS[i % len(REGIONS)],
        "Amount": (i % 1000) + 0.5,
        "Vip": i % 7 == 0,
        "Tags": [*tags, f"t{i % 13}"],
    }


def insert_runs(count: int) -> float:
    """Bulk-insert ``count`` closed runs; returns the seconds it took."""
    from durable_workflows.models import WorkflowExecution, WorkflowStatus

    began = time.perf_counter()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for first in range(0, count, BATCH):
        WorkflowExecution.objects.bulk_create(
            [
                WorkflowExecution(
                    workflow_id=f"bench-search-{i}",
                    workflow_type="BenchSearchWorkflow",
                    task_queue="bench",
                    status=WorkflowStatus.COMPLETED,
                    start_time=start + timedelta(seconds=i),
                    close_time=start + timedelta(seconds=i + 1),
                    history_length=5,
                    search_attributes=attributes(i),
                )
                for i in range(first, min(first + BATCH, count))
            ]
        )
    return time.perf_counter() - began


def _explain(sql: str, params: Any) -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()[0]
    return plan  # type: ignore[no-any-return]


def _nodes(node: dict[str, Any]) -> list[str]:
    """The plan's scan nodes, e.g. "Bitmap Index Scan on dw_exec_search_attrs"."""
    found = []
    if "Scan" in node["Node Type"]:
        where = node.get("Index Name") or node.get("Relation Name", "")
        found.append(f"{node['Node Type']} {where}".strip())
    for child in node.get("Plans", []):
        found += _nodes(child)
    return found


def time_search(query: str, repeats: int) -> dict[str, Any]:
    from durable_workflows import _services

    rows = _services.list_executions(query=query)[:PAGE]
    sql, params = rows.query.sql_with_params()
    _explain(sql, params)  # warm-up: the pages are in the cache for both states alike
    plans = [_explain(sql, params) for _ in range(repeats)]
    times = [p["Execution Time"] for p in plans]
    return {
        "median_ms": round(statistics.median(times), 3),
        "min_ms": round(min(times), 3),
        "planning_ms": round(statistics.median(p["Planning Time"] for p in plans), 3),
        "rows": plans[0]["Plan"].get("Actual Rows"),
        "scans": _nodes(plans[0]["Plan"]),
    }


def _index_sql() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [INDEX])
        row = cursor.fetchone()
    if row is None:
        raise SystemExit(f"Index {INDEX} is missing: did migration 0005 run?")
    return str(row[0])


def _execute(sql: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql)


def search_costs(count: int, repeats: int) -> dict[str, Any]:
    """Insert ``count`` runs, then time each search with and without the index."""
    from django.db import connection

    seconds = insert_runs(count)
    _execute("ANALYZE durable_workflows_workflowexecution")
    probe, customer = count // 2 + 1, (count // 2 + 1) % 10_000
    queries = [(label, q.format(probe=probe, customer=customer)) for label, q in SEARCHES]
    create_index = _index_sql()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_relation_size(%s)", [INDEX])
        index_bytes = cursor.fetchone()[0]
        cursor.execute("SELECT pg_relation_size('durable_workflows_workflowexecution')")
        table_bytes = cursor.fetchone()[0]
    with_index = {label: time_search(q, repeats) for label, q in queries}
    _execute(f'DROP INDEX "{INDEX}"')
    _execute("ANALYZE durable_workflows_workflowexecution")
    try:
        without_index = {label: time_search(q, repeats) for label, q in queries}
    finally:
        began = time.perf_counter()
        _execute(create_index)
        build_seconds = time.perf_counter() - began
        _execute("ANALYZE durable_workflows_workflowexecution")
    return {
        "runs": count,
        "insert_seconds": round(seconds, 1),
        "repeats": repeats,
        "page": PAGE,
        "index_mib": round(index_bytes / 2**20, 1),
        "table_mib": round(table_bytes / 2**20, 1),
        "index_build_seconds": round(build_seconds, 2),
        "searches": [
            {
                "label": label,
                "query": q,
                "with_index": with_index[label],
                "without_index": without_index[label],
            }
            for label, q in queries
        ],
    }


def print_costs(result: dict[str, Any]) -> None:
    print(
        f"\nS  search by attribute over {result['runs']:,} runs (inserted in "
        f"{result['insert_seconds']} s); EXPLAIN ANALYZE of the API's first page "
        f"(newest {result['page']}), median of {result['repeats']}"
    )
    print(
        f"  GIN index (jsonb_path_ops) {result['index_mib']} MiB beside a "
        f"{result['table_mib']} MiB table; rebuilt in {result['index_build_seconds']} s"
    )
    print(f"  {'':<30}{'with index':>13}{'without':>13}{'speed-up':>10}  rows  plan with / without")
    for s in result["searches"]:
        w, wo = s["with_index"], s["without_index"]
        ratio = wo["median_ms"] / w["median_ms"] if w["median_ms"] else float("inf")
        print(
            f"  {s['label']:<30}{w['median_ms']:>10.2f} ms{wo['median_ms']:>10.2f} ms"
            f"{ratio:>9.1f}x  {w['rows']!s:>4}  {', '.join(w['scans'])} / "
            f"{', '.join(wo['scans'])}"
        )
