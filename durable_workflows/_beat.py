"""The tick as a django-celery-beat periodic task, installed on migrate and kept in sync."""

from __future__ import annotations

from django.db import transaction

from .conf import dw_settings

TICK_TASK_NAME = "durable_workflows.tick"
TICK_ENTRY_NAME = "durable_workflows: tick (timers, timeouts, redelivery)"


def install_tick(using: str = "default") -> None:
    """Idempotent: creates the entry, or brings its interval and queue up to date."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    seconds = dw_settings.TICK_INTERVAL
    if float(seconds).is_integer():
        every, period = int(seconds), IntervalSchedule.SECONDS
    else:
        every, period = int(seconds * 1_000_000), IntervalSchedule.MICROSECONDS
    with transaction.atomic(using=using):
        schedule, _ = IntervalSchedule.objects.using(using).get_or_create(
            every=every, period=period
        )
        PeriodicTask.objects.using(using).update_or_create(
            name=TICK_ENTRY_NAME,
            defaults={
                "task": TICK_TASK_NAME,
                "interval": schedule,
                "queue": dw_settings.DEFAULT_TASK_QUEUE,
                "enabled": True,
                # A tick stuck in a busy queue is useless once the next one is due.
                "expire_seconds": max(5, int(seconds * 5)),
                "description": "Fires due timers, times out activity attempts and runs, and "
                "resends hints that were lost. Installed by durable_workflows on migrate.",
            },
        )
