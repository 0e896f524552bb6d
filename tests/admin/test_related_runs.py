"""The admin and the API link a run to its parent, its children and its continue-as-new chain."""

from __future__ import annotations

import uuid

from django.test import Client as HttpClient

from durable_workflows import Client
from durable_workflows.models import WorkflowExecution
from durable_workflows.testing import WorkflowEnvironment
from tests.testapp.workflows import CountdownWorkflow, ParentWorkflow

from .conftest import detail_url

client = Client()


def test_parent_and_child_pages_link_each_other(superuser_client: HttpClient) -> None:
    parent_id, child_id = f"p-{uuid.uuid4().hex[:10]}", f"c-{uuid.uuid4().hex[:10]}"
    with WorkflowEnvironment.start_time_skipping():
        client.execute_workflow(ParentWorkflow.run, "double", child_id, id=parent_id)
    parent = WorkflowExecution.objects.get(workflow_id=parent_id)
    child = WorkflowExecution.objects.get(workflow_id=child_id)

    parent_page = superuser_client.get(detail_url(parent)).content.decode()
    assert "Related runs" in parent_page
    assert f'href="{detail_url(child)}"' in parent_page
    child_page = superuser_client.get(detail_url(child)).content.decode()
    assert f'href="{detail_url(parent)}"' in child_page

    described = superuser_client.get(f"/api/workflows/{child_id}/").json()
    assert described["parent"] == {
        "workflow_id": parent_id,
        "run_id": str(parent.run_id),
        "status": "COMPLETED",
    }
    parent_described = superuser_client.get(f"/api/workflows/{parent_id}/").json()
    assert [c["workflow_id"] for c in parent_described["children"]] == [child_id]


def test_a_continue_as_new_chain_is_linked_both_ways(superuser_client: HttpClient) -> None:
    workflow_id = f"chain-{uuid.uuid4().hex[:10]}"
    with WorkflowEnvironment.start_time_skipping():
        client.execute_workflow(CountdownWorkflow.run, 1, [], id=workflow_id)
    first, second = WorkflowExecution.objects.filter(workflow_id=workflow_id).order_by("id")
    first_page = superuser_client.get(detail_url(first)).content.decode()
    assert "Continued as" in first_page and f'href="{detail_url(second)}"' in first_page
    second_page = superuser_client.get(detail_url(second)).content.decode()
    assert "Continued from" in second_page and f'href="{detail_url(first)}"' in second_page
    described = client.get_workflow_handle(workflow_id).describe()
    assert described.continued_from is not None
    assert described.continued_from.run_id == str(first.run_id)
