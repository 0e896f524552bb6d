"""How a history is cut into recorded workflow tasks, and how events travel as JSON."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from durable_workflows._engine import EventType, HistoryEvent, split_history

from .memory import T0

E = EventType


def history(*types: EventType) -> list[HistoryEvent]:
    return [
        HistoryEvent(i, event_type, T0 + timedelta(seconds=i), {"n": i})
        for i, event_type in enumerate(types, start=1)
    ]


def ids(events: list[HistoryEvent]) -> list[int]:
    return [e.event_id for e in events]


def test_history_splits_into_activation_completed_and_command_events_per_task():
    events = history(
        E.WORKFLOW_EXECUTION_STARTED,  # 1
        E.WORKFLOW_TASK_COMPLETED,  # 2
        E.ACTIVITY_TASK_SCHEDULED,  # 3
        E.TIMER_STARTED,  # 4
        E.ACTIVITY_TASK_STARTED,  # 5
        E.ACTIVITY_TASK_COMPLETED,  # 6
        E.WORKFLOW_EXECUTION_SIGNALED,  # 7
        E.WORKFLOW_TASK_COMPLETED,  # 8
        E.MARKER_RECORDED,  # 9
        E.TIMER_FIRED,  # 10
    )
    split = split_history(events)
    assert [ids(t.activation) for t in split.tasks] == [[1], [5, 6, 7]]
    assert [t.completed.event_id for t in split.tasks] == [2, 8]
    assert [ids(t.commands) for t in split.tasks] == [[3, 4], [9]]
    assert ids(split.pending) == [10]


def test_an_outcome_written_between_command_events_goes_to_the_next_activation():
    # The store cancels an activity no attempt has started within the task that asked.
    events = history(
        E.WORKFLOW_EXECUTION_STARTED,  # 1
        E.WORKFLOW_TASK_COMPLETED,  # 2
        E.ACTIVITY_TASK_SCHEDULED,  # 3
        E.WORKFLOW_EXECUTION_CANCEL_REQUESTED,  # 4
        E.WORKFLOW_TASK_COMPLETED,  # 5
        E.ACTIVITY_TASK_CANCEL_REQUESTED,  # 6
        E.ACTIVITY_TASK_CANCELED,  # 7
        E.ACTIVITY_TASK_SCHEDULED,  # 8
    )
    split = split_history(events)
    assert [ids(t.commands) for t in split.tasks] == [[3], [6, 8]]
    assert ids(split.pending) == [7]


def test_a_command_event_before_any_workflow_task_is_a_corrupt_history():
    events = history(E.WORKFLOW_EXECUTION_STARTED, E.ACTIVITY_TASK_SCHEDULED)
    with pytest.raises(ValueError, match="Corrupt history: command event 2"):
        split_history(events)


def test_history_events_round_trip_through_json():
    event = HistoryEvent(
        7, E.ACTIVITY_TASK_COMPLETED, T0, {"scheduled_event_id": 5, "result": {"a": [1]}}
    )
    assert HistoryEvent.from_dict(json.loads(json.dumps(event.to_dict()))) == event
