"""How one activity is to run, as the workflow code asked: one value, checked once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_TIMEOUTS = (
    "start_to_close_timeout",
    "schedule_to_close_timeout",
    "schedule_to_start_timeout",
    "heartbeat_timeout",
)


@dataclass(frozen=True)
class ActivityOptions:
    """The options of one ``workflow.start_activity`` call.

    Timeouts are in seconds, as ActivityTaskScheduled records them; ``None``
    leaves the default (see ``workflow.execute_activity``). ``retry_policy`` is
    ``RetryPolicy.to_dict()``. ``activity_id`` is the id the code asked for;
    without one the activity is known by its sequence number in the run.

    Raises:
        ValueError: a timeout is not positive.
    """

    task_queue: str | None = None
    start_to_close_timeout: float | None = None
    schedule_to_close_timeout: float | None = None
    schedule_to_start_timeout: float | None = None
    heartbeat_timeout: float | None = None
    retry_policy: dict[str, Any] | None = None
    activity_id: str | None = None

    def __post_init__(self) -> None:
        for name in _TIMEOUTS:
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive, got {value!r} seconds.")
