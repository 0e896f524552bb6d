"""The changelist evaluates only the lookups its filters offer.

Django's admin applies any lookup on the model's own fields that a URL names, so
``?workflow_id__regex=^(z+)+$`` ran a user-supplied regular expression over every row.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode

import pytest

from durable_workflows import Client
from durable_workflows.models import WorkflowExecution
from tests.admin.conftest import CHANGELIST
from tests.testapp.workflows import CounterWorkflow


@pytest.mark.parametrize(
    "params",
    [
        {"workflow_id__regex": "^(z+)+$"},
        {"workflow_id__iregex": "^(z+)+$"},
        {"workflow_id__contains": "a"},
        {"input__icontains": "secret"},
        {"memo__has_key": "token"},
        {"run_id__startswith": "0"},
        {"status__in": "RUNNING,FAILED"},
        {"history_length__gt": "1"},
    ],
)
def test_a_lookup_the_page_does_not_offer_is_a_400(superuser_client, params):
    response = superuser_client.get(f"{CHANGELIST}?{urlencode(params)}")
    assert response.status_code == 400


def test_every_filter_the_page_offers_and_the_search_still_work(superuser_client, unique):
    workflow_id = f"lookups-{unique}"
    Client().start_workflow(CounterWorkflow.run, 1, id=workflow_id, task_queue=f"idle-{unique}")
    execution = WorkflowExecution.objects.get(workflow_id=workflow_id)

    page = superuser_client.get(CHANGELIST).content.decode()
    sidebar = page[page.index('id="changelist-filter"') :]
    links = {html.unescape(h) for h in re.findall(r'href="(\?[^"]*)"', sidebar)}
    offered = {key for link in links for key in re.findall(r"[?&]([^=&]+)=", link)}
    assert offered >= {
        "status__exact",
        "workflow_type",
        "task_queue",
        "start_time__gte",
        "start_time__lt",
    }
    for link in links:
        response = superuser_client.get(CHANGELIST + link)
        assert response.status_code == 200, link
        assert "e=1" not in response.get("Location", ""), link

    for params in (
        {"q": workflow_id},
        {"q": str(execution.run_id)},
        {"workflow_id": workflow_id},  # a run page's "All runs" link
        {"task_queue": f"idle-{unique}", "status__exact": "RUNNING"},
    ):
        response = superuser_client.get(f"{CHANGELIST}?{urlencode(params)}")
        assert response.status_code == 200, params
        assert workflow_id in response.content.decode(), params

    detail = superuser_client.get(f"{CHANGELIST}{execution.pk}/change/").content.decode()
    all_runs = html.unescape(re.search(r'<a href="([^"]+)">All runs</a>', detail).group(1))
    assert workflow_id in superuser_client.get(all_runs).content.decode()
