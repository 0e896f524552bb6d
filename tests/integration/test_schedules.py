"""Workflows started on a schedule by the suite's real beat (django-celery-beat) and workers."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django_celery_beat.models import PeriodicTask

from durable_workflows import tasks
from durable_workflows.exceptions import InvalidArgumentError, UnknownWorkflowTypeError
from durable_workflows.models import WorkflowExecution
from durable_workflows.schedules import START_TASK_NAME, schedule_workflow
from tests.helpers import wait_until
from tests.testapp.workflows import EchoWorkflow

pytestmark = pytest.mark.usefixtures("workers")


def runs_of(name: str) -> list[WorkflowExecution]:
    return list(
        WorkflowExecution.objects.filter(search_attributes__schedule=name).order_by("start_time")
    )


def test_beat_starts_a_run_each_firing_until_the_schedule_is_paused(unique):
    name = f"every-second-{unique}"
    entry = schedule_workflow(name, EchoWorkflow.run, "tick", every=timedelta(seconds=1))
    assert entry.task == START_TASK_NAME
    assert entry.interval.every == 1

    wait_until(lambda: len(runs_of(name)) >= 2, timeout=30, what="two scheduled runs")
    schedule_workflow(name, EchoWorkflow.run, "tick", every=timedelta(seconds=1), enabled=False)
    time.sleep(2)  # a firing already sent may still start
    paused_at = len(runs_of(name))
    time.sleep(4)
    assert len(runs_of(name)) == paused_at

    runs = runs_of(name)
    assert all(run.workflow_id.startswith(f"{name}-") for run in runs)
    assert len({run.workflow_id for run in runs}) == len(runs)
    wait_until(
        lambda: all(r.status == "COMPLETED" for r in runs_of(name)), what="the runs to complete"
    )
    assert {run.result for run in runs_of(name)} == {"tick"}


def test_a_firing_delivered_twice_starts_one_run(unique):
    name = f"twice-{unique}"
    firing = str(uuid.uuid4())
    kwargs = {
        "schedule": name,
        "workflow_type": "EchoWorkflow",
        "args": ["x"],
        "task_queue": "default",
    }
    for _ in range(2):
        tasks.start_scheduled_workflow.apply_async(kwargs=kwargs, task_id=firing, queue="default")
    wait_until(lambda: runs_of(name), what="the run")
    time.sleep(2)  # time for the second delivery to be handled
    runs = runs_of(name)
    assert [run.workflow_id for run in runs] == [f"{name}-{firing}"]


def test_a_cron_schedule_is_a_crontab_periodic_task_in_the_given_zone(unique):
    entry = schedule_workflow(
        f"nightly-{unique}", "EchoWorkflow", "report", cron="0 3 * * 1-5", timezone="Europe/Paris"
    )
    crontab = entry.crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_week) == ("0", "3", "1-5")
    assert str(crontab.timezone) == "Europe/Paris"
    assert entry.interval is None
    entry.delete()


@pytest.mark.parametrize(
    ("arguments", "options", "message"),
    [
        (("x",), {}, "exactly one of"),
        (("x",), {"cron": "* * * * *", "every": timedelta(seconds=5)}, "exactly one of"),
        (("x",), {"cron": "61 * * * *"}, "is not valid"),
        (("x",), {"cron": "0 3 * *"}, "five fields"),
        (("x",), {"every": timedelta(milliseconds=500)}, "whole number"),
        ((), {"every": timedelta(seconds=5)}, "argument"),
    ],
)
def test_bad_schedules_are_refused_and_write_nothing(arguments, options, message, unique):
    before = PeriodicTask.objects.count()
    with pytest.raises(InvalidArgumentError, match=message):
        schedule_workflow(f"bad-{unique}", EchoWorkflow.run, *arguments, **options)
    assert PeriodicTask.objects.count() == before


def test_an_unknown_workflow_type_is_refused(unique):
    with pytest.raises(UnknownWorkflowTypeError):
        schedule_workflow(f"bad-{unique}", "NoSuchWorkflow", every=timedelta(seconds=5))
