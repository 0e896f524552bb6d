"""Fixtures for the hardening tests: API clients (from tests/api), a client, write counting."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from durable_workflows import Client
from durable_workflows.models import HistoryEvent, WorkflowExecution
from tests.api.conftest import admin_api, api_as  # noqa: F401 - fixtures used here too

from . import workflows  # noqa: F401 - registers the workflows the tests start


@pytest.fixture(scope="session")
def client() -> Client:
    return Client()


@pytest.fixture
def nothing_written(live_db) -> Iterator[None]:
    """The test must leave the run and event tables as it found them."""
    executions, events = WorkflowExecution.objects.count(), HistoryEvent.objects.count()
    yield
    assert WorkflowExecution.objects.count() == executions
    assert HistoryEvent.objects.count() == events


@pytest.fixture
def idle_queue(unique) -> str:
    """A queue no worker consumes: runs started on it stay as they were written."""
    return f"idle-{unique}"
