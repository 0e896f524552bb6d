"""Workflows started on a schedule: django-celery-beat periodic tasks, edited in the admin.

::

    from durable_workflows.schedules import schedule_workflow

    schedule_workflow("nightly-report", ReportWorkflow.run, "eu", cron="0 3 * * *")
    schedule_workflow("sync-crm", SyncWorkflow.run, every=timedelta(minutes=15))

Each firing starts one run with the id ``<name>-<beat message id>``, so a message that
is delivered twice (acks_late after a worker crash) still starts one run; the schedule
is a ``PeriodicTask`` like any other, paused, edited or deleted under "Periodic tasks".
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction

from . import _json, _registry
from ._services import check_decodable
from .common import WorkflowIDReusePolicy
from .conf import dw_settings
from .exceptions import InvalidArgumentError, WorkflowAlreadyStartedError

if TYPE_CHECKING:
    from django_celery_beat.models import PeriodicTask

__all__ = ["schedule_workflow"]

START_TASK_NAME = "durable_workflows.start_scheduled_workflow"  # in tasks.py


def schedule_workflow(
    name: str,
    workflow: Any,
    *args: Any,
    cron: str | None = None,
    every: timedelta | None = None,
    timezone: str | None = None,
    task_queue: str | None = None,
    enabled: bool = True,
) -> PeriodicTask:
    """Create or update the schedule ``name`` that starts ``workflow(*args)``.

    Args:
        name: The schedule's name (unique); run ids start with it.
        workflow: The ``@workflow.run`` method, the class, or the registered type name.
        *args: Arguments of the run, checked against its signature now.
        cron: Five crontab fields (minute hour day-of-month month day-of-week).
        every: An interval instead of ``cron``.
        timezone: The crontab's time zone (default: Django's ``TIME_ZONE``).
        task_queue: The runs' task queue; default ``DEFAULT_TASK_QUEUE``.
        enabled: False creates the schedule paused.

    Raises:
        InvalidArgumentError: not exactly one of ``cron`` and ``every``, a malformed
            crontab, or arguments that do not fit the workflow.
        UnknownWorkflowTypeError: ``workflow`` is not registered.
    """
    from django_celery_beat.models import PeriodicTask

    definition = _registry.resolve_workflow(workflow)
    # Checked now, as a start would check them, not at the first firing.
    payload = definition.run_signature.encode_args(args, dw_settings.MAX_PAYLOAD_BYTES)
    check_decodable(definition.run_signature, payload, f"workflow {definition.name!r}")
    queue = task_queue or dw_settings.DEFAULT_TASK_QUEUE
    with transaction.atomic():  # the schedule row and the task, or neither
        schedule = _schedule_fields(cron, every, timezone)
        task, _ = PeriodicTask.objects.update_or_create(
            name=name,
            defaults={
                "task": START_TASK_NAME,
                "kwargs": _json.dumps_readable(
                    {
                        "schedule": name,
                        "workflow_type": definition.name,
                        "args": payload,
                        "task_queue": queue,
                    },
                    ensure_ascii=True,
                ),
                "queue": queue,
                "enabled": enabled,
                "description": f"Starts {definition.name} (durable_workflows schedule).",
                **schedule,
            },
        )
    return task


def _schedule_fields(cron: str | None, every: timedelta | None, tz: str | None) -> dict[str, Any]:
    from django.conf import settings
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule

    if (cron is None) == (every is None):
        raise InvalidArgumentError("Give exactly one of cron='m h dom mon dow' or every=timedelta.")
    if every is not None:
        seconds = every.total_seconds()
        if seconds < 1 or not seconds.is_integer():
            raise InvalidArgumentError(
                f"every must be a whole number of seconds >= 1, got {every}."
            )
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=int(seconds), period=IntervalSchedule.SECONDS
        )
        return {"interval": interval, "crontab": None}
    fields = (cron or "").split()
    if len(fields) != 5:
        raise InvalidArgumentError(
            f"cron must have five fields (minute hour day-of-month month day-of-week), "
            f"got {cron!r}."
        )
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    crontab = CrontabSchedule(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
        timezone=tz or settings.TIME_ZONE,
    )
    try:
        crontab.schedule  # noqa: B018 - parses the fields; raises on a malformed one
    except ValueError as exc:
        raise InvalidArgumentError(f"cron {cron!r} is not valid: {exc}") from exc
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
        timezone=crontab.timezone,
    )
    return {"crontab": crontab, "interval": None}


def start_scheduled(
    firing_id: str, *, schedule: str, workflow_type: str, args: list[Any], task_queue: str
) -> str | None:
    """Start the run of one firing of ``schedule``; a repeated firing starts nothing."""
    from .client import Client

    try:
        handle = Client().start_workflow(
            workflow_type,
            *args,
            id=f"{schedule}-{firing_id}",
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes={"schedule": schedule},
        )
    except WorkflowAlreadyStartedError:
        return None
    return handle.run_id
