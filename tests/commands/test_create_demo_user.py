"""The example project's ``create_demo_user``: a superuser on request, idempotently."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command


@pytest.mark.django_db
def test_create_demo_user_creates_then_resets_one_superuser():
    out = StringIO()
    call_command("create_demo_user", "--username", "demo-x", "--password", "s3cret", stdout=out)
    call_command("create_demo_user", "--username", "demo-x", "--password", "other", stdout=out)
    assert out.getvalue().splitlines() == [
        "Created superuser 'demo-x'. Log in at /admin/ or use it for /api/.",
        "Updated superuser 'demo-x'. Log in at /admin/ or use it for /api/.",
    ]
    user = User.objects.get(username="demo-x")
    assert user.is_superuser and user.is_staff and user.is_active
    assert user.check_password("other")
