"""System checks with stable ids and hints."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, register
from django.core.checks import Warning as CheckWarning
from django.core.exceptions import ImproperlyConfigured


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    from .conf import dw_settings

    problems: list[Any] = []
    try:
        for key in (
            "DEFAULT_TASK_QUEUE",
            "TICK_INTERVAL",
            "DEFAULT_START_TO_CLOSE_TIMEOUT",
            "HISTORY_RETENTION",
            "PAYLOAD_CODEC",
            "MAX_CACHED_RUNS",
            "MAX_EAGER_ACTIVITIES",
            "CONTINUE_AS_NEW_SUGGESTED_AFTER",
            "MAX_PAYLOAD_DEPTH",
            "ALLOWED_TASK_QUEUES",
            "VISIBLE_RUNS",
        ):
            getattr(dw_settings, key)
    except ImproperlyConfigured as exc:
        problems.append(
            Error(
                str(exc),
                hint="Fix DURABLE_WORKFLOWS in your settings.",
                id="durable_workflows.E001",
            )
        )
    if not apps.is_installed("django_celery_beat"):
        problems.append(
            Error(
                "django_celery_beat is not in INSTALLED_APPS.",
                hint="Add 'django_celery_beat': the tick that fires timers and repairs lost "
                "messages is one of its periodic tasks.",
                id="durable_workflows.E002",
            )
        )
    if not getattr(settings, "CELERY_BROKER_URL", None) and not getattr(
        settings, "BROKER_URL", None
    ):
        problems.append(
            CheckWarning(
                "No CELERY_BROKER_URL setting found.",
                hint="Workers are Celery workers; configure a broker (see the README).",
                id="durable_workflows.W001",
            )
        )
    return problems


@register()
def check_atomic_activities(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """Atomic activities write in the history's transaction: on the default database only."""
    from . import _registry

    atomic = _registry.atomic_activity_names()
    if atomic and getattr(settings, "DATABASE_ROUTERS", None):
        return [
            Error(
                f"Activities declared with atomic=True ({', '.join(atomic)}) need their "
                "writes on the default database, where the workflow history lives; "
                "DATABASE_ROUTERS is set, so their writes could go elsewhere and escape the "
                "transaction.",
                hint="Drop atomic=True from these activities, or the database routers.",
                id="durable_workflows.E003",
            )
        ]
    return []
