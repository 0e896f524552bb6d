"""How one activity or one run is to start, as the caller asked: one value, checked once."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ..common import (
    ChildWorkflowCancellationType,
    ParentClosePolicy,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from ..exceptions import InvalidArgumentError

#: A task queue name: 1 to 100 characters, letters, digits and ``_ . - : @``, starting with
#: a letter, a digit or ``_``. Celery and the brokers take it as it is, so no ``/``, spaces
#: or control characters.
TASK_QUEUE_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,99}")

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
    #: Never run by the scheduling worker right after its task (Temporal's option).
    disable_eager_execution: bool = False
    #: ``activity.Concurrency`` of the activity: its limit and the slot key's value.
    concurrency_limit: int | None = None
    concurrency_key: str | None = None
    #: ``activity.RateLimit`` of the activity: starts per period (seconds), and the key's value.
    rate_limit: int | None = None
    rate_period: float | None = None
    rate_key: str | None = None

    def __post_init__(self) -> None:
        if self.task_queue is not None and not TASK_QUEUE_PATTERN.fullmatch(self.task_queue):
            raise ValueError(
                f"task_queue {self.task_queue!r} is not a valid name: 1 to 100 letters, digits "
                "or '_.-:@', starting with a letter, a digit or '_'."
            )
        for name in _TIMEOUTS:
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive, got {value!r} seconds.")


@dataclass(frozen=True)
class StartOptions:
    """How one run is to start, as the caller asked (client, API, CLI, schedule).

    ``task_queue`` None means the setting DEFAULT_TASK_QUEUE. ``search_attributes``
    and ``memo`` are JSON-ready once the service has encoded them.

    Raises:
        InvalidArgumentError: ``execution_timeout`` is not positive.
    """

    workflow_id: str
    task_queue: str | None = None
    execution_timeout: timedelta | None = None
    id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE
    search_attributes: dict[str, Any] = field(default_factory=dict)
    memo: dict[str, Any] = field(default_factory=dict)
    #: Five crontab fields: a cron workflow (each run starts at the next firing).
    cron_schedule: str | None = None
    id_conflict_policy: WorkflowIDConflictPolicy = WorkflowIDConflictPolicy.FAIL

    def __post_init__(self) -> None:
        if self.execution_timeout is not None and self.execution_timeout <= timedelta(0):
            raise InvalidArgumentError("execution_timeout must be positive.")
        # Accept the policy's value as well as the member ("REJECT_DUPLICATE").
        object.__setattr__(self, "id_reuse_policy", WorkflowIDReusePolicy(self.id_reuse_policy))


@dataclass(frozen=True)
class ChildWorkflowOptions:
    """The options of one ``workflow.start_child_workflow`` call (timeouts in seconds).

    ``task_queue`` None: the parent's. ``memo`` and ``search_attributes`` are JSON-ready.

    Raises:
        ValueError: a bad task queue name or a timeout that is not positive.
    """

    workflow_id: str
    task_queue: str | None = None
    execution_timeout: float | None = None
    id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE
    parent_close_policy: ParentClosePolicy = ParentClosePolicy.TERMINATE
    cancellation_type: ChildWorkflowCancellationType = (
        ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED
    )
    memo: dict[str, Any] | None = None
    search_attributes: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not self.workflow_id or len(self.workflow_id) > 255:
            raise ValueError("A child workflow id must be 1 to 255 characters.")
        if self.task_queue is not None and not TASK_QUEUE_PATTERN.fullmatch(self.task_queue):
            raise ValueError(
                f"task_queue {self.task_queue!r} is not a valid name: 1 to 100 letters, digits "
                "or '_.-:@', starting with a letter, a digit or '_'."
            )
        if self.execution_timeout is not None and self.execution_timeout <= 0:
            raise ValueError(
                f"execution_timeout must be positive, got {self.execution_timeout!r} seconds."
            )
