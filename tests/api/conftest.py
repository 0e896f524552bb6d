"""Users with chosen permissions and API clients logged in as them (live database)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient


def make_user(*actions: str, superuser: bool = False) -> User:
    """A committed user holding ``<action>_workflowexecution`` for each action."""
    name = f"api-{uuid.uuid4().hex[:10]}"
    if superuser:
        return User.objects.create_superuser(name, password="pw")
    user = User.objects.create_user(name, password="pw")
    codenames = [f"{action}_workflowexecution" for action in actions]
    perms = Permission.objects.filter(
        content_type__app_label="durable_workflows", codename__in=codenames
    )
    assert perms.count() == len(codenames), codenames
    user.user_permissions.set(perms)
    return user


@pytest.fixture
def api_as(live_db) -> Callable[..., APIClient]:
    """``api_as("view", "signal")``: a client logged in (session) as a user with those perms."""

    def build(*actions: str, superuser: bool = False) -> APIClient:
        client = APIClient()
        client.force_login(make_user(*actions, superuser=superuser))
        return client

    return build


@pytest.fixture
def admin_api(api_as) -> APIClient:
    return api_as(superuser=True)
