"""Item 6: the memo and the search attributes are payloads: MAX_PAYLOAD_BYTES applies."""

from __future__ import annotations

import pytest

from durable_workflows.exceptions import InvalidArgumentError, PayloadError

from .workflows import AnythingWorkflow

API = "/api/workflows/"


@pytest.fixture
def small_payloads(settings) -> int:
    settings.DURABLE_WORKFLOWS = {**settings.DURABLE_WORKFLOWS, "MAX_PAYLOAD_BYTES": 1000}
    return 1000


@pytest.mark.parametrize("field", ["memo", "search_attributes"])
def test_a_memo_or_search_attributes_over_the_limit_are_refused(
    small_payloads, admin_api, client, unique, nothing_written, field
):
    value = {"blob": "x" * 2000}
    wid = f"hard-memo-{unique}"
    with pytest.raises(PayloadError, match="over the limit of 1,000 bytes.*MAX_PAYLOAD_BYTES"):
        client.start_workflow(AnythingWorkflow.run, 1, id=wid, **{field: value})
    response = admin_api.post(
        API,
        {"workflow_type": "HardeningAnything", "workflow_id": wid, "args": [1], field: value},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_payload"
    assert "MAX_PAYLOAD_BYTES" in response.json()["error"]["message"]


def test_five_megabytes_of_memo_are_refused_by_default(client, unique, nothing_written):
    with pytest.raises(PayloadError, match="The memo is .* over the limit"):
        client.start_workflow(
            AnythingWorkflow.run, 1, id=f"hard-5mb-{unique}", memo={"m": "x" * (5 * 1024 * 1024)}
        )


def test_a_memo_within_the_limit_is_stored(small_payloads, client, unique):
    handle = client.start_workflow(
        AnythingWorkflow.run, 1, id=f"hard-memo-ok-{unique}", memo={"note": "x" * 500}
    )
    assert handle.describe().memo == {"note": "x" * 500}


@pytest.mark.parametrize("value", [["a"], "text", 3])
def test_a_memo_that_is_not_a_dict_is_refused(client, unique, nothing_written, value):
    with pytest.raises(InvalidArgumentError, match="The memo must be a dict"):
        client.start_workflow(AnythingWorkflow.run, 1, id=f"hard-memo-{unique}", memo=value)
