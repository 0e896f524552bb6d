"""HISTORY_RETENTION: the tick deletes runs closed longer ago than that, with their history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from durable_workflows import Client
from durable_workflows._tick import prune_closed_runs
from durable_workflows.models import HistoryEvent, WorkflowExecution
from example_project.app.workflows import GreetingWorkflow

pytestmark = pytest.mark.usefixtures("live_db")

client = Client()


def closed_run(workflow_id: str, closed_ago: timedelta) -> WorkflowExecution:
    """A run on a queue no worker serves, terminated and backdated to ``closed_ago``."""
    handle = client.start_workflow(
        GreetingWorkflow.run, "x", id=workflow_id, task_queue=f"nowhere-{workflow_id}"
    )
    handle.terminate("retention test")
    execution = WorkflowExecution.objects.get(workflow_id=workflow_id)
    WorkflowExecution.objects.filter(pk=execution.pk).update(close_time=timezone.now() - closed_ago)
    return execution


def exists(execution: WorkflowExecution) -> bool:
    return WorkflowExecution.objects.filter(pk=execution.pk).exists()


def test_runs_closed_before_the_retention_period_are_deleted_with_their_history(settings, unique):
    # The suite's beat keeps the default 30 days, so it leaves these runs to this test.
    settings.DURABLE_WORKFLOWS = {**settings.DURABLE_WORKFLOWS, "HISTORY_RETENTION": 86400}
    old = closed_run(f"ret-old-{unique}", timedelta(days=2))
    recent = closed_run(f"ret-recent-{unique}", timedelta(hours=1))
    running = client.start_workflow(
        GreetingWorkflow.run, "x", id=f"ret-running-{unique}", task_queue=f"nowhere-{unique}"
    )
    WorkflowExecution.objects.filter(workflow_id=running.id).update(
        start_time=timezone.now() - timedelta(days=3)
    )
    assert HistoryEvent.objects.filter(execution=old).count() == 2  # Started, Terminated

    assert prune_closed_runs(timezone.now()) >= 1

    assert not exists(old)
    assert not HistoryEvent.objects.filter(execution_id=old.pk).exists()
    assert exists(recent)
    assert running.describe().status == "RUNNING"
    running.terminate("done")


def test_retention_none_keeps_closed_runs_forever(settings, unique):
    settings.DURABLE_WORKFLOWS = {**settings.DURABLE_WORKFLOWS, "HISTORY_RETENTION": None}
    old = closed_run(f"ret-none-{unique}", timedelta(days=20))
    assert prune_closed_runs(timezone.now()) == 0
    assert exists(old)
