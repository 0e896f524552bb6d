"""activity.Concurrency on real workers: slots per key, handed over in order, never leaked."""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path

import pytest

from durable_workflows import Client
from durable_workflows.models import ActivityTask
from tests.helpers import wait_until
from tests.procs import worker_pool
from tests.testapp.models import SideEffect
from tests.testapp.time_workflows import RunActivityWorkflow

pytestmark = pytest.mark.usefixtures("workers")

client = Client()


def intervals(key: str, customer: str) -> list[tuple[datetime, datetime]]:
    """(start, end) of each call that ended; a start with no end (a killed attempt) is
    dropped. Valid for a key whose calls ran one at a time, as the limit makes them."""
    spans, started = [], None
    for row in SideEffect.objects.filter(key=key).order_by("created", "id"):
        if row.name == f"start:{customer}":
            started = row.created
        elif row.name == f"end:{customer}" and started is not None:
            spans.append((started, row.created))
            started = None
    return spans


def starts(key: str, customer: str) -> list[datetime]:
    return list(
        SideEffect.objects.filter(key=key, name=f"start:{customer}")
        .order_by("created")
        .values_list("created", flat=True)
    )


def overlapping(spans: list[tuple[datetime, datetime]]) -> bool:
    ordered = sorted(spans)
    return any(later[0] < earlier[1] for earlier, later in itertools.pairwise(ordered))


@pytest.mark.crash
def test_one_call_per_customer_at_a_time_and_customers_in_parallel(worker_env, unique) -> None:
    queue = f"q-{unique}"
    with worker_pool(worker_env, queue, f"limited-{unique}", count=3):
        handles = [
            client.start_workflow(
                RunActivityWorkflow.run,
                "call_crm",
                [customer, unique, 0.4],
                {"start_to_close": 30},
                id=f"crm-{customer}-{n}-{unique}",
                task_queue=queue,
            )
            for n in range(5)
            for customer in ("ada", "bob")
        ]
        assert sorted(h.result(timeout=120) for h in handles) == ["ada"] * 5 + ["bob"] * 5
    ada, bob = intervals(unique, "ada"), intervals(unique, "bob")
    assert len(ada) == len(bob) == 5
    assert not overlapping(ada), ada
    assert not overlapping(bob), bob
    assert overlapping(ada + bob)  # the two customers did run at the same time


@pytest.mark.crash
def test_a_killed_holder_frees_its_slot_at_its_timeout(
    worker_env, pause_dir, unique, doomed
) -> None:
    queue = f"q-{unique}"
    gates = Path(pause_dir) / f"gates-{unique}"
    gates.mkdir()
    (gates / "release-2").touch()  # the retry of the killed attempt runs through
    first = client.start_workflow(
        RunActivityWorkflow.run,
        "call_crm_gated",
        ["cy", unique, str(gates)],
        {"start_to_close": 3, "retry": {"initial_interval": 0.5}},
        id=f"crm-first-{unique}",
        task_queue=queue,
    )
    wait_until(lambda: SideEffect.count(unique, "start:cy") == 1, what="the first call")
    # On the session workers' queue: the doomed worker is busy holding the slot. The
    # slot's key is the activity type and customer, whatever the queue.
    second = client.start_workflow(
        RunActivityWorkflow.run,
        "call_crm_gated",
        ["cy", unique, str(gates)],
        {"start_to_close": 30},
        id=f"crm-second-{unique}",
    )
    wait_until(
        lambda: ActivityTask.objects.filter(
            execution__workflow_id=f"crm-second-{unique}", holds_slot=False
        ).exists(),
        what="the second call to wait for the slot",
    )
    assert SideEffect.count(unique, "start:cy") == 1  # it waits, and holds no worker
    doomed.kill9()
    (gates / "release-1").touch()  # the second call's first attempt may run through
    with worker_pool(worker_env, queue, f"survivor-{unique}"):
        assert first.result(timeout=60) == "cy-2"
        assert second.result(timeout=60) == "cy-1"
    spans = intervals(unique, "cy")
    assert len(spans) == 2  # the killed attempt never ended
    assert not overlapping(spans)
    killed, *later = starts(unique, "cy")
    # The slot stayed with the killed attempt until its start-to-close timeout (3 s).
    assert all((moment - killed).total_seconds() >= 3 for moment in later)


@pytest.mark.crash
def test_describe_and_the_api_say_why_an_attempt_waits(worker_env, pause_dir, unique) -> None:
    from django.test import Client as HttpClient

    from tests.admin.conftest import make_user

    api = HttpClient()
    api.force_login(make_user(superuser=True))
    queue = f"q-{unique}"
    gates = Path(pause_dir) / f"gates-{unique}"
    gates.mkdir()
    with worker_pool(worker_env, queue, f"limited-{unique}", count=2):
        holder, waiter = (
            client.start_workflow(
                RunActivityWorkflow.run,
                "call_crm_gated",
                ["dee", unique, str(gates)],
                {"start_to_close": 60},
                id=f"crm-{n}-{unique}",
                task_queue=queue,
            )
            for n in ("holder", "waiter")
        )
        wait_until(lambda: SideEffect.count(unique, "start:dee") == 1, what="the first call")
        pending = wait_until(
            lambda: [
                a
                for h in (holder, waiter)
                for a in h.describe().pending_activities
                if a.waiting_for
            ],
            what="a waiting attempt",
        )
        assert pending[0].waiting_for.startswith("a concurrency slot of call_crm_gated:dee")
        assert "1 of 1 in use" in pending[0].waiting_for
        waiting_id = (
            holder.workflow_id
            if holder.describe().pending_activities[0].waiting_for
            else waiter.workflow_id
        )
        body = api.get(f"/api/workflows/{waiting_id}/").json()
        assert body["pending_activities"][0]["waiting_for"] == pending[0].waiting_for
        (gates / "release-1").touch()
        assert {holder.result(timeout=60), waiter.result(timeout=60)} == {"dee-1"}
