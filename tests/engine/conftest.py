"""Every engine test runs twice: each workflow task replayed from scratch, and continued
from the instance the previous task left in memory (a worker's sticky cache)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.engine import memory


@pytest.fixture(autouse=True, params=["cold", "warm"])
def task_mode(request: pytest.FixtureRequest) -> Iterator[str]:
    memory.MODE = request.param
    yield request.param
    memory.MODE = "cold"
