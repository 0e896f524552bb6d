"""Concurrency slots (``activity.Concurrency``): rows, taken and freed in the transactions
of the attempts they belong to, so a slot cannot leak.

An attempt of a limited activity runs only while its row holds one of its key's slots
(``holds_slot``). Scheduling takes a free slot or leaves the row waiting, unhinted. An
attempt that ends frees its slot and, in the same transaction, hands it to the oldest
waiting row of the key (which is then hinted). The key's :class:`ConcurrencyKey` row is
locked while slots are counted, so two transactions never hand out the same slot; a
worker that dies keeps its slot only until its attempt times out. A retry keeps its
slot through its backoff: the slot is freed when the activity's last attempt ends.
Key rows are locked in sorted order (``lock_keys``) so that two transactions taking several
keys cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from .. import _dispatch
from ..conf import dw_settings
from ..models import ActivityStatus, ActivityTask, ConcurrencyKey, RateLimitedStart

_OPEN = [ActivityStatus.SCHEDULED, ActivityStatus.STARTED]


def _lock_key(key: str) -> None:
    ConcurrencyKey.objects.select_for_update().get_or_create(key=key)


def lock_keys(keys: Iterable[str]) -> None:
    """Lock these key rows now, in sorted order (later locks of them are no-ops)."""
    for key in sorted(set(keys)):
        _lock_key(key)


def _holders(key: str) -> int:
    return ActivityTask.objects.filter(limit_key=key, holds_slot=True, status__in=_OPEN).count()


def take_if_free(key: str, limit: int) -> bool:
    """Whether a new row of ``key`` may hold a slot now (it is then counted as a holder)."""
    _lock_key(key)
    return _holders(key) < limit


def hand_over(keys: Iterable[str], now: datetime) -> int:
    """Give the free slots of ``keys`` to their oldest waiting rows, and hint those."""
    granted = 0
    for key in sorted(set(keys)):
        if not key:
            continue
        _lock_key(key)
        free = None
        waiting = ActivityTask.objects.filter(
            limit_key=key, holds_slot=False, status=ActivityStatus.SCHEDULED
        ).order_by("scheduled_time", "id")
        for row in waiting.select_for_update(skip_locked=True)[:100]:
            if free is None:
                # The limit the waiting rows were scheduled with (a deploy may change it).
                free = (row.concurrency_limit or 1) - _holders(key)
            if free <= 0:
                break
            row.holds_slot = True
            row.dispatched_at = now
            row.save(update_fields=["holds_slot", "dispatched_at"])
            _dispatch.activity_task(row.pk, row.attempt, row.task_queue)
            free -= 1
            granted += 1
    return granted


def keys_with_waiters(limit: int) -> list[str]:
    """Keys that have waiting rows (the tick re-offers their slots, in case a hand-over was
    lost with a crash between a release and its commit)."""
    return list(
        ActivityTask.objects.filter(holds_slot=False, status=ActivityStatus.SCHEDULED)
        .exclude(limit_key="")
        .values_list("limit_key", flat=True)
        .distinct()[:limit]
    )


# --- rate limits (``activity.RateLimit``) ------------------------------------------------------


def admit_start(activity: ActivityTask, now: datetime) -> datetime | None:
    """Count this attempt's start against its rate limit: None if it may start now (the
    start is recorded), else when the window will have room."""
    if not activity.rate_key or not activity.rate_limit or not activity.rate_period:
        return None
    key, period = activity.rate_key, timedelta(seconds=activity.rate_period)
    _lock_key(f"rate:{key}")
    # Starts are kept a while past their window (to see what happened), then pruned here.
    RateLimitedStart.objects.filter(
        key=key, started_at__lte=now - max(period * 10, timedelta(minutes=1))
    ).delete()
    recent = list(
        RateLimitedStart.objects.filter(key=key, started_at__gt=now - period)
        .order_by("-started_at")
        .values_list("started_at", flat=True)[: activity.rate_limit]
    )
    if len(recent) < activity.rate_limit:
        RateLimitedStart.objects.create(key=key, started_at=now)
        return None
    return recent[-1] + period  # the oldest of the last ``limit`` starts leaves the window


def delay_until(activity: ActivityTask, moment: datetime, now: datetime) -> None:
    """Put a rate-limited attempt back to wait, durably, until ``moment``."""
    activity.status = ActivityStatus.SCHEDULED
    activity.started_time = None
    activity.worker_identity = ""
    activity.dispatch_after = moment
    delay = moment - now
    fast = delay <= dw_settings.COUNTDOWN_FAST_PATH_MAX
    activity.dispatched_at = moment if fast else None
    if fast:
        _dispatch.activity_task(activity.pk, activity.attempt, activity.task_queue, delay)
