"""The worker each kill test kills."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import procs


@pytest.fixture
def doomed(worker_env, unique) -> Iterator[procs.Process]:
    """A worker on the test's own queue ``q-<unique>``, to be killed; stopped if it was not."""
    process = procs.start_worker(worker_env, [f"q-{unique}"], f"doomed-{unique}")
    yield process
    process.stop()
