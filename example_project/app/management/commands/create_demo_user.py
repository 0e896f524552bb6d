"""``manage.py create_demo_user``: a superuser for trying the admin and the API locally.

Run only when asked; it is idempotent (an existing user gets the password and rights
again). Never use the defaults outside a local demo.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Create (or reset) a demo superuser for the admin and the API, "
        "by default demo/demo. For local demos only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo")
        parser.add_argument("--email", default="demo@example.com")

    def handle(self, *args: Any, username: str, password: str, email: str, **options: Any) -> None:
        user_model = get_user_model()
        user, created = user_model._default_manager.get_or_create(
            **{user_model.USERNAME_FIELD: username}, defaults={"email": email}
        )
        user.is_staff = True
        user.is_superuser = True
        user.is_active = True
        user.set_password(password)
        user.save()
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} superuser {username!r}. Log in at /admin/ or use it for /api/.")
