"""``DURABLE_WORKFLOWS`` settings: one typed property per key, with its default.

Unknown keys are an error, so a typo is caught rather than silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

DEFAULTS: dict[str, Any] = {
    "DEFAULT_TASK_QUEUE": "default",
    "DEFAULT_START_TO_CLOSE_TIMEOUT": timedelta(minutes=10),
    "TICK_INTERVAL": 1.0,
    "MAX_PAYLOAD_BYTES": 2 * 1024 * 1024,
    "MAX_PAYLOAD_DEPTH": 64,
    "ALLOWED_TASK_QUEUES": None,  # None: any well-formed name
    "HISTORY_RETENTION": timedelta(days=30),
    "PAYLOAD_CODEC": None,  # read by durable_workflows.codec
    "VISIBLE_RUNS": None,  # dotted path of (queryset, user) -> queryset; None: every run
    # Not in the public table: how the machinery paces itself.
    "REDRIVE_AFTER": timedelta(seconds=10),
    "COUNTDOWN_FAST_PATH_MAX": timedelta(seconds=60),
    "TICK_BATCH_SIZE": 500,
    "MAX_CACHED_RUNS": 1000,  # a worker process's sticky cache of instances; 0 turns it off
    "MAX_EAGER_ACTIVITIES": 3,  # activities a workflow task may keep for its own worker
    # History length from which workflow.info().is_continue_as_new_suggested() is True.
    "CONTINUE_AS_NEW_SUGGESTED_AFTER": 10_000,
    "WORKFLOW_TASK_RETRY_MAX_INTERVAL": timedelta(seconds=10),
}


#: The deepest nesting MAX_PAYLOAD_DEPTH may allow: payloads are converted recursively
#: (up to two frames a level), and the whole stack must stay under Python's limit of 1000.
MAX_PAYLOAD_DEPTH_CEILING = 200


def _as_count(value: Any, key: str, *, low: int = 0, high: int | None = None) -> int:
    """A whole number from ``low`` (to ``high``), or ImproperlyConfigured naming the key."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        bounds = f">= {low}" if high is None else f"from {low} to {high}"
        raise ImproperlyConfigured(
            f"DURABLE_WORKFLOWS[{key!r}] must be a whole number {bounds}, got {value!r}."
        )
    return value


def _as_timedelta(value: Any, key: str) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=value)
    raise ImproperlyConfigured(
        f"DURABLE_WORKFLOWS[{key!r}] must be a timedelta or a number of seconds, got {value!r}."
    )


class Settings:
    """Read lazily from ``settings.DURABLE_WORKFLOWS`` so tests can override it."""

    @property
    def _user(self) -> dict[str, Any]:
        user = getattr(django_settings, "DURABLE_WORKFLOWS", {}) or {}
        unknown = set(user) - set(DEFAULTS)
        if unknown:
            raise ImproperlyConfigured(
                f"Unknown DURABLE_WORKFLOWS key(s): {', '.join(sorted(unknown))}. "
                f"Known keys: {', '.join(sorted(DEFAULTS))}."
            )
        return user

    def _get(self, key: str) -> Any:
        return self._user.get(key, DEFAULTS[key])

    @property
    def DEFAULT_TASK_QUEUE(self) -> str:  # noqa: N802 - settings are upper case
        return str(self._get("DEFAULT_TASK_QUEUE"))

    @property
    def DEFAULT_START_TO_CLOSE_TIMEOUT(self) -> timedelta:  # noqa: N802
        value = _as_timedelta(
            self._get("DEFAULT_START_TO_CLOSE_TIMEOUT"), "DEFAULT_START_TO_CLOSE_TIMEOUT"
        )
        if value <= timedelta(0):
            raise ImproperlyConfigured(
                "DURABLE_WORKFLOWS['DEFAULT_START_TO_CLOSE_TIMEOUT'] must be positive, "
                f"got {value}."
            )
        return value

    @property
    def TICK_INTERVAL(self) -> float:  # noqa: N802
        value = self._get("TICK_INTERVAL")
        return _as_timedelta(value, "TICK_INTERVAL").total_seconds()

    @property
    def MAX_PAYLOAD_BYTES(self) -> int:  # noqa: N802
        return int(self._get("MAX_PAYLOAD_BYTES"))

    @property
    def MAX_PAYLOAD_DEPTH(self) -> int:  # noqa: N802
        """How deeply lists and dicts may nest in one payload (``[]`` is one level)."""
        return _as_count(
            self._get("MAX_PAYLOAD_DEPTH"),
            "MAX_PAYLOAD_DEPTH",
            low=1,
            high=MAX_PAYLOAD_DEPTH_CEILING,
        )

    @property
    def ALLOWED_TASK_QUEUES(self) -> frozenset[str] | None:  # noqa: N802
        """The task queues a run may be started on (with DEFAULT_TASK_QUEUE); None: any."""
        value = self._get("ALLOWED_TASK_QUEUES")
        if value is None:
            return None
        if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
            raise ImproperlyConfigured(
                "DURABLE_WORKFLOWS['ALLOWED_TASK_QUEUES'] must be None or a list of queue "
                f"names, got {value!r}."
            )
        if not all(isinstance(name, str) and name for name in value):
            raise ImproperlyConfigured(
                "DURABLE_WORKFLOWS['ALLOWED_TASK_QUEUES'] must hold non-empty strings, "
                f"got {value!r}."
            )
        return frozenset(value)

    @property
    def HISTORY_RETENTION(self) -> timedelta | None:  # noqa: N802
        """How long closed runs are kept; ``None`` keeps them forever."""
        value = self._get("HISTORY_RETENTION")
        return None if value is None else _as_timedelta(value, "HISTORY_RETENTION")

    @property
    def PAYLOAD_CODEC(self) -> Any:  # noqa: N802
        """The codec object (loaded and checked), or None."""
        from .codec import configured_codec

        self._user  # noqa: B018 - validates the keys
        return configured_codec()

    @property
    def VISIBLE_RUNS(self) -> Callable[[Any, Any], Any] | None:  # noqa: N802
        """The object-level access hook, ``(queryset, user) -> queryset``, or None."""
        value = self._get("VISIBLE_RUNS")
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = import_string(value)
            except ImportError as exc:
                raise ImproperlyConfigured(
                    f"DURABLE_WORKFLOWS['VISIBLE_RUNS'] cannot be imported: {exc}"
                ) from exc
        if not callable(value):
            raise ImproperlyConfigured(
                "DURABLE_WORKFLOWS['VISIBLE_RUNS'] must be the dotted path of a callable "
                f"(queryset, user) -> queryset, got {value!r}."
            )
        hook: Callable[[Any, Any], Any] = value
        return hook

    @property
    def REDRIVE_AFTER(self) -> timedelta:  # noqa: N802
        return _as_timedelta(self._get("REDRIVE_AFTER"), "REDRIVE_AFTER")

    @property
    def COUNTDOWN_FAST_PATH_MAX(self) -> timedelta:  # noqa: N802
        return _as_timedelta(self._get("COUNTDOWN_FAST_PATH_MAX"), "COUNTDOWN_FAST_PATH_MAX")

    @property
    def TICK_BATCH_SIZE(self) -> int:  # noqa: N802
        return int(self._get("TICK_BATCH_SIZE"))

    @property
    def MAX_EAGER_ACTIVITIES(self) -> int:  # noqa: N802
        """How many activities one workflow task may run in its own worker (0: none)."""
        return _as_count(self._get("MAX_EAGER_ACTIVITIES"), "MAX_EAGER_ACTIVITIES")

    @property
    def CONTINUE_AS_NEW_SUGGESTED_AFTER(self) -> int:  # noqa: N802
        """Events after which a run is told it should continue as new."""
        return _as_count(
            self._get("CONTINUE_AS_NEW_SUGGESTED_AFTER"), "CONTINUE_AS_NEW_SUGGESTED_AFTER"
        )

    @property
    def MAX_CACHED_RUNS(self) -> int:  # noqa: N802
        """How many running instances a worker process keeps between tasks (0: none)."""
        return _as_count(self._get("MAX_CACHED_RUNS"), "MAX_CACHED_RUNS")

    @property
    def WORKFLOW_TASK_RETRY_MAX_INTERVAL(self) -> timedelta:  # noqa: N802
        return _as_timedelta(
            self._get("WORKFLOW_TASK_RETRY_MAX_INTERVAL"), "WORKFLOW_TASK_RETRY_MAX_INTERVAL"
        )


dw_settings = Settings()
