"""Items 1 and 2: every payload's nesting is capped (MAX_PAYLOAD_DEPTH, 64 by default) where
it enters, with a clear 400 / PayloadError naming the limit, never a RecursionError."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from durable_workflows._engine import to_json
from durable_workflows._engine.converter import check_depth, text_depth
from durable_workflows.exceptions import PayloadError

from .workflows import AnythingWorkflow

API = "/api/workflows/"


def nested(depth: int) -> Any:
    """A list nested ``depth`` levels deep (``[]`` is 1), built without recursion."""
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def deep_text(depth: int) -> str:
    return "[" * depth + "]" * depth


def url(workflow_id: str, *rest: str) -> str:
    return API + "/".join([quote(workflow_id, safe="/"), *rest]) + "/"


@pytest.fixture
def anything(client, unique, idle_queue) -> str:
    wid = f"hard-depth-{unique}"
    client.start_workflow(AnythingWorkflow.run, 1, id=wid, task_queue=idle_queue)
    return wid


@pytest.mark.parametrize("depth", [500, 5000, 100_000])
def test_deeply_nested_args_are_a_400_on_every_endpoint_and_nothing_is_written(
    admin_api, anything, nothing_written, unique, depth
):
    deep = deep_text(depth)
    start_body = (
        '{"workflow_type": "HardeningAnything", "workflow_id": "hard-deep-' + unique + '", '
        '"args": [' + deep + "]}"
    )
    args_body = '{"args": [' + deep + "]}"
    responses = [
        admin_api.post(API, start_body, content_type="application/json"),
        *(
            admin_api.post(url(anything, kind, name), args_body, content_type="application/json")
            for kind, name in [("signals", "poke"), ("queries", "echo"), ("updates", "store")]
        ),
    ]
    for response in responses:
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["code"] == "parse_error"
        assert "MAX_PAYLOAD_DEPTH" in error["message"] and "64" in error["message"]


def test_an_argument_at_the_limit_is_accepted_one_level_deeper_is_refused(
    admin_api, client, unique, idle_queue, nothing_written
):
    with pytest.raises(PayloadError, match=r"Argument 1 of .* more than 64 levels.*MAX_PAYLOAD"):
        client.start_workflow(
            AnythingWorkflow.run, nested(65), id=f"hard-65-{unique}", task_queue=idle_queue
        )
    response = admin_api.post(
        API,
        {
            "workflow_type": "HardeningAnything",
            "workflow_id": f"hard-65-{unique}",
            "args": [nested(65)],
            "task_queue": idle_queue,
        },
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "MAX_PAYLOAD_DEPTH" in response.json()["error"]["message"]


def test_an_argument_nested_to_the_limit_is_stored(admin_api, unique, idle_queue):
    response = admin_api.post(
        API,
        {
            "workflow_type": "HardeningAnything",
            "workflow_id": f"hard-64-{unique}",
            "args": [nested(64)],
            "task_queue": idle_queue,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["input"] == [nested(64)]


@pytest.mark.parametrize("field", ["memo", "search_attributes"])
def test_memo_and_search_attributes_are_capped_too(
    admin_api, client, unique, idle_queue, field, nothing_written
):
    value = {"a": nested(64)}  # the dict is one level: 65 in all
    body = {
        "workflow_type": "HardeningAnything",
        "workflow_id": f"hard-m-{unique}",
        "args": [1],
        "task_queue": idle_queue,
        field: value,
    }
    response = admin_api.post(API, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_payload"
    assert "MAX_PAYLOAD_DEPTH" in response.json()["error"]["message"]
    with pytest.raises(PayloadError, match="more than 64 levels"):
        client.start_workflow(
            AnythingWorkflow.run, 1, id=f"hard-m-{unique}", task_queue=idle_queue, **{field: value}
        )


def test_the_limit_is_a_setting(settings, client, unique, idle_queue, nothing_written):
    settings.DURABLE_WORKFLOWS = {**settings.DURABLE_WORKFLOWS, "MAX_PAYLOAD_DEPTH": 3}
    with pytest.raises(PayloadError, match="more than 3 levels"):
        client.start_workflow(
            AnythingWorkflow.run, nested(4), id=f"hard-set-{unique}", task_queue=idle_queue
        )


def test_a_self_referential_value_is_a_payload_error_not_a_recursion_error(
    client, unique, idle_queue, nothing_written
):
    loop: list[Any] = [1]
    loop.append(loop)
    with pytest.raises(PayloadError, match="contains itself"):
        client.start_workflow(
            AnythingWorkflow.run, loop, id=f"hard-c-{unique}", task_queue=idle_queue
        )
    mapping: dict[str, Any] = {}
    mapping["me"] = {"again": mapping}
    with pytest.raises(PayloadError, match="contains itself"):
        client.start_workflow(
            AnythingWorkflow.run, 1, id=f"hard-c-{unique}", task_queue=idle_queue, memo=mapping
        )


def test_shared_but_acyclic_values_are_not_cycles():
    shared = [1, 2]
    assert to_json([shared, shared, {"x": shared}]) == [[1, 2], [1, 2], {"x": [1, 2]}]


def test_the_converter_caps_results_and_activity_values_too():
    """Workflow and activity results go through to_json: capped at the default (64)."""
    assert to_json(nested(64)) == nested(64)
    with pytest.raises(PayloadError, match="more than 64 levels"):
        to_json(nested(65))
    with pytest.raises(PayloadError, match="more than 64 levels"):
        to_json(nested(200_000))  # iterative: no RecursionError however deep


def test_check_depth_is_iterative_and_counts_dicts_tuples_and_dataclasses():
    check_depth(nested(100_000), 100_000)  # far past the recursion limit
    with pytest.raises(PayloadError):
        check_depth({"a": ({"b": [1]},)}, 3)
    check_depth({"a": ({"b": [1]},)}, 4)


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ("[]", 1),
        ('{"a": [[1], {"b": []}]}', 4),
        ('["[[[[", "\\"[[[", "\\\\", {"x": "]]]]"}]', 2),  # brackets in strings do not count
        (deep_text(100_000), 100_000),
    ],
)
def test_text_depth_reads_json_text_without_parsing_it(text, depth):
    assert text_depth(text) == depth
