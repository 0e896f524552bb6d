"""Workflows and activities run in this process, from the database, with time skipping.

What Celery workers and the tick do elsewhere, :class:`LocalTransport` does in the calling
thread while a :class:`durable_workflows.testing.WorkflowEnvironment` has it installed:

- a hint that needs no delay (a workflow task, an activity attempt) runs at once, after
  the commit that made it true, as an idle worker would take it;
- a delayed hint (timer, retry backoff) is dropped: the row in the database says when
  it is due, and the runner gets to it when the clock does;
- whoever waits (``handle.result()``, ``execute_update``, ``env.sleep()``) drives: it runs
  whatever is due, and when nothing is, moves the clock to the next due time, so a
  month-long sleep passes in milliseconds.

It drives only runs started since it began, so runs left in the database by anything
else are never touched, nor their timers fired by the moved clock.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TypeVar

from django.db import connections
from django.db.models import Min, QuerySet

from . import _chain, _clock, _tick
from ._transport import ACTIVITY_TASK, DELIVER_REQUEST, WORKFLOW_TASK, Hint
from .exceptions import WorkflowResultTimeoutError, WorkflowTaskFailedError
from .models import (
    ActivityStatus,
    ActivityTask,
    Timer,
    TimerStatus,
    WorkflowExecution,
    WorkflowStatus,
)

T = TypeVar("T")


class LocalTransport:
    """The in-process transport: hints run here, waits drive the work and skip time."""

    def __init__(self, *, skip_time: bool = True, concurrent: bool = False) -> None:
        #: False: nothing skips; waiting for the next due time takes that long.
        self.skip_time = skip_time
        self.since = _clock.now()
        self._hints: deque[Hint] = deque()
        self._lock = threading.Lock()
        self._draining = False
        #: Concurrent: hints run on worker threads while the caller goes on (as Temporal's
        #: test server and workers do), and what comes due on the real clock runs too.
        self.concurrent = concurrent
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._errors: list[BaseException] = []
        self._pool: ThreadPoolExecutor | None = None
        self._stop = threading.Event()
        if concurrent:
            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="dw-test-worker")
            threading.Thread(target=self._tick_loop, name="dw-test-tick", daemon=True).start()

    # --- the transport ----------------------------------------------------------------------

    def send(self, hint: Hint) -> None:
        """Take the place of a Celery message (called after commit)."""
        if hint.countdown:
            return  # due later: the database holds when, and the clock gets there
        if self.concurrent:
            self._submit(lambda: self._run_hint(hint))
            return
        with self._lock:
            self._hints.append(hint)
            if self._draining:
                return  # the outer call runs it; no recursion, step after step
            self._draining = True
        try:
            self._drain()
        finally:
            with self._lock:
                self._draining = False

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._hints:
                    return
                hint = self._hints.popleft()
            self._run_hint(hint)

    def _run_hint(self, hint: Hint) -> None:
        if hint.task_name == WORKFLOW_TASK:
            _chain.workflow_task(str(hint.args[0]))
        elif hint.task_name == ACTIVITY_TASK:
            _chain.activity_task(int(hint.args[0]), int(hint.args[1]))
        elif hint.task_name == DELIVER_REQUEST:
            _chain.deliver_request(int(hint.args[0]))

    def wait_for(
        self, keys: Sequence[str], check: Callable[[], T | None], timeout: float | None
    ) -> T | None:
        """Whoever waits drives: run what is due, skip time (``timeout`` is not applied)."""
        return self.drive_until(check)

    async def start_worker(
        self, command: Sequence[str], env: Mapping[str, str] | None = None
    ) -> asyncio.subprocess.Process | None:
        return None  # workflows and activities run in this process

    # --- driving: what a waiting caller does ------------------------------------------------

    # --- concurrent mode: worker threads, and the real clock's due work ---------------------------

    def _submit(self, job: Callable[[], object]) -> None:
        assert self._pool is not None
        if self._stop.is_set():
            return  # closed: nothing runs any more
        with self._lock:
            self._in_flight += 1
        try:
            self._pool.submit(self._guarded, job)
        except RuntimeError:  # the pool shut down in between
            with self._lock:
                self._in_flight -= 1
                self._idle.notify_all()

    def _guarded(self, job: Callable[[], object]) -> None:
        try:
            job()
        except BaseException as exc:  # surfaced to whoever waits (see _raise_errors)
            with self._lock:
                self._errors.append(exc)
        finally:
            connections.close_all()  # this thread's connection: the test may drop the database
            with self._lock:
                self._in_flight -= 1
                self._idle.notify_all()

    def _tick_loop(self) -> None:
        # What comes due on the clock runs without anyone waiting: a test's plain
        # ``await asyncio.sleep(3)`` lets a 2-second timer fire.
        while not self._stop.wait(0.1):
            with self._lock:
                busy = self._in_flight > 0
            if not busy:
                self._submit(self.run_due)

    def _wait_idle(self, timeout: float) -> bool:
        with self._lock:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def _raise_errors(self) -> None:
        with self._lock:
            errors, self._errors = self._errors, []
        if errors:
            raise errors[0]

    def _drive_concurrently(self, check: Callable[[], T | None]) -> T:
        while True:
            self._raise_errors()
            value = check()
            if value is not None:
                return value
            if not self._wait_idle(0.05):
                continue  # work is running: look again soon
            self._submit(self.run_due)
            self._wait_idle(0.5)
            self._raise_errors()
            value = check()
            if value is not None:
                return value
            with self._lock:
                busy = self._in_flight > 0
            if busy:
                continue
            due = self.next_due()
            with self._lock:
                busy = self._in_flight > 0
            if busy:
                continue  # the tick started something meanwhile: no jump under it
            if due is None:
                raise WorkflowResultTimeoutError(
                    "Nothing is left to run in the test environment and nothing is due: the "
                    "workflow waits for a signal, an update or a cancellation that no one sent."
                )
            if self.skip_time:
                self._advance_to(due)
            else:
                time.sleep(min(0.05, max((due - _clock.now()).total_seconds(), 0.0)))

    def close(self) -> None:
        """Stop the worker threads (concurrent mode); running work finishes on its own."""
        self._stop.set()
        if self._pool is not None:
            self._wait_idle(5.0)
            self._pool.shutdown(wait=False, cancel_futures=True)

    def drive_until(self, check: Callable[[], T | None]) -> T:
        """Run and skip time until ``check()`` answers; raise if nothing is left to run."""
        if self.concurrent:
            return self._drive_concurrently(check)
        while True:
            value = check()
            if value is not None:
                return value
            if self.run_due():
                continue
            due = self.next_due()
            if due is None:
                raise WorkflowResultTimeoutError(
                    "Nothing is left to run in the test environment and nothing is due: the "
                    "workflow waits for a signal, an update or a cancellation that no one sent."
                )
            self._advance_to(due)

    def sleep(self, duration: timedelta) -> None:
        """Advance the clock by ``duration``, running everything that comes due on the way."""
        target = _clock.now() + duration
        if self.concurrent:
            self._sleep_concurrently(target)
            return
        while True:
            while self.run_due():
                pass
            due = self.next_due()
            if due is None or due > target:
                break
            self._advance_to(due)
        self._advance_to(target)
        while self.run_due():
            pass

    def _sleep_concurrently(self, target: datetime) -> None:
        while True:
            self._wait_idle(30.0)
            self._raise_errors()
            self._submit(self.run_due)
            self._wait_idle(30.0)
            self._raise_errors()
            due = self.next_due()
            if due is None or due > target:
                break
            self._advance_to(due)
        self._advance_to(target)
        self._submit(self.run_due)
        self._wait_idle(30.0)
        self._raise_errors()

    def run_due(self) -> bool:
        """One pass over everything due now in the runs this runner drives; True if any ran."""
        now = _clock.now()
        runs = self._runs()
        ran = bool(
            _tick.fire_due_timers(now, runs)
            + _tick.time_out_activities(now, runs)
            + _tick.time_out_runs(now, runs)
        )
        for run_id in _distinct(
            runs.filter(task_pending=True, task_dispatch_after__lte=now).values_list(
                "run_id", flat=True
            )
        ):
            _chain.workflow_task(str(run_id))
            _raise_if_task_failed(str(run_id))
            ran = True
        for pk, attempt in _distinct(
            ActivityTask.objects.filter(
                execution__in=runs, status=ActivityStatus.SCHEDULED, dispatch_after__lte=now
            ).values_list("pk", "attempt")
        ):
            _chain.activity_task(pk, attempt)
            ran = True
        return ran

    def next_due(self) -> datetime | None:
        """The earliest time at which something comes due in the runs this runner drives."""
        runs = self._runs()
        open_activities = ActivityTask.objects.filter(
            execution__in=runs, status__in=[ActivityStatus.SCHEDULED, ActivityStatus.STARTED]
        )
        candidates = [
            Timer.objects.filter(execution__in=runs, status=TimerStatus.PENDING).aggregate(
                at=Min("fire_at")
            )["at"],
            open_activities.filter(status=ActivityStatus.SCHEDULED).aggregate(
                at=Min("dispatch_after")
            )["at"],
            open_activities.aggregate(at=Min("timeout_at"))["at"],
            runs.filter(task_pending=True).aggregate(at=Min("task_dispatch_after"))["at"],
            runs.aggregate(at=Min("expiration_time"))["at"],
        ]
        due = [moment for moment in candidates if moment is not None]
        return min(due) if due else None

    def _advance_to(self, moment: datetime) -> None:
        """Move the clock to ``moment``: at once, or (without time skipping) by waiting."""
        if self.skip_time:
            _clock.skip_to(moment)
            return
        remaining = (moment - _clock.now()).total_seconds()
        if remaining > 0:
            time.sleep(remaining)

    def _runs(self) -> QuerySet[WorkflowExecution]:
        """The running runs started since this runner began: those of the test, no others."""
        return WorkflowExecution.objects.filter(
            status=WorkflowStatus.RUNNING, start_time__gte=self.since
        )


def _distinct(rows: Iterable[T]) -> list[T]:
    return list(dict.fromkeys(rows))


def _raise_if_task_failed(run_id: str) -> None:
    execution = (
        WorkflowExecution.objects.filter(run_id=run_id)
        .values("workflow_type", "workflow_id", "task_failure", "task_pending")
        .first()
    )
    if execution and execution["task_pending"] and execution["task_failure"]:
        failure = execution["task_failure"]
        raise WorkflowTaskFailedError(
            f"A workflow task of {execution['workflow_type']} {execution['workflow_id']!r} "
            f"failed with {failure.get('type')}: {failure.get('message')}. In production it "
            "would be retried "
            f"until fixed code is deployed.\n{failure.get('stack_trace') or ''}".rstrip()
        )
