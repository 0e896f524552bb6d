"""The HTTP API end to end: real PostgreSQL, real worker processes, the Django test client."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from durable_workflows import Client
from durable_workflows.models import WorkflowExecution
from tests.helpers import wait_until

API = "/api/workflows/"

client = Client()


def url(workflow_id: str, *rest: str) -> str:
    return API + "/".join([quote(workflow_id, safe="/"), *rest]) + "/"


def post(api: APIClient, path: str, body: Any = None, **extra: Any) -> Any:
    return api.post(path, body if body is not None else {}, format="json", **extra)


def start(api: APIClient, workflow_type: str, workflow_id: str, *args: Any, **fields: Any) -> Any:
    body = {"workflow_type": workflow_type, "workflow_id": workflow_id, "args": list(args)}
    return post(api, API, {**body, **fields})


def status_of(api: APIClient, workflow_id: str) -> dict[str, Any]:
    response = api.get(url(workflow_id))
    assert response.status_code == 200, response.content
    return response.json()


def closed(api: APIClient, workflow_id: str) -> dict[str, Any]:
    return wait_until(
        lambda: (d := status_of(api, workflow_id))["status"] != "RUNNING" and d,
        what=f"{workflow_id} to close",
    )


@pytest.mark.usefixtures("workers")
class TestWithAWorker:
    def test_an_order_started_over_http_answers_queries_and_completes(self, admin_api, unique):
        wid = f"api-order-{unique}"
        response = start(admin_api, "OrderWorkflow", wid, f"o-{unique}", 9.5)
        assert response.status_code == 201, response.content
        started = response.json()
        assert started["workflow_id"] == wid
        assert started["workflow_type"] == "OrderWorkflow"
        assert started["status"] == "RUNNING"
        assert started["input"] == [f"o-{unique}", 9.5]
        assert response["Location"].endswith(url(wid))

        query = post(admin_api, url(wid, "queries", "get_status"))
        assert query.status_code == 200, query.content
        assert query.json()["result"] in {
            "pending",
            "charging",
            "updating inventory",
            "sending confirmation",
            "shipping",
            "shipped",
        }

        described = closed(admin_api, wid)
        assert described["status"] == "COMPLETED"
        assert described["result"] == f"Order o-{unique}: Charged $9.5"
        assert described["run_id"] == started["run_id"]
        assert post(admin_api, url(wid, "queries", "get_status")).json() == {"result": "shipped"}

    def test_a_signal_over_http_reaches_the_workflow(self, admin_api, unique):
        wid = f"api-approval-{unique}"
        assert start(admin_api, "ApprovalWorkflow", wid, "leave").status_code == 201
        response = post(admin_api, url(wid, "signals", "approve"), {"args": ["alice"]})
        assert response.status_code == 202, response.content
        assert response.json()["workflow_id"] == wid
        assert closed(admin_api, wid)["result"] == "leave: approved by alice"
        is_approved = post(admin_api, url(wid, "queries", "is_approved"))
        assert is_approved.json() == {"result": True}

    def test_the_readme_curl_session_start_query_signal_describe(self, admin_api, unique):
        wid = f"signup-{unique}"
        email = f"{unique}@example.com"
        assert start(admin_api, "SignupWorkflow", wid, email).status_code == 201
        status = post(admin_api, url(wid, "queries", "get_status"))
        assert status.json() == {"result": "waiting for email verification"}

        signalled = post(admin_api, url(wid, "signals", "email_verified"))
        assert signalled.status_code == 202, signalled.content

        described = closed(admin_api, wid)
        assert described["status"] == "COMPLETED"
        assert described["result"] == f"Welcome email sent to {email}"
        assert post(admin_api, url(wid, "queries", "get_status")).json() == {"result": "active"}

    def test_the_history_reads_in_order_and_in_pages(self, admin_api, unique):
        wid = f"api-history-{unique}"
        start(admin_api, "CounterWorkflow", wid, 2)
        for tag in ("a", "b"):
            post(admin_api, url(wid, "signals", "add"), {"args": [tag]})
        assert closed(admin_api, wid)["result"] == ["a", "b"]

        whole = admin_api.get(url(wid, "history")).json()
        events = whole["events"]
        assert whole["next_after_event_id"] is None
        assert [e["event_id"] for e in events] == list(range(1, len(events) + 1))
        assert events[0]["event_type"] == "WorkflowExecutionStarted"
        assert events[-1]["event_type"] == "WorkflowExecutionCompleted"
        signals = [e for e in events if e["event_type"] == "WorkflowExecutionSignaled"]
        assert [e["attributes"]["input"] for e in signals] == [["a"], ["b"]]

        pages, after = [], 0
        while after is not None:
            page = admin_api.get(url(wid, "history"), {"after_event_id": after, "limit": 2})
            body = page.json()
            pages.append(body["events"])
            after = body["next_after_event_id"]
        assert [e for page in pages for e in page] == events
        assert all(len(page) <= 2 for page in pages)

    def test_an_update_returns_the_handlers_result_and_a_rejection_writes_nothing(
        self, admin_api, unique
    ):
        wid = f"api-cart-{unique}"
        start(admin_api, "CartWorkflow", wid)
        response = post(admin_api, url(wid, "updates", "add_item"), {"args": [5]})
        assert response.status_code == 200, response.content
        assert response.json() == {"result": 5}

        length = status_of(admin_api, wid)["history_length"]
        rejected = post(admin_api, url(wid, "updates", "add_item"), {"args": [-1]})
        assert rejected.status_code == 422
        assert rejected.json()["error"]["code"] == "update_failed"
        assert "amount must be positive" in rejected.json()["error"]["message"]
        assert status_of(admin_api, wid)["history_length"] == length

        post(admin_api, url(wid, "signals", "checkout"))
        assert closed(admin_api, wid)["result"] == 5

    def test_cancel_and_terminate(self, admin_api, unique):
        cancelled, terminated = f"api-cancel-{unique}", f"api-terminate-{unique}"
        start(admin_api, "CounterWorkflow", cancelled, 5)
        start(admin_api, "CounterWorkflow", terminated, 5)

        response = post(admin_api, url(cancelled, "cancel"), {"reason": "no longer needed"})
        assert response.status_code == 202, response.content
        assert closed(admin_api, cancelled)["status"] == "CANCELED"

        response = post(admin_api, url(terminated, "terminate"), {"reason": "stuck"})
        assert response.status_code == 202, response.content
        described = status_of(admin_api, terminated)
        assert described["status"] == "TERMINATED"
        assert described["failure"]["message"] == "stuck"


# --- listing ----------------------------------------------------------------------------------


def test_the_list_filters_pages_newest_first_with_a_constant_number_of_queries(admin_api, unique):
    queue = f"api-list-{unique}"  # no worker consumes it: the runs stay as started
    ids = [f"api-list-{unique}-{i}" for i in range(5)]
    for i, wid in enumerate(ids):
        start(
            admin_api,
            "CounterWorkflow",
            wid,
            1,
            task_queue=queue,
            search_attributes={"tenant": f"t-{unique}", "rank": i, "vip": i % 2 == 0},
        )
    post(admin_api, url(ids[0], "terminate"))

    def listed(**params: Any) -> list[str]:
        response = admin_api.get(API, {"task_queue": queue, **params})
        assert response.status_code == 200, response.content
        return [row["workflow_id"] for row in response.json()["results"]]

    assert listed() == ids[::-1]
    assert listed(status="RUNNING") == ids[:0:-1]
    assert listed(status="TERMINATED") == ids[:1]
    assert listed(workflow_type="CounterWorkflow") == ids[::-1]
    assert listed(workflow_type="ApprovalWorkflow") == []
    assert listed(search=["rank:3"]) == [ids[3]]
    assert listed(search=["vip:true", f"tenant:t-{unique}"]) == [ids[4], ids[2], ids[0]]
    assert listed(search=["rank:nope"]) == []

    rows = WorkflowExecution.objects.filter(task_queue=queue).order_by("start_time")
    middle = rows[2].start_time.isoformat()
    assert listed(started_after=middle) == ids[:1:-1]
    assert listed(started_before=middle) == ids[1::-1]

    first = admin_api.get(API, {"task_queue": queue, "page_size": 2}).json()
    assert [r["workflow_id"] for r in first["results"]] == ids[:2:-1]
    second = admin_api.get(first["next"]).json()
    assert [r["workflow_id"] for r in second["results"]] == ids[2:0:-1]
    row = first["results"][0]
    assert set(row) >= {"workflow_id", "run_id", "status", "start_time", "search_attributes"}
    assert "input" not in row

    def queries(page_size: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert (
                admin_api.get(API, {"task_queue": queue, "page_size": page_size}).status_code == 200
            )
        return len(ctx.captured_queries)

    assert queries(1) == queries(5)


# --- authentication and permissions -------------------------------------------------------------

ENDPOINTS = [
    ("get", API, "view"),
    ("post", API, "add"),
    ("get", url("any"), "view"),
    ("get", url("any", "history"), "view"),
    ("post", url("any", "signals", "add"), "signal"),
    ("post", url("any", "queries", "current"), "query"),
    ("post", url("any", "updates", "add_item"), "update"),
    ("post", url("any", "cancel"), "cancel"),
    ("post", url("any", "terminate"), "terminate"),
    ("get", "/api/schema/", "view"),
]


@pytest.mark.parametrize(("method", "path", "action"), ENDPOINTS)
def test_anonymous_requests_are_refused_on_every_endpoint(live_db, method, path, action):
    response = getattr(APIClient(), method)(path, {}, format="json" if method == "post" else None)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(("method", "path", "action"), ENDPOINTS)
def test_each_endpoint_needs_its_own_permission(api_as, method, path, action):
    others = {"view", "add", "signal", "query", "update", "cancel", "terminate"} - {action}
    refused = getattr(api_as(*others), method)(
        path, {}, format="json" if method == "post" else None
    )
    assert refused.status_code == 403
    assert refused.json()["error"] == {
        "code": "permission_denied",
        "message": f"This needs the permission 'durable_workflows.{action}_workflowexecution'.",
    }
    allowed = getattr(api_as(action), method)(path, {}, format="json" if method == "post" else None)
    assert allowed.status_code not in (401, 403)


def test_basic_authentication_works_and_a_wrong_password_is_refused(api_as, unique):
    from tests.api.conftest import make_user

    user = make_user("view")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=_basic(user.username, "pw"))
    assert api.get(API).status_code == 200
    api.credentials(HTTP_AUTHORIZATION=_basic(user.username, "wrong"))
    response = api.get(API)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def _basic(username: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_a_user_without_the_signal_permission_cannot_signal_and_one_with_it_can(api_as, unique):
    wid = f"api-perm-{unique}"
    client.start_workflow("CounterWorkflow", 3, id=wid, task_queue=f"idle-{unique}")
    viewer, signaller = api_as("view", "query"), api_as("signal")
    refused = post(viewer, url(wid, "signals", "add"), {"args": ["x"]})
    assert refused.status_code == 403
    assert _history_length(wid) == 1
    allowed = post(signaller, url(wid, "signals", "add"), {"args": ["x"]})
    assert allowed.status_code == 202
    assert _history_length(wid) == 2


def _history_length(workflow_id: str) -> int:
    return WorkflowExecution.objects.get(workflow_id=workflow_id).history_length


# --- errors: a 4xx with a JSON body naming the problem, and nothing written ---------------------


@pytest.fixture
def idle(unique) -> str:
    """A running CounterWorkflow on a queue no worker consumes: its history stays put."""
    wid = f"api-idle-{unique}"
    client.start_workflow("CounterWorkflow", 3, id=wid, task_queue=f"idle-{unique}")
    return wid


@pytest.fixture
def terminated(unique) -> str:
    wid = f"api-closed-{unique}"
    client.start_workflow("CounterWorkflow", 3, id=wid, task_queue=f"idle-{unique}")
    client.get_workflow_handle(wid).terminate("test")
    return wid


def assert_error(response: Any, status: int, code: str, *words: str, field: str | None = None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code
    for word in words:
        assert word in error["message"], error["message"]
    if field is not None:
        assert error["field"] == field


def writes(workflow_id: str) -> tuple[int, list[int]]:
    rows = WorkflowExecution.objects.filter(workflow_id=workflow_id)
    return rows.count(), sorted(r.history_length for r in rows)


def test_starting_an_unknown_workflow_type_is_a_400_naming_it(admin_api, unique):
    wid = f"api-err-{unique}"
    response = start(admin_api, "NoSuchWorkflow", wid)
    assert_error(response, 400, "unknown_workflow_type", "NoSuchWorkflow", "OrderWorkflow")
    assert writes(wid) == (0, [])


def test_starting_with_the_wrong_number_of_arguments_is_a_400(admin_api, unique):
    wid = f"api-err-{unique}"
    response = start(admin_api, "OrderWorkflow", wid, "only-one")
    assert_error(response, 400, "invalid_arguments", "2 argument", "got 1")
    assert writes(wid) == (0, [])


def test_starting_a_running_id_again_is_a_409(admin_api, idle):
    response = start(admin_api, "CounterWorkflow", idle, 1)
    assert_error(response, 409, "workflow_already_started", idle)
    assert writes(idle) == (1, [1])


START = {"workflow_type": "CounterWorkflow", "workflow_id": "x"}


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"workflow_id": "x"}, "workflow_type", "required"),
        ({"workflow_type": "CounterWorkflow"}, "workflow_id", "required"),
        ({**START, "workflow_id": ""}, "workflow_id", "blank"),
        ({**START, "workflow_id": "x" * 256}, "workflow_id", "max_length"),
        ({**START, "args": 3}, "args", "not_a_list"),
        ({**START, "execution_timeout": -1}, "execution_timeout", "min_value"),
        ({**START, "execution_timeout": 1e300}, "execution_timeout", "max_value"),
        ({**START, "id_reuse_policy": "NOPE"}, "id_reuse_policy", "invalid_choice"),
        ({**START, "search_attributes": []}, "search_attributes", "not_a_dict"),
        ([START], None, "invalid"),
    ],
)
def test_a_malformed_start_names_the_field(admin_api, body, field, code):
    before = WorkflowExecution.objects.count()
    response = post(admin_api, API, body)
    assert_error(response, 400, code, field or "")
    assert response.json()["error"].get("field") == field
    assert WorkflowExecution.objects.count() == before


def test_bodies_that_are_not_json_or_too_large_are_refused_before_anything_is_written(
    admin_api, unique, idle
):
    wid = f"api-err-{unique}"
    raw = admin_api.post(
        API,
        '{"workflow_type": "CounterWorkflow", "workflow_id": "',
        content_type="application/json",
    )
    assert_error(raw, 400, "parse_error", "not valid JSON")
    form = admin_api.post(API, {"workflow_type": "CounterWorkflow", "workflow_id": wid, "args": 1})
    assert_error(form, 415, "unsupported_media_type", "multipart/form-data")
    nan = admin_api.post(
        API,
        '{"workflow_type": "CounterWorkflow", "workflow_id": "' + wid + '", "args": [NaN]}',
        content_type="application/json",
    )
    assert_error(nan, 400, "parse_error", "NaN")
    nul = start(admin_api, "CounterWorkflow", wid, "a\x00b")
    assert_error(nul, 400, "parse_error", "NUL")

    huge = start(admin_api, "EchoWorkflow", wid, "x" * (3 * 1024 * 1024))
    assert_error(huge, 413, "payload_too_large", "limit")
    over = start(admin_api, "EchoWorkflow", wid, "x" * (2 * 1024 * 1024 + 10))
    assert_error(over, 400, "invalid_payload", "MAX_PAYLOAD_BYTES")
    big_signal = post(admin_api, url(idle, "signals", "add"), {"args": ["x" * (3 * 1024 * 1024)]})
    assert_error(big_signal, 413, "payload_too_large")
    assert writes(wid) == (0, [])
    assert writes(idle) == (1, [1])


def test_unknown_workflow_ids_are_404_on_every_endpoint(admin_api, unique):
    wid = f"api-missing-{unique}"
    for method, path in [
        ("get", url(wid)),
        ("get", url(wid, "history")),
        ("post", url(wid, "signals", "add")),
        ("post", url(wid, "queries", "current")),
        ("post", url(wid, "updates", "add_item")),
        ("post", url(wid, "cancel")),
        ("post", url(wid, "terminate")),
    ]:
        response = getattr(admin_api, method)(path, {} if method == "post" else None, format="json")
        assert_error(response, 404, "workflow_not_found", wid)
    assert writes(wid) == (0, [])


def test_an_unknown_run_id_is_404_and_a_malformed_one_names_the_field(admin_api, idle):
    missing = admin_api.get(url(idle), {"run_id": "00000000-0000-0000-0000-000000000000"})
    assert_error(missing, 404, "workflow_not_found", "00000000-0000-0000-0000-000000000000")
    bad = post(admin_api, url(idle, "signals", "add") + "?run_id=nope", {"args": ["x"]})
    assert_error(bad, 400, "invalid", "UUID", field="run_id")
    assert writes(idle) == (1, [1])


@pytest.mark.parametrize("kind", ["signals", "queries", "updates"])
def test_an_unknown_handler_name_is_a_400_listing_the_known_ones(admin_api, idle, kind):
    response = post(admin_api, url(idle, kind, "nope"), {"args": []})
    singular = {"signals": "signal", "queries": "query", "updates": "update"}[kind]
    assert_error(response, 400, "unknown_handler", "'nope'", f"{singular}s:")
    assert writes(idle) == (1, [1])


def test_arguments_that_do_not_fit_the_parameter_types_are_a_400(admin_api, unique, idle):
    cart = f"api-cart-types-{unique}"
    client.start_workflow("CartWorkflow", id=cart, task_queue=f"idle-{unique}")
    update = post(admin_api, url(cart, "updates", "add_item"), {"args": ["abc"], "timeout": 1})
    assert_error(update, 400, "invalid_arguments", "update 'add_item'", "parameter types")
    assert writes(cart) == (1, [1])
    wid = f"api-types-{unique}"
    started = start(admin_api, "CounterWorkflow", wid, "three")
    assert_error(started, 400, "invalid_arguments", "workflow 'CounterWorkflow'")
    assert writes(wid) == (0, [])


@pytest.mark.parametrize(
    ("kind", "name", "args"),
    [("signals", "add", []), ("signals", "add", ["a", "b"]), ("queries", "current", [1])],
)
def test_the_wrong_number_of_handler_arguments_is_a_400(admin_api, idle, kind, name, args):
    response = post(admin_api, url(idle, kind, name), {"args": args})
    assert_error(response, 400, "invalid_arguments", f"got {len(args)}")
    assert writes(idle) == (1, [1])


def test_talking_to_a_closed_workflow_is_a_409(admin_api, terminated):
    length = writes(terminated)
    for path, body in [
        (url(terminated, "signals", "add"), {"args": ["x"]}),
        (url(terminated, "updates", "add_item"), {"args": [1]}),
        (url(terminated, "cancel"), {}),
        (url(terminated, "terminate"), {}),
    ]:
        assert_error(post(admin_api, path, body), 409, "workflow_closed", terminated)
    assert writes(terminated) == length
    # Queries still answer from the final state.
    assert post(admin_api, url(terminated, "queries", "current")).json() == {"result": 0}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "SLEEPING"}, "status"),
        ({"started_after": "yesterday"}, "started_after"),
        ({"search": "no-colon"}, "search.0"),
        ({"search": "bad key:1"}, "search.0"),
    ],
)
def test_bad_list_filters_name_the_field(admin_api, params, field):
    assert_error(admin_api.get(API, params), 400, _list_code(field), field=field)


def _list_code(field: str) -> str:
    return {"status": "invalid_choice"}.get(field, "invalid")


def test_the_error_body_of_a_missing_route_method_is_json_too(admin_api):
    assert_error(admin_api.delete(API), 405, "method_not_allowed", "DELETE")


def test_the_schema_lists_every_endpoint_at_its_mounted_path(admin_api):
    response = admin_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200, response.content
    schema = json.loads(response.content)
    assert sorted(schema["paths"]) == [
        "/api/activities/{task_token}/complete/",
        "/api/activities/{task_token}/fail/",
        "/api/activities/{task_token}/heartbeat/",
        "/api/workflows/",
        "/api/workflows/{workflow_id}/",
        "/api/workflows/{workflow_id}/cancel/",
        "/api/workflows/{workflow_id}/history/",
        "/api/workflows/{workflow_id}/queries/{name}/",
        "/api/workflows/{workflow_id}/signals/{name}/",
        "/api/workflows/{workflow_id}/terminate/",
        "/api/workflows/{workflow_id}/updates/{name}/",
    ]
    start_op = schema["paths"]["/api/workflows/"]["post"]
    assert set(start_op["responses"]) >= {"201", "400", "401", "403", "409", "413"}


def test_the_schema_is_also_served_as_yaml(admin_api):
    response = admin_api.get("/api/schema/", {"format": "yaml"})
    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


@pytest.mark.parametrize("shape", ["orders/{u}/7", "line\nbreak-{u}", "ends-in/history-{u}"])
def test_ids_with_slashes_and_newlines_are_addressable(admin_api, unique, shape):
    wid = shape.format(u=unique)
    assert (
        start(admin_api, "CounterWorkflow", wid, 1, task_queue=f"idle-{unique}").status_code == 201
    )
    assert status_of(admin_api, wid)["workflow_id"] == wid
    assert admin_api.get(url(wid, "history")).json()["workflow_id"] == wid
    assert post(admin_api, url(wid, "signals", "add"), {"args": ["x"]}).status_code == 202
    assert post(admin_api, url(wid, "queries", "current")).status_code == 200
    assert post(admin_api, url(wid, "terminate")).status_code == 202
    assert status_of(admin_api, wid)["status"] == "TERMINATED"


def test_an_unknown_path_under_the_api_is_a_json_404_after_authentication(admin_api):
    assert_error(admin_api.get("/api/nothing/here/"), 404, "not_found", "/api/nothing/here/")
    assert APIClient().get("/api/nothing/here/").status_code == 401
