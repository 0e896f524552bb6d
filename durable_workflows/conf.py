"""``DURABLE_WORKFLOWS`` settings: one typed property per key, with its default.

Unknown keys are an error, so a typo is caught rather than silently ignored.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

DEFAULTS: dict[str, Any] = {
    "DEFAULT_TASK_QUEUE": "default",
    "DEFAULT_START_TO_CLOSE_TIMEOUT": timedelta(minutes=10),
    "TICK_INTERVAL": 1.0,
    "MAX_PAYLOAD_BYTES": 2 * 1024 * 1024,
    "HISTORY_RETENTION": timedelta(days=30),
    "PAYLOAD_CODEC": None,  # read by durable_workflows.codec
    # Not in the public table: how the machinery paces itself.
    "REDRIVE_AFTER": timedelta(seconds=10),
    "COUNTDOWN_FAST_PATH_MAX": timedelta(seconds=60),
    "TICK_BATCH_SIZE": 500,
    "WORKFLOW_TASK_RETRY_MAX_INTERVAL": timedelta(seconds=10),
}


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
    def REDRIVE_AFTER(self) -> timedelta:  # noqa: N802
        return _as_timedelta(self._get("REDRIVE_AFTER"), "REDRIVE_AFTER")

    @property
    def COUNTDOWN_FAST_PATH_MAX(self) -> timedelta:  # noqa: N802
        return _as_timedelta(self._get("COUNTDOWN_FAST_PATH_MAX"), "COUNTDOWN_FAST_PATH_MAX")

    @property
    def TICK_BATCH_SIZE(self) -> int:  # noqa: N802
        return int(self._get("TICK_BATCH_SIZE"))

    @property
    def WORKFLOW_TASK_RETRY_MAX_INTERVAL(self) -> timedelta:  # noqa: N802
        return _as_timedelta(
            self._get("WORKFLOW_TASK_RETRY_MAX_INTERVAL"), "WORKFLOW_TASK_RETRY_MAX_INTERVAL"
        )


dw_settings = Settings()
