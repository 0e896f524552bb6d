"""``DURABLE_WORKFLOWS["VISIBLE_RUNS"]``: object-level access in the API and the admin.

With the hook set, a user reads and acts only on the runs it lets through; any other run
answers as one that does not exist. The ``workflow`` command runs as the operator.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import Client as HttpClient
from rest_framework.test import APIClient

from durable_workflows import Client
from durable_workflows.models import HistoryEvent, WorkflowExecution
from tests.admin.conftest import CHANGELIST
from tests.api.conftest import make_user
from tests.testapp.workflows import CartWorkflow

API = "/api/workflows/"
ACTIONS = ["view", "add", "signal", "query", "update", "cancel", "terminate", "delete"]


@pytest.fixture
def hook(settings) -> None:
    settings.DURABLE_WORKFLOWS = {
        **settings.DURABLE_WORKFLOWS,
        "VISIBLE_RUNS": "tests.hardening_admin.access.visible_runs",
    }


class Tenants:
    """Alice and Bob, each with every permission and one running cart of their own."""

    def __init__(self, unique: str) -> None:
        self.queue = f"idle-{unique}"
        self.alice, self.bob = make_user(*ACTIONS), make_user(*ACTIONS)
        self.alice.is_staff = True
        self.alice.save()
        self.alice_run = self.start(f"alice-{unique}", self.alice.get_username())
        self.bob_run = self.start(f"bob/{unique}", self.bob.get_username())

    def start(self, workflow_id: str, owner: str) -> WorkflowExecution:
        Client().start_workflow(
            CartWorkflow.run,
            id=workflow_id,
            task_queue=self.queue,
            search_attributes={"owner": owner},
        )
        return WorkflowExecution.objects.get(workflow_id=workflow_id)

    def api(self) -> APIClient:
        client = APIClient()
        client.force_login(self.alice)
        return client


@pytest.fixture
def tenants(live_db, hook, unique) -> Tenants:
    return Tenants(unique)


def url(execution: WorkflowExecution, *rest: str) -> str:
    return API + "/".join([quote(execution.workflow_id, safe=""), *rest]) + "/"


def history_length(execution: WorkflowExecution) -> int:
    return HistoryEvent.objects.filter(execution=execution).count()


def test_the_api_lists_only_the_runs_the_hook_lets_through(tenants):
    response = tenants.api().get(API, {"task_queue": tenants.queue})
    assert response.status_code == 200
    assert [row["workflow_id"] for row in response.json()["results"]] == [
        tenants.alice_run.workflow_id
    ]


def test_a_run_one_may_not_see_is_a_404_on_every_endpoint_and_nothing_is_written(tenants):
    api, bob = tenants.api(), tenants.bob_run
    before = history_length(bob)
    run = f"?run_id={bob.run_id}"
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("get", url(bob), {}),
        ("get", url(bob) + run, {}),
        ("get", url(bob, "history"), {}),
        ("post", url(bob, "signals", "note"), {"args": ["x"]}),
        ("post", url(bob, "queries", "get_total") + run, {}),
        ("post", url(bob, "updates", "add_item"), {"args": [1], "timeout": 0.2}),
        ("post", url(bob, "cancel"), {}),
        ("post", url(bob, "terminate") + run, {}),
    ]
    for method, path, body in requests:
        kwargs = {"format": "json"} if method == "post" else {}
        response = getattr(api, method)(path, body, **kwargs)
        assert response.status_code == 404, (path, response.content)
        assert response.json()["error"]["code"] == "workflow_not_found", path
        assert "owner" not in response.content.decode()
    assert history_length(bob) == before
    assert WorkflowExecution.objects.get(pk=bob.pk).status == "RUNNING"

    # The same answer as for a run that does not exist.
    missing = api.get(API + "nobody-at-all/?run_id=" + str(bob.run_id)).json()
    hidden = api.get(url(bob) + run).json()
    assert hidden["error"]["message"] == missing["error"]["message"].replace(
        "nobody-at-all", bob.workflow_id
    )


def test_a_run_one_may_see_answers_as_before(tenants):
    api, alice = tenants.api(), tenants.alice_run
    assert api.get(url(alice)).status_code == 200
    assert api.get(url(alice, "history")).status_code == 200
    assert (
        api.post(url(alice, "signals", "note"), {"args": ["x"]}, format="json").status_code == 202
    )
    assert api.post(url(alice, "queries", "get_total"), {}, format="json").status_code == 200
    assert api.post(url(alice, "terminate"), {}, format="json").status_code == 202


def test_the_admin_lists_shows_and_acts_on_only_visible_runs(tenants):
    admin = HttpClient()
    admin.force_login(tenants.alice)
    alice, bob = tenants.alice_run, tenants.bob_run

    listing = admin.get(CHANGELIST, {"task_queue": tenants.queue}).content.decode()
    assert alice.workflow_id in listing
    assert bob.workflow_id not in listing

    assert admin.get(f"{CHANGELIST}{alice.pk}/change/").status_code == 200
    hidden = admin.get(f"{CHANGELIST}{bob.pk}/change/")
    assert hidden.status_code == 302  # Django's "doesn't exist" redirect to the index
    assert hidden["Location"] == "/admin/"
    assert admin.get(f"{CHANGELIST}{bob.pk}/terminate/").status_code == 404
    assert admin.get(f"{CHANGELIST}{bob.pk}/history/").status_code == 302

    before = history_length(bob)
    admin.post(
        CHANGELIST,
        {
            "action": "terminate_selected",
            "_selected_action": [str(bob.pk)],
            "post": "yes",
            "reason": "not yours",
        },
    )
    assert history_length(bob) == before
    assert WorkflowExecution.objects.get(pk=bob.pk).status == "RUNNING"


def test_the_workflow_command_runs_as_the_operator_and_sees_every_run(tenants):
    out = io.StringIO()
    call_command("workflow", "describe", tenants.bob_run.workflow_id, stdout=out)
    assert tenants.bob_run.workflow_id in out.getvalue()


def test_a_hook_that_returns_no_queryset_is_named_in_the_error(live_db, settings, api_as):
    settings.DURABLE_WORKFLOWS = {
        **settings.DURABLE_WORKFLOWS,
        "VISIBLE_RUNS": "tests.hardening_admin.access.not_a_queryset",
    }
    with pytest.raises(ImproperlyConfigured, match="VISIBLE_RUNS"):
        api_as("view").get(API)


@pytest.mark.parametrize("value", ["tests.hardening_admin.access.nothing_here", 42])
def test_a_hook_that_cannot_be_used_is_a_configuration_error(settings, value):
    from durable_workflows.conf import dw_settings

    settings.DURABLE_WORKFLOWS = {**settings.DURABLE_WORKFLOWS, "VISIBLE_RUNS": value}
    with pytest.raises(ImproperlyConfigured, match="VISIBLE_RUNS"):
        dw_settings.VISIBLE_RUNS  # noqa: B018
