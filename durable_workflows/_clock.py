"""The time every part of the engine room reads: Django's clock, plus any skipped time.

Only :class:`durable_workflows.testing.WorkflowEnvironment` skips time, to run a month of
timers in a test in milliseconds; in production :func:`now` is ``timezone.now()``.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from django.utils import timezone

_lock = threading.Lock()
_skipped = timedelta(0)


def now() -> datetime:
    return timezone.now() + _skipped


def skip_to(moment: datetime) -> None:
    """Move the clock forward so that :func:`now` is at least ``moment`` (never backwards)."""
    global _skipped
    with _lock:
        ahead = moment - now()
        if ahead > timedelta(0):
            _skipped += ahead


def reset() -> None:
    global _skipped
    with _lock:
        _skipped = timedelta(0)
