"""Cron workflows: each run at the next firing, the same id, until cancelled or terminated."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

import pytest

from durable_workflows import Client
from durable_workflows.exceptions import InvalidArgumentError
from durable_workflows.models import WorkflowExecution, WorkflowStatus
from durable_workflows.testing import WorkflowEnvironment
from tests.testapp.workflows import CronTickWorkflow

pytestmark = pytest.mark.usefixtures("live_db")

client = Client()


def runs_of(workflow_id: str) -> list[WorkflowExecution]:
    return list(WorkflowExecution.objects.filter(workflow_id=workflow_id).order_by("id"))


def test_each_run_starts_at_the_next_firing_and_terminate_ends_the_chain() -> None:
    workflow_id = f"cron-{uuid.uuid4().hex[:12]}"
    with WorkflowEnvironment.start_time_skipping() as env:
        handle = client.start_workflow(
            CronTickWorkflow.run, "tick", id=workflow_id, cron_schedule="*/5 * * * *"
        )
        assert handle.result().endswith(":00")  # it ran at a firing, on the minute
        env.sleep(timedelta(minutes=11))
        runs = runs_of(workflow_id)
        assert len(runs) >= 3
        for previous, following in itertools.pairwise(runs):
            assert following.continued_run_id == previous.run_id
            assert following.cron_schedule == "*/5 * * * *"
        results = [r.result for r in runs if r.status == WorkflowStatus.COMPLETED]
        minutes = [int(text.split("@")[1].split(":")[1]) for text in results]
        assert all(m % 5 == 0 for m in minutes), results
        assert len(set(results)) == len(results)  # one run per firing
        client.get_workflow_handle(workflow_id).terminate(reason="enough")
        count = len(runs_of(workflow_id))
        env.sleep(timedelta(minutes=15))
    assert len(runs_of(workflow_id)) == count  # terminate stopped the chain
    assert runs_of(workflow_id)[-1].status == WorkflowStatus.TERMINATED


def test_a_malformed_schedule_is_refused_before_anything_is_written() -> None:
    workflow_id = f"cron-{uuid.uuid4().hex[:12]}"
    with pytest.raises(InvalidArgumentError, match="five fields"):
        client.start_workflow(CronTickWorkflow.run, "x", id=workflow_id, cron_schedule="* * *")
    with pytest.raises(InvalidArgumentError, match="not valid"):
        client.start_workflow(CronTickWorkflow.run, "x", id=workflow_id, cron_schedule="61 * * * *")
    assert not runs_of(workflow_id)
