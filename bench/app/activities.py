import os
import time

from durable_workflows import activity

from .models import SideEffect


@activity.defn
def bench_noop(value: int) -> int:
    return value


@activity.defn
def chaos_step(tag: int, step: int, body_seconds: float) -> int:
    """Record one side effect row for (run, step), then work ``body_seconds``.

    The row is committed before the body's work, so a worker killed during that work
    leaves a row for an attempt that never completes: the retry adds a duplicate.
    """
    info = activity.info()
    SideEffect.objects.create(
        run_id=info.workflow_run_id, step=step, attempt=info.attempt, worker_pid=os.getpid()
    )
    if body_seconds > 0:
        time.sleep(body_seconds)
    return chaos_result(tag, step)


def chaos_result(tag: int, step: int) -> int:
    """What ``chaos_step`` returns: the soak checks every run's result against it."""
    return tag * 100 + step


@activity.defn
def bench_insert(value: int) -> int:
    """One row, committed on its own (the plain counterpart of bench_insert_atomic)."""
    SideEffect.objects.create(
        run_id=activity.info().workflow_run_id, step=value, attempt=1, worker_pid=os.getpid()
    )
    return value


@activity.defn(atomic=True)
def bench_insert_atomic(value: int) -> int:
    """The same row, committed with the attempt's completion (``atomic=True``)."""
    SideEffect.objects.create(
        run_id=activity.info().workflow_run_id, step=value, attempt=1, worker_pid=os.getpid()
    )
    return value


@activity.defn(concurrency=activity.Concurrency(limit=10))
def bench_noop_limited(value: int) -> int:
    """bench_noop through a global concurrency limit of 10."""
    return value
