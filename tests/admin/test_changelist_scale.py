"""The executions list stays a handful of queries, none reading payloads, at 20,000 rows.

The rows are inserted in bulk under a workflow type of their own, dated years
back so that they sort after everything else, and removed when the module ends.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from durable_workflows.models import WorkflowExecution

from .conftest import CHANGELIST, make_user

ROWS = int(os.environ.get("DW_ADMIN_SCALE_ROWS", "20000"))  # must be a multiple of 4
#: Session, user, the user's and its groups' permissions, a count (or the estimate),
#: the page of rows, the type and the queue filter values.
MAX_QUERIES = 8
STATUSES = ["COMPLETED", "FAILED", "TERMINATED", "RUNNING"]


@pytest.fixture(scope="module")
def scale_type(live_db) -> Iterator[str]:
    workflow_type = f"ScaleTest{uuid.uuid4().hex[:8]}"
    epoch = datetime(2020, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(ROWS):
        status = STATUSES[i % 4]
        start = epoch + timedelta(seconds=i)
        rows.append(
            WorkflowExecution(
                workflow_id=f"{workflow_type}-{i:05d}",
                workflow_type=workflow_type,
                task_queue=f"scale-{i % 3}",
                status=status,
                input=["a payload the list must not read", i],
                start_time=start,
                close_time=None if status == "RUNNING" else start + timedelta(seconds=i % 90),
                history_length=5 + i % 40,
            )
        )
    WorkflowExecution.objects.bulk_create(rows, batch_size=2_000)
    with connection.cursor() as cursor:  # what autovacuum would do soon after such an insert
        cursor.execute("ANALYZE durable_workflows_workflowexecution")
    yield workflow_type
    WorkflowExecution.objects.filter(workflow_type=workflow_type).delete()


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"p": "3"},
        {"status__exact": "RUNNING"},
        {"workflow_type": "<type>"},
        {"workflow_type": "<type>", "status__exact": "FAILED", "task_queue": "scale-1"},
        {"q": "<type>-012"},
        {
            "start_time__gte": "2020-01-01 00:00:00+00:00",
            "start_time__lt": "2020-01-02 00:00:00+00:00",
        },
    ],
    ids=["unfiltered", "page-3", "running", "by-type", "three-filters", "search", "by-date"],
)
def test_the_changelist_is_a_bounded_number_of_queries_that_never_read_payloads(
    scale_type, login, params
):
    http = login(make_user("view_workflowexecution"))
    params = {key: value.replace("<type>", scale_type) for key, value in params.items()}
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = http.get(CHANGELIST, params)
        elapsed = time.perf_counter() - started
    assert response.status_code == 200
    sql = [q["sql"] for q in queries]
    print(f"\n{params}: {len(sql)} queries, {elapsed * 1000:.0f} ms")  # for the report
    assert len(sql) <= MAX_QUERIES, "\n".join(sql)
    assert not any('"input"' in s or '"result"' in s or '"failure"' in s for s in sql)
    assert len(response.context["cl"].result_list) <= 50


def test_the_unfiltered_list_estimates_its_count_instead_of_counting_every_row(scale_type, login):
    http = login(make_user("view_workflowexecution"))
    with CaptureQueriesContext(connection) as queries:
        response = http.get(CHANGELIST)
    assert not any("COUNT(" in q["sql"].upper() for q in queries)
    assert response.context["cl"].paginator.is_estimate
    assert "about " in response.content.decode()
    # A filtered list still counts exactly.
    filtered = http.get(CHANGELIST, {"workflow_type": scale_type, "status__exact": "RUNNING"})
    assert filtered.context["cl"].result_count == ROWS // 4
    assert not filtered.context["cl"].paginator.is_estimate


def test_the_filters_list_every_type_and_queue_without_scanning_the_table(scale_type, login):
    http = login(make_user("view_workflowexecution"))
    with CaptureQueriesContext(connection) as queries:
        page = http.get(CHANGELIST).content.decode()
    assert f"workflow_type={scale_type}" in page
    assert all(f"task_queue=scale-{i}" in page for i in range(3))
    assert not any("DISTINCT" in q["sql"].upper() for q in queries)
