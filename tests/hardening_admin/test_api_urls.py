"""The API's URLs: a 201's Location, pagination cursors, and the schema endpoint."""

from __future__ import annotations

import base64
import subprocess
import sys
from urllib.parse import urlencode, urljoin

import pytest

from durable_workflows import Client
from tests.api.conftest import make_user
from tests.procs import ROOT

API = "/api/workflows/"


def start(api, workflow_id: str, queue: str):
    body = {
        "workflow_type": "CounterWorkflow",
        "workflow_id": workflow_id,
        "args": [1],
        "task_queue": queue,
    }
    return api.post(API, body, format="json")


# --- Location ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["mine/../probe-{u}", "../probe-{u}", "a/./b-{u}", "x/..-{u}"])
def test_the_location_of_a_started_run_names_that_run(admin_api, unique, shape):
    workflow_id = shape.format(u=unique)
    queue = f"idle-{unique}"
    Client().start_workflow("CounterWorkflow", 1, id=f"probe-{unique}", task_queue=queue)
    response = start(admin_api, workflow_id, queue)
    assert response.status_code == 201, response.content
    location = response["Location"]
    # A client resolves dot segments (RFC 3986 5.2.4) before following it; none are left.
    assert urljoin("http://testserver/api/workflows/", location) == location
    assert location.startswith("http://testserver/api/workflows/")
    followed = admin_api.get(location)
    assert followed.status_code == 200, followed.content
    assert followed.json()["workflow_id"] == workflow_id


# --- cursors -------------------------------------------------------------------------------


def cursor(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    "raw",
    [
        "p=garbage",
        "o=0&p=2026-13-45",
        "r=1&p=x",
        "p=\x00",
        "p=2026-01-01",  # no time of day or zone
        "p=0001-01-01 00:00:00+14:00",  # before year 1 once in UTC
        "p=9999-12-31 23:59:59-14:00",  # after year 9999 once in UTC
        "o=-1",
    ],
)
def test_a_forged_cursor_is_a_404_in_the_error_shape(admin_api, raw):
    response = admin_api.get(API + "?" + urlencode({"cursor": cursor(raw)}))
    assert response.status_code == 404, response.content
    assert response.json() == {"error": {"code": "not_found", "message": "Invalid cursor"}}


def test_the_cursors_the_api_hands_out_still_page(admin_api, unique):
    queue = f"idle-{unique}"
    for index in range(3):
        Client().start_workflow("CounterWorkflow", 1, id=f"page-{index}-{unique}", task_queue=queue)
    seen, url = [], API + "?" + urlencode({"task_queue": queue, "page_size": 2})
    while url:
        body = admin_api.get(url).json()
        seen += [row["workflow_id"] for row in body["results"]]
        url = body["next"]
    assert seen == [f"page-{index}-{unique}" for index in (2, 1, 0)]


# --- the schema ----------------------------------------------------------------------------


def test_the_schema_answers_application_json(admin_api):
    response = admin_api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["openapi"].startswith("3.")


def run_in_process(env: dict[str, str], settings: str, *call: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.hardening_admin.run", *call],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": settings},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()


def test_the_schema_works_with_rest_frameworks_default_settings(worker_env, live_db):
    user = make_user("view")
    lines = run_in_process(
        worker_env,
        "tests.hardening_admin.drf_defaults_settings",
        "tests.hardening_admin.schema_scenario:fetch",
        user.get_username(),
    )
    assert lines == [
        "schema class: rest_framework.schemas.openapi",
        "default: 200 application/vnd.oai.openapi+json openapi: 3.0.3",
        "json: 200 application/json openapi: 3.0.3",
        "yaml: 200 application/vnd.oai.openapi openapi: 3.0.3",
    ]


def test_the_readmes_throttling_setting_answers_429_in_the_error_shape(worker_env, live_db):
    user = make_user("view")
    lines = run_in_process(
        worker_env,
        "tests.hardening_admin.throttled_settings",
        "tests.hardening_admin.schema_scenario:statuses",
        user.get_username(),
        "5",
    )
    assert lines == ["200", "200", "200", "429 throttled", "429 throttled"]
