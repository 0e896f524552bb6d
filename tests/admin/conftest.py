"""Admin users and logged-in test clients on the live test database (rows commit)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client as HttpClient

from durable_workflows.models import WorkflowExecution

CHANGELIST = "/admin/durable_workflows/workflowexecution/"


def detail_url(execution: WorkflowExecution) -> str:
    return f"{CHANGELIST}{execution.pk}/change/"


def make_user(*codenames: str, superuser: bool = False) -> User:
    """A staff user with the given permissions of the workflow execution model."""
    user = User.objects.create_user(
        f"admin-{uuid.uuid4().hex[:10]}",
        password="pw-for-tests",
        is_staff=True,
        is_superuser=superuser,
    )
    if codenames:
        user.user_permissions.set(
            Permission.objects.filter(
                content_type__app_label="durable_workflows", codename__in=codenames
            )
        )
    return user


@pytest.fixture
def login(live_db) -> Callable[[User], HttpClient]:
    def log_in(user: User) -> HttpClient:
        http = HttpClient()
        http.force_login(user)
        return http

    return log_in


@pytest.fixture
def superuser_client(login) -> HttpClient:
    return login(make_user(superuser=True))
