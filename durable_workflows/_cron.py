"""Cron expressions of cron workflows (``cron_schedule=`` on start): parse, and find the
next firing. Celery's crontab does the arithmetic, as it does for django-celery-beat."""

from __future__ import annotations

from datetime import datetime

from celery.schedules import crontab

from .exceptions import InvalidArgumentError


def parse(expression: str) -> crontab:
    """A crontab from five fields: minute, hour, day of month, month, day of week.

    Raises:
        InvalidArgumentError: not five fields, or a field Celery cannot read.
    """
    fields = expression.split() if isinstance(expression, str) else []
    if len(fields) != 5:
        raise InvalidArgumentError(
            f"cron_schedule {expression!r} must have five fields (minute hour day-of-month "
            'month day-of-week), e.g. "*/5 * * * *".'
        )
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    try:
        schedule = crontab(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
        )
    except Exception as exc:
        raise InvalidArgumentError(f"cron_schedule {expression!r} is not valid: {exc}") from exc
    return schedule


def next_time(expression: str, after: datetime) -> datetime:
    """The first firing of ``expression`` strictly after ``after`` (an aware datetime)."""
    schedule = parse(expression)
    schedule.nowfun = lambda: after
    following: datetime = after + schedule.remaining_estimate(after)
    return following
