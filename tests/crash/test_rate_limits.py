"""activity.RateLimit on real workers: starts per window, delayed durably, not dropped."""

from __future__ import annotations

from datetime import timedelta

import pytest

from durable_workflows import Client
from durable_workflows.models import RateLimitedStart
from tests.procs import worker_pool
from tests.testapp.models import SideEffect
from tests.testapp.time_workflows import RunActivityWorkflow

pytestmark = pytest.mark.usefixtures("workers")

client = Client()


@pytest.mark.crash
def test_twenty_starts_at_five_a_second_take_three_seconds_and_no_window_holds_six(
    worker_env, unique
) -> None:
    queue = f"q-{unique}"
    with worker_pool(worker_env, queue, f"rated-{unique}", count=2):
        handles = [
            client.start_workflow(
                RunActivityWorkflow.run,
                "rate_limited_ping",
                [unique],
                {"start_to_close": 30},
                id=f"ping-{n}-{unique}",
                task_queue=queue,
            )
            for n in range(20)
        ]
        assert sum(h.result(timeout=120) for h in handles) == 20
    assert SideEffect.count(unique, "ping") == 20  # none dropped
    starts = sorted(
        RateLimitedStart.objects.filter(key=f"rate_limited_ping:{unique}").values_list(
            "started_at", flat=True
        )
    )
    assert len(starts) == 20
    assert starts[-1] - starts[0] >= timedelta(seconds=3)
    for first in starts:
        in_window = [t for t in starts if first <= t < first + timedelta(seconds=1)]
        assert len(in_window) <= 5, in_window
