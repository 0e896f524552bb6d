"""App configuration: discover workflows and activities, install the tick, register checks."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DurableWorkflowsConfig(AppConfig):
    name = "durable_workflows"
    verbose_name = "Durable workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from . import checks  # noqa: F401 - registers the system checks

        autodiscover_modules("workflows", "activities")
        from . import _registration

        _registration.apply_from_environment()
        post_migrate.connect(_install_tick, dispatch_uid="durable_workflows.install_tick")


def _install_tick(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """Create (or refresh) the django-celery-beat entry that runs the tick."""
    if sender.name != "django_celery_beat":
        return
    from ._beat import install_tick

    install_tick(using=using)
