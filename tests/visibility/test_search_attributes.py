"""Search attributes and memo on the database: upserts land on the run's row in the task's
transaction, and every listing (client, API, CLI, admin) finds runs by them."""

from __future__ import annotations

import io
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client as HttpClient

from durable_workflows import Client
from durable_workflows._engine import EventType
from durable_workflows._services.search import parse_query
from durable_workflows.exceptions import InvalidArgumentError
from durable_workflows.models import WorkflowExecution
from durable_workflows.testing import WorkflowEnvironment
from tests.helpers import events_of
from tests.testapp.workflows import CounterWorkflow, OrderTaggingWorkflow

pytestmark = pytest.mark.usefixtures("live_db")

client = Client()


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def row(workflow_id: str) -> WorkflowExecution:
    return WorkflowExecution.objects.get(workflow_id=workflow_id)


def test_upserts_are_merged_into_the_row_with_the_events_that_record_them() -> None:
    workflow_id = new_id("tagging")
    customer = new_id("c")
    with WorkflowEnvironment.start_time_skipping() as env:
        handle = client.start_workflow(
            OrderTaggingWorkflow.run,
            customer,
            12.5,
            id=workflow_id,
            search_attributes={"Region": "eu"},
            memo={"owner": "ada"},
        )
        env.sleep(timedelta(hours=1))  # the first task ran; the run waits for ship
        waiting = row(workflow_id)
        assert waiting.search_attributes == {
            "Region": "eu",
            "CustomerId": customer,
            "Amount": 12.5,
            "Stage": "paid",
            "Tags": ["new"],
        }
        assert waiting.memo == {"owner": "ada", "note": "paid 12.5"}
        handle.signal(OrderTaggingWorkflow.ship)
        outcome = handle.result()
    final = {"Region": "eu", "CustomerId": customer, "Amount": 12.5, "Stage": "shipped"}
    assert outcome == {"attributes": final, "memo": {"owner": "ada", "note": "paid 12.5"}}
    closed = row(workflow_id)
    assert closed.search_attributes == final  # Tags=[] removed it
    assert closed.memo == {"owner": "ada", "note": "paid 12.5"}
    events = events_of(handle)
    upserts = [e for e in events if e.event_type is EventType.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES]
    assert [e.attributes["search_attributes"]["Stage"] for e in upserts] == ["paid", "shipped"]
    (modified,) = [e for e in events if e.event_type is EventType.WORKFLOW_PROPERTIES_MODIFIED]
    assert modified.attributes == {"memo": {"note": "paid 12.5"}}
    # describe() reads the row: what listings filter on.
    assert handle.describe().search_attributes == final


# --- the list filter --------------------------------------------------------------------------

#: Runs started (never run: no worker serves their queue) with these attributes; each
#: also carries ``Batch: <tag>`` so tests see only their own runs.
RUNS: dict[str, dict[str, Any]] = {
    "a": {"CustomerId": "c-1", "Amount": 5, "Vip": True, "Tags": ["eu", "new"]},
    "b": {"CustomerId": "c-2", "Amount": 12.5, "Vip": False, "Tags": ["us"]},
    "c": {"CustomerId": "c-3", "Amount": 100, "DueAt": "2026-03-01T07:30:00+00:00"},
    "d": {"CustomerId": "c-\"4'", "Note": "x"},
}


@pytest.fixture(scope="module")
def batch(live_db) -> str:
    tag = uuid.uuid4().hex[:10]
    for name, attributes in RUNS.items():
        client.start_workflow(
            CounterWorkflow.run,
            1,
            id=f"sa-{name}-{tag}",
            task_queue=f"idle-{tag}",
            search_attributes={**attributes, "Batch": tag},
        )
    return tag


def found(batch: str, query: str) -> set[str]:
    rows = client.list_workflows(query=f'Batch = "{batch}" AND {query}')
    return {row.workflow_id.split("-")[1] for row in rows}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('CustomerId = "c-2"', {"b"}),
        ("CustomerId = 'c-2'", {"b"}),
        ('Tags = "eu"', {"a"}),  # a keyword list holding the value
        ("Amount = 12.5", {"b"}),
        ("Amount > 5", {"b", "c"}),
        ("Amount >= 5 AND Amount < 100", {"a", "b"}),
        ("Amount <= 5", {"a"}),
        ('Amount > "5"', set()),  # a string never compares with a number
        ("Vip = true", {"a"}),
        ("Vip != true", {"b"}),  # only runs that have the attribute
        ('DueAt > "2026-03-01T00:00:00+00:00"', {"c"}),
        ('DueAt < "2026-03-01T00:00:00+00:00"', set()),
        ('CustomerId = "c-\\"4\'"', {"d"}),  # quotes inside a value are only a value
        ('CustomerId = "\'; DROP TABLE durable_workflows_workflowexecution; --"', set()),
        ('ExecutionStatus = "Running" AND CustomerId != "c-1"', {"b", "c", "d"}),
        ('WorkflowType = "CounterWorkflow" and Note = "x"', {"d"}),
        ('WorkflowType = "Other"', set()),
    ],
)
def test_a_query_finds_runs_by_typed_comparisons(batch, query, expected) -> None:
    assert found(batch, query) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("   ", "Query is empty."),
        ("CustomerId", "expected an operator (= != > >= < <=) after 'CustomerId' at the end"),
        ('CustomerId ~ "x"', "unexpected '~ \"x\"' at position 11"),
        ("CustomerId = ", "expected a value for 'CustomerId' at the end"),
        ("CustomerId = c-1", "expected a value for 'CustomerId' at position 13"),
        ("A = 1 OR B = 2", "expected AND, found 'OR' (OR and parentheses are not supported)"),
        ("(A = 1)", "unexpected '(A = 1)' at position 0"),
        ("Vip > true", "Vip > needs a number or a string, not a boolean"),
        ("ExecutionStatus > 'Running'", "ExecutionStatus takes = or != and a quoted string"),
        ("ExecutionStatus = 'Sleeping'", "unknown ExecutionStatus 'Sleeping'"),
        ('A = "unterminated', "unexpected '\"untermina' at position 4"),
        (" AND ".join(["A = 1"] * 21), "at most 20 conditions"),
    ],
)
def test_a_query_that_does_not_parse_is_refused_saying_where(query, message) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        parse_query(query)
    assert message in str(caught.value)
    if not query.strip():
        return  # a listing takes an empty query as no query
    with pytest.raises(InvalidArgumentError) as caught:
        client.list_workflows(query=query)
    assert message in str(caught.value)


def test_the_api_takes_a_query_and_names_the_problem_of_a_bad_one(batch, admin_http) -> None:
    response = admin_http.get("/api/workflows/", {"query": f'Batch = "{batch}" AND Amount > 10'})
    assert response.status_code == 200, response.content
    assert {row["workflow_id"] for row in response.json()["results"]} == {
        f"sa-b-{batch}",
        f"sa-c-{batch}",
    }
    bad = admin_http.get("/api/workflows/", {"query": "Amount >"})
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["field"] == "query"
    assert error["message"] == "query: expected a value for 'Amount' at the end."


def test_the_cli_takes_a_query(batch) -> None:
    out = io.StringIO()
    call_command(
        "workflow", "list", "--query", f'Batch = "{batch}" AND Tags = "us"', "--json", stdout=out
    )
    assert [row["workflow_id"] for row in json.loads(out.getvalue())] == [f"sa-b-{batch}"]
    with pytest.raises(CommandError) as caught:
        call_command("workflow", "list", "--query", "Tags = us")
    assert caught.value.returncode == 2
    assert "--query: Query: expected a value for 'Tags' at position 7" in str(caught.value)


def test_the_admin_search_box_takes_a_query(batch, admin_http) -> None:
    page = admin_http.get(
        "/admin/durable_workflows/workflowexecution/",
        {"q": f'Batch = "{batch}" AND CustomerId = "c-3"'},
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert f"sa-c-{batch}" in text
    assert f"sa-a-{batch}" not in text
    refused = admin_http.get("/admin/durable_workflows/workflowexecution/", {"q": "Amount >"})
    assert refused.status_code == 200
    assert "expected a value for &#x27;Amount&#x27; at the end" in refused.content.decode()


def test_an_attribute_set_mid_run_is_found_by_the_api(admin_http) -> None:
    workflow_id = new_id("tagged-api")
    customer = new_id("c")
    with WorkflowEnvironment.start_time_skipping() as env:
        handle = client.start_workflow(OrderTaggingWorkflow.run, customer, 40.0, id=workflow_id)
        query = {"query": f'CustomerId = "{customer}" AND Stage = "paid" AND Amount >= 40'}
        env.sleep(timedelta(hours=1))  # the first task has run; the run waits for ship
        (listed,) = admin_http.get("/api/workflows/", query).json()["results"]
        assert listed["workflow_id"] == workflow_id
        assert listed["search_attributes"]["Tags"] == ["new"]
        handle.signal(OrderTaggingWorkflow.ship)
        handle.result()
    assert admin_http.get("/api/workflows/", query).json()["results"] == []
    shipped = {"search": [f"CustomerId:{customer}", "Stage:shipped"]}
    assert [
        r["workflow_id"] for r in admin_http.get("/api/workflows/", shipped).json()["results"]
    ] == [workflow_id]


@pytest.fixture
def admin_http(live_db) -> HttpClient:
    http = HttpClient()
    http.force_login(User.objects.create_superuser(f"sa-{uuid.uuid4().hex[:10]}", password="pw"))
    return http
