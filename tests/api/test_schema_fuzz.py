"""Schemathesis fuzzes every operation of the OpenAPI document: no request gets a 5xx.

Requests go through the Django WSGI application, authenticated as a superuser with
HTTP basic auth; both valid and invalid requests are generated from the schema.
Path parameters are sometimes pointed at real runs (a cart taking updates, an
approval waiting for a signal, a closed counter) and at real handler names, so the
handlers' argument checks are fuzzed too, not only the 404 path.
"""

from __future__ import annotations

import base64
import contextlib
import uuid
from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from durable_workflows import Client
from durable_workflows.exceptions import WorkflowAlreadyStartedError
from tests.api.conftest import make_user

SESSION = uuid.uuid4().hex[:8]
CART, APPROVAL, CLOSED = (f"fuzz-{kind}-{SESSION}" for kind in ("cart", "approval", "closed"))
# Where to point a case's path: None keeps the generated values.
AIMS = [
    (None, None),
    (CART, "add_item"),  # update with a validator and an int parameter
    (CART, "add_item"),
    (CART, "add_doubled"),  # update that runs an activity
    (CART, "note"),
    (CART, "get_total"),
    (CART, "sneaky_query"),  # a query that writes: refused
    (APPROVAL, "approve"),
    (APPROVAL, "is_approved"),
    (CLOSED, "add"),
    (CLOSED, "current"),
]
JSON = st.recursive(
    st.text()
    | st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=5,
)
CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 80  # per operation: the whole fuzz stays under about a minute
OPERATIONS = [
    ("GET", "/api/workflows/"),
    ("POST", "/api/workflows/"),
    ("GET", "/api/workflows/{workflow_id}/"),
    ("GET", "/api/workflows/{workflow_id}/history/"),
    ("POST", "/api/workflows/{workflow_id}/signals/{name}/"),
    ("POST", "/api/workflows/{workflow_id}/queries/{name}/"),
    ("POST", "/api/workflows/{workflow_id}/updates/{name}/"),
    ("POST", "/api/workflows/{workflow_id}/cancel/"),
    ("POST", "/api/workflows/{workflow_id}/terminate/"),
    ("POST", "/api/activities/{task_token}/complete/"),
    ("POST", "/api/activities/{task_token}/fail/"),
    ("POST", "/api/activities/{task_token}/heartbeat/"),
]


@pytest.fixture
def auth(live_db, settings: Any) -> dict[str, str]:
    # Basic auth checks the password on every request: keep the hash cheap here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = make_user(superuser=True)
    token = base64.b64encode(f"{user.username}:pw".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def api_schema(auth: dict[str, str], workers: Any) -> Any:
    client = Client()
    for workflow_id, workflow, args in [
        (CART, "CartWorkflow", []),
        (APPROVAL, "ApprovalWorkflow", ["fuzz"]),
        (CLOSED, "CounterWorkflow", [1]),
    ]:
        with contextlib.suppress(WorkflowAlreadyStartedError):  # an earlier operation did
            client.start_workflow(workflow, *args, id=workflow_id)
    with contextlib.suppress(Exception):
        client.get_workflow_handle(CLOSED).terminate("closed for the fuzz")
    return schemathesis.openapi.from_wsgi(
        "/api/schema/",
        get_wsgi_application(),
        headers={**auth, "Accept": "application/vnd.oai.openapi+json"},
    )


def test_the_fuzz_covers_every_operation_in_the_schema(api_schema):
    listed = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert listed == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_request_gets_a_server_error(api_schema, auth, method, path):
    operation = api_schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(
        case=cases,
        aim=st.sampled_from(AIMS),
        args=st.none() | st.tuples(JSON).map(list) | st.lists(JSON, max_size=3),
    )
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: Any, aim: tuple[str | None, str | None], args: list[Any] | None) -> None:
        target, handler = aim
        parameters = case.path_parameters or {}
        closes = path.endswith(("/cancel/", "/terminate/"))
        if target and "workflow_id" in parameters and not closes:  # keep the targets alive
            parameters["workflow_id"] = target
            (case.query or {}).pop("run_id", None)
            if handler and "name" in parameters:
                parameters["name"] = handler
            if args is not None and isinstance(case.body, dict):
                case.body["args"] = args
        if isinstance(case.body, dict) and isinstance(case.body.get("timeout"), int | float):
            case.body["timeout"] = min(case.body["timeout"], 2.0)  # updates wait at most 2 s
        response = case.call(headers=auth)
        sent = f"{case.method} {case.formatted_path} query={case.query!r} body={case.body!r}"
        content_type = response.headers.get("content-type", [""])[0]
        got = f"{response.status_code} {content_type}: {response.text[:2000]}"
        assert response.status_code < 500, f"{sent} -> {got}"
        if response.status_code >= 400:
            assert content_type == "application/json", f"{sent} -> {got}"
            assert "error" in response.json(), f"{sent} -> {got}"
        # The document is accurate: documented statuses, content types and bodies.
        case.validate_response(response, checks=CONFORMANCE)

    check()


HANDLER_CALLS = [
    ("updates", CART, "add_item"),  # int parameter, with a validator
    ("signals", CART, "note"),
    ("signals", APPROVAL, "approve"),
    ("queries", CART, "get_total"),
    ("signals", CLOSED, "add"),
]


@pytest.mark.parametrize(("kind", "workflow_id", "name"), HANDLER_CALLS)
def test_any_json_arguments_to_a_real_handler_get_an_answer_not_a_server_error(
    api_schema, auth, kind, workflow_id, name
):
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=auth["Authorization"])
    path = f"/api/workflows/{workflow_id}/{kind}/{name}/"

    @given(args=st.tuples(JSON).map(list) | st.lists(JSON, max_size=3))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def check(args: list[Any]) -> None:
        response = api.post(path, {"args": args, "timeout": 2}, format="json")
        assert response.status_code < 500, f"{path} {args!r} -> {response.content[:2000]!r}"
        if response.status_code >= 400:
            assert "error" in response.json()

    check()
