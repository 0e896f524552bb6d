"""Prompt wake-ups for callers waiting on the database (results, updates).

On PostgreSQL, writers ``NOTIFY`` inside their transaction (delivered on
commit) and one listener thread per process wakes the waiting threads, which
then re-read the database. Elsewhere (SQLite) waiters poll with a backoff that
grows to one second. Either way the database stays the truth: a notification
only says "look again", and waiters re-check on a slow timer in case one is lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import connections

logger = logging.getLogger("durable_workflows.notify")

CHANNEL = "durable_workflows"
T = TypeVar("T")

#: How long a waiter sleeps between re-checks when notifications are available.
NOTIFIED_RECHECK_SECONDS = 2.0
#: Backoff bounds for polling when they are not.
POLL_MIN_SECONDS = 0.02
POLL_MAX_SECONDS = 1.0


def notify(key: str, using: str = "default") -> None:
    """Wake waiters on ``key`` once the current transaction commits (PostgreSQL only)."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, key])


class _Listener:
    """One LISTEN connection per process, fanning notifications out to waiting threads."""

    def __init__(self, connect_params: dict[str, Any]) -> None:
        self._params = connect_params
        self._waiters: dict[str, set[threading.Event]] = defaultdict(set)
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="durable-workflows-listener", daemon=True
        )
        self._thread.start()
        self._ready.wait(timeout=5)

    @property
    def healthy(self) -> bool:
        return self._ready.is_set()

    @contextmanager
    def subscribe(self, keys: Sequence[str]) -> Iterator[threading.Event]:
        event = threading.Event()
        with self._lock:
            for key in keys:
                self._waiters[key].add(event)
        try:
            yield event
        finally:
            with self._lock:
                for key in keys:
                    waiters = self._waiters.get(key)
                    if waiters is not None:
                        waiters.discard(event)
                        if not waiters:
                            del self._waiters[key]

    def _wake(self, key: str) -> None:
        with self._lock:
            events = list(self._waiters.get(key, ()))
        for event in events:
            event.set()

    def _wake_all(self) -> None:
        with self._lock:
            events = [e for waiters in self._waiters.values() for e in waiters]
        for event in events:
            event.set()

    def _run(self) -> None:
        import psycopg

        while True:
            try:
                with psycopg.connect(**self._params, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._ready.set()
                    # Anything committed while we were (re)connecting: let waiters re-check.
                    self._wake_all()
                    for notification in conn.notifies():
                        self._wake(notification.payload)
            except Exception:
                self._ready.clear()
                logger.warning(
                    "Notification listener lost its connection; retrying.", exc_info=True
                )
                time.sleep(1.0)


_listeners: dict[str, _Listener] = {}
_listeners_lock = threading.Lock()


def _listener(using: str) -> _Listener | None:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with _listeners_lock:
        listener = _listeners.get(using)
        if listener is None:
            params = dict(connection.get_connection_params())
            params.pop("cursor_factory", None)
            params.pop("context", None)
            listener = _listeners[using] = _Listener(params)
        return listener


def wait_for(
    keys: Sequence[str],
    check: Callable[[], T | None],
    timeout: float | None,
    using: str = "default",
) -> T | None:
    """Return ``check()`` as soon as it is not None, or None once ``timeout`` seconds pass.

    ``keys`` are the notifications that may make ``check()`` change its answer.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    listener = _listener(using)
    if listener is not None and listener.healthy:
        with listener.subscribe(keys) as event:
            while True:
                value = check()
                if value is not None:
                    return value
                pause = _remaining(deadline, NOTIFIED_RECHECK_SECONDS)
                if pause <= 0:
                    return None
                event.wait(pause)
                event.clear()
    pause = POLL_MIN_SECONDS
    while True:
        value = check()
        if value is not None:
            return value
        sleep_for = _remaining(deadline, pause)
        if sleep_for <= 0:
            return None
        time.sleep(sleep_for)
        pause = min(pause * 2, POLL_MAX_SECONDS)


def _remaining(deadline: float | None, cap: float) -> float:
    if deadline is None:
        return cap
    return min(cap, deadline - time.monotonic())
