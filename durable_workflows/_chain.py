"""What a worker does next without the broker: the work its own writes made due.

A workflow task may schedule activities this worker can run (eager execution); an
activity's outcome makes the run's next workflow task due (continue here). Each is a
durable row first, and committed before it is run here, so a crash loses nothing: the
tick resends the hint of whatever was left. The chain is bounded (``CHAIN_LIMIT`` steps
per message), so one long workflow cannot keep a worker from its queue; what is left
when the bound is reached goes back to the broker as ordinary hints.
"""

from __future__ import annotations

import logging
from collections import deque

from . import _clock, _store
from ._activity_worker import AttemptDone, run_attempt, run_claimed
from ._store import ActivityStart
from ._worker import continue_here, process_workflow_task

logger = logging.getLogger("durable_workflows.worker")

#: Activities run here, one after another, for one message taken from the broker.
CHAIN_LIMIT = 100


def workflow_task(run_id: str) -> None:
    """A workflow-task hint: run the task, then the activities it kept for this worker."""
    run_chain(process_workflow_task(run_id))


def activity_task(activity_task_id: int, attempt: int) -> None:
    """An activity hint: run the attempt, then the workflow task its outcome made due."""
    done = run_attempt(activity_task_id, attempt)
    if done is not None:
        run_chain(continue_here(done.next_task, worker_queue=done.task_queue))


def fire_timer(timer_pk: int) -> None:
    """A timer's countdown hint: fire its run's due timers, then the task that makes due."""
    execution_pk = _store.timer_execution_pk(timer_pk)
    if execution_pk is None:
        return
    fired = _store.fire_due_timers(
        execution_pk, _clock.now(), skip_locked=False, defer_workflow_task=True
    )
    # Timer hints travel on the run's own task queue, so this worker serves it.
    run_chain(continue_here(fired.workflow_task, worker_queue=None))


def deliver_request(request_pk: int) -> None:
    """A hint that one run's signal or cancel request (or a parent's close policy) is due
    for another run: deliver it, then record the outcome in the sender's history."""
    _store.deliver_request(request_pk, _clock.now())


def run_activity_here(start: ActivityStart) -> AttemptDone | None:
    """Run one attempt a workflow task claimed for this worker (a seam for tests)."""
    return run_claimed(start.activity)


def run_chain(starts: list[ActivityStart]) -> None:
    """Run ``starts`` here, and what their outcomes make due, up to CHAIN_LIMIT attempts."""
    pending = deque(starts)
    steps = 0
    while pending:
        start = pending.popleft()
        if steps >= CHAIN_LIMIT:
            _store.release_claim(start.activity, _clock.now())  # back to the broker
            continue
        steps += 1
        done = run_activity_here(start)
        if done is not None:
            pending.extend(continue_here(done.next_task, worker_queue=done.task_queue))
