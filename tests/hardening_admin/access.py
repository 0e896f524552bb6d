"""A ``VISIBLE_RUNS`` hook for the tests: a user sees the runs whose ``owner`` search
attribute is their username, and nothing else (superusers included)."""

from __future__ import annotations

from typing import Any


def visible_runs(queryset: Any, user: Any) -> Any:
    return queryset.filter(search_attributes__owner=user.get_username())


def not_a_queryset(queryset: Any, user: Any) -> Any:
    return [row for row in queryset]
