"""Search attribute filters, checked through the service, the HTTP API and the CLI verb.

``test_search_attributes.py`` runs :func:`check` on the suite's PostgreSQL database, and
in a subprocess on a fresh SQLite database (``python -m tests.hardening_admin.run``), so
both backends answer the same checks.
"""

from __future__ import annotations

import io
import json
from typing import Any

from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client as HttpClient

from durable_workflows import Client, _services
from tests.testapp.workflows import CounterWorkflow

#: Each run's search attributes; every run also has ``batch: <tag>`` to keep tests apart.
RUNS: dict[str, dict[str, Any]] = {
    "str": {"customer": "c-7"},
    "other": {"customer": "c-8"},
    "json-like": {"customer": "[1]"},
    "number": {"priority": 3},
    "number-text": {"priority": "3"},
    "bool": {"vip": True},
}

#: Filter (as text, the way every adapter passes it) -> the runs it must find.
EXPECTED: list[tuple[dict[str, str], set[str]]] = [
    ({"customer": "c-7"}, {"str"}),
    ({"customer": "[1]"}, {"json-like"}),
    ({"priority": "3"}, {"number", "number-text"}),
    ({"vip": "true"}, {"bool"}),
    ({"customer": "nobody"}, set()),
]


def start_runs(tag: str) -> None:
    client = Client()
    for name, attributes in RUNS.items():
        client.start_workflow(
            CounterWorkflow.run,
            1,
            id=f"search-{name}-{tag}",
            task_queue=f"idle-{tag}",
            search_attributes={**attributes, "batch": tag},
        )


def found_by_service(tag: str, search: dict[str, str]) -> set[str]:
    rows = _services.list_executions(search_attributes={**search, "batch": tag})
    return {row.workflow_id for row in rows}


def found_by_api(http: HttpClient, tag: str, search: dict[str, str]) -> set[str]:
    params = [f"{key}:{value}" for key, value in {**search, "batch": tag}.items()]
    response = http.get("/api/workflows/", {"search": params})
    assert response.status_code == 200, response.content
    return {row["workflow_id"] for row in response.json()["results"]}


def found_by_cli(tag: str, search: dict[str, str]) -> set[str]:
    args = []
    for key, value in {**search, "batch": tag}.items():
        args += ["--search", f"{key}={value}"]
    out = io.StringIO()
    call_command("workflow", "list", *args, "--json", stdout=out)
    return {row["workflow_id"] for row in json.loads(out.getvalue())}


def check(tag: str) -> str:
    """Start the runs, check every filter three ways (AssertionError if one fails);
    returns the database's vendor."""
    start_runs(tag)
    user = User.objects.create_superuser(f"search-{tag}", password="pw")
    http = HttpClient()
    http.force_login(user)
    for search, names in EXPECTED:
        expected = {f"search-{name}-{tag}" for name in names}
        assert found_by_service(tag, search) == expected, ("service", search)
        assert found_by_api(http, tag, search) == expected, ("api", search)
        assert found_by_cli(tag, search) == expected, ("cli", search)
    return connection.vendor
