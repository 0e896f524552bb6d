"""Recorded histories, checked in as JSON, must keep replaying on the current code."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from durable_workflows import workflow
from durable_workflows.client import WorkflowHistory
from durable_workflows.exceptions import NondeterminismError, UnknownWorkflowTypeError
from durable_workflows.testing import Replayer
from example_project.app.activities import charge_card, ship_order
from example_project.app.workflows import OrderWorkflow

HISTORIES = Path(__file__).resolve().parent.parent / "fixtures" / "histories"


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
def test_recorded_history_replays_on_current_code(path):
    result = Replayer().replay_workflow(path.read_text())
    assert result.replay_failure is None


@workflow.defn(name="ReplayTestShipsBeforeCharging")
class ShipsBeforeCharging:
    """An 'edited' OrderWorkflow that ships before it charges."""

    @workflow.run
    async def run(self, order_id: str, amount: float) -> str:
        await workflow.execute_activity(ship_order, order_id, start_to_close_timeout=timedelta(1))
        await workflow.execute_activity(charge_card, amount, start_to_close_timeout=timedelta(1))
        return "edited"


def _as_type(text: str, workflow_type: str) -> str:
    data = json.loads(text)
    data["events"][0]["attributes"]["workflow_type"] = workflow_type
    return json.dumps(data)


def test_an_incompatible_edit_is_reported_as_nondeterminism():
    edited = _as_type(
        (HISTORIES / "order_workflow.json").read_text(), "ReplayTestShipsBeforeCharging"
    )

    with pytest.raises(NondeterminismError) as raised:
        Replayer().replay_workflow(edited)
    message = str(raised.value)
    assert "ActivityTaskScheduled('charge_card', '1')" in message
    assert "ActivityTaskScheduled('ship_order', '1')" in message

    collected = Replayer().replay_workflows([edited])
    assert isinstance(collected[0].replay_failure, NondeterminismError)


def test_replayer_limited_to_some_workflows_refuses_others():
    text = (HISTORIES / "order_workflow.json").read_text()
    with pytest.raises(UnknownWorkflowTypeError, match="not among this Replayer's workflows"):
        Replayer(workflows=[ShipsBeforeCharging]).replay_workflow(text)
    assert (
        Replayer(workflows=[OrderWorkflow])
        .replay_workflow(WorkflowHistory.from_json(text))
        .replay_failure
        is None
    )
