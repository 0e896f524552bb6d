"""ActivityOptions and StartOptions refuse bad values when built, once, where the user calls."""

from __future__ import annotations

from datetime import timedelta

import pytest

from durable_workflows._engine import ActivityOptions, StartOptions
from durable_workflows.exceptions import InvalidArgumentError


@pytest.mark.parametrize("queue", ["../../etc/passwd", "", "a b", "x" * 101, "-leading"])
def test_an_activity_task_queue_must_be_a_well_formed_name(queue):
    with pytest.raises(ValueError, match="is not a valid name"):
        ActivityOptions(task_queue=queue)


def test_a_well_formed_activity_task_queue_is_kept():
    assert ActivityOptions(task_queue="billing.eu-1:high@x").task_queue == "billing.eu-1:high@x"


def test_an_activity_timeout_must_be_positive():
    with pytest.raises(ValueError, match="start_to_close_timeout must be positive"):
        ActivityOptions(start_to_close_timeout=0)


def test_a_start_timeout_must_be_positive():
    with pytest.raises(InvalidArgumentError, match="execution_timeout must be positive"):
        StartOptions(workflow_id="w", execution_timeout=timedelta(0))
