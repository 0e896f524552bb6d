"""A run's admin page shows payloads bounded in size and depth, with a link to the rest.

A 32 KB input of nested lists, pretty-printed in the Input box and again in the first
event, made a 25 MB page; a 1.9 MB input (near the API's body limit) made a page of
several MB. Rows are written directly here: the entry-side depth limit may refuse such
an input today, but runs stored before it still have one.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest

from durable_workflows import Client
from durable_workflows.admin.display import EVENT_CHARS, MAX_DEPTH, PAYLOAD_CHARS, bounded_json
from durable_workflows.models import HistoryEvent, WorkflowExecution
from tests.admin.conftest import CHANGELIST
from tests.testapp.workflows import CounterWorkflow

#: What a page with two bounded payload boxes and 100 event summaries may weigh.
PAGE_LIMIT = 200_000


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


PAYLOADS = {
    "deep": [nested(400) for _ in range(40)],  # 32 KB of JSON
    "wide": ["x" * 1000] * 1900,  # 1.9 MB
    "long string": ["y" * 1_900_000],
}


def stored_run(tag: str, payload: Any) -> WorkflowExecution:
    """A running run whose input (and first event's input) is ``payload``."""
    workflow_id = f"payload-{tag}"
    Client().start_workflow(CounterWorkflow.run, 1, id=workflow_id, task_queue=f"idle-{tag}")
    execution = WorkflowExecution.objects.get(workflow_id=workflow_id)
    WorkflowExecution.objects.filter(pk=execution.pk).update(input=payload, memo={"m": payload})
    started = HistoryEvent.objects.get(execution=execution, event_id=1)
    HistoryEvent.objects.filter(pk=started.pk).update(
        attributes={**started.attributes, "input": payload}
    )
    return WorkflowExecution.objects.get(pk=execution.pk)


@pytest.mark.parametrize("kind", list(PAYLOADS))
def test_a_large_payload_is_shown_in_part_with_links_to_all_of_it(superuser_client, unique, kind):
    payload = PAYLOADS[kind]
    execution = stored_run(unique, payload)
    response = superuser_client.get(f"{CHANGELIST}{execution.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert len(page) < PAGE_LIMIT, len(page)
    assert page.count("Shown in part") == 3  # input, memo, the first event
    links = {html.unescape(href) for href in re.findall(r'<a href="([^"]+)">The whole value', page)}
    describe = next(link for link in links if "/history/" not in link)
    first_event = next(link for link in links if "/history/" in link)

    described = superuser_client.get(describe)
    assert described.status_code == 200, described.content[:300]
    assert described.json()["input"] == payload
    assert described.json()["memo"] == {"m": payload}
    events = superuser_client.get(first_event).json()["events"]
    assert [e["event_id"] for e in events] == [1]
    assert events[0]["attributes"]["input"] == payload


def test_a_small_payload_is_shown_whole_as_indented_json(superuser_client, unique):
    execution = stored_run(unique, ["o-1", {"lines": [1, 2]}])
    page = superuser_client.get(f"{CHANGELIST}{execution.pk}/change/").content.decode()
    assert "Shown in part" not in page
    indented = '[\n  "o-1",\n  {\n    "lines": [\n      1,\n      2\n    ]\n  }\n]'
    assert f"<h2>Input</h2><pre>{html.escape(indented)}</pre>" in page


def test_bounded_json_reads_as_json_dumps_until_a_limit_is_reached():
    value = {"a": [1, 2.5, None, True, {"b": "é\n"}], "c": {}, "d": []}

    for indent in (2, None):
        assert bounded_json(value, indent=indent) == (
            json.dumps(value, indent=indent, ensure_ascii=False),
            False,
        )
    text, cut = bounded_json(nested(MAX_DEPTH + 5))
    assert cut and "[…]" in text
    text, cut = bounded_json(list(range(100_000)), EVENT_CHARS)
    assert cut and len(text) == EVENT_CHARS + 1
    assert bounded_json("z" * (PAYLOAD_CHARS * 3))[1]
