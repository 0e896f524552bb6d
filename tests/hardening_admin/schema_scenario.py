"""The API as a fresh process answers it, under settings of the test's choosing; run by
``test_api_urls.py`` through ``python -m tests.hardening_admin.run``.

The schema's generation depends on REST framework's settings when the views module is
first imported, so only a process started with those settings shows what a project
configured that way gets.
"""

from __future__ import annotations

import json

from django.contrib.auth.models import User
from django.test import Client


def fetch(username: str) -> str:
    """For each format: the status, the media type and the OpenAPI version; one per line."""
    from rest_framework.settings import api_settings

    http = Client()
    http.force_login(User.objects.get(username=username))
    lines = [f"schema class: {api_settings.DEFAULT_SCHEMA_CLASS.__module__}"]
    for label, kwargs in (
        ("default", {}),
        ("json", {"HTTP_ACCEPT": "application/json"}),
        ("yaml", {"data": {"format": "yaml"}}),
    ):
        response = http.get("/api/schema/", **kwargs)
        media_type = response.get("Content-Type", "").split(";")[0]
        text = response.content.decode()
        if response.status_code != 200:
            version = text[:500]
        elif label == "yaml":
            version = text.splitlines()[0]
        else:
            version = "openapi: " + json.loads(text)["openapi"]
        lines.append(f"{label}: {response.status_code} {media_type} {version}")
    return "\n".join(lines)


def statuses(username: str, count: str) -> str:
    """The status and error code of ``count`` listings in a row, one per line."""
    http = Client()
    http.force_login(User.objects.get(username=username))
    lines = []
    for _ in range(int(count)):
        response = http.get("/api/workflows/")
        body = json.loads(response.content)
        lines.append(f"{response.status_code} {body.get('error', {}).get('code', '')}".strip())
    return "\n".join(lines)
