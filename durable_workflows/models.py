"""Durable state: executions, their append-only histories, pending activities and timers.

Only ``_store`` writes these. Rows other than ``HistoryEvent`` are *mutable
state* derived from the history (as Temporal's mutable state is): they make the
tick's queries cheap ("which timers are due?") without scanning histories.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q

from .fields import EventAttributesField, PayloadField


class WorkflowStatus(models.TextChoices):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    TERMINATED = "TERMINATED"
    TIMED_OUT = "TIMED_OUT"
    CONTINUED_AS_NEW = "CONTINUED_AS_NEW"


class WorkflowExecution(models.Model):
    """One run of a workflow. At most one run per workflow id is RUNNING (a database constraint)."""

    workflow_id = models.CharField(max_length=255)
    run_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    workflow_type = models.CharField(max_length=255, db_index=True)
    task_queue = models.CharField(max_length=255, db_index=True)
    status = models.CharField(
        max_length=20, choices=WorkflowStatus.choices, default=WorkflowStatus.RUNNING
    )
    input = PayloadField(default=list, blank=True)
    result = PayloadField(null=True, blank=True)
    failure = models.JSONField(null=True, blank=True)
    start_time = models.DateTimeField(db_index=True)
    close_time = models.DateTimeField(null=True, blank=True)
    execution_timeout = models.FloatField(null=True, blank=True, help_text="Seconds.")
    expiration_time = models.DateTimeField(null=True, blank=True)
    history_length = models.PositiveIntegerField(default=0)
    search_attributes = models.JSONField(default=dict, blank=True)
    memo = PayloadField(default=dict, blank=True)

    # Workflow task state: a task is pending when events arrived that the code has not seen.
    task_pending = models.BooleanField(default=False)
    task_dispatch_after = models.DateTimeField(null=True, blank=True)
    task_dispatched_at = models.DateTimeField(null=True, blank=True)
    task_attempt = models.PositiveIntegerField(default=0)
    task_failure = models.JSONField(null=True, blank=True)

    # Lineage: the run this one continued (continue-as-new), and the parent that started it.
    continued_run_id = models.UUIDField(null=True, blank=True, db_index=True)
    parent_workflow_id = models.CharField(max_length=255, blank=True, default="")
    parent_run_id = models.UUIDField(null=True, blank=True, db_index=True)
    #: The parent's StartChildWorkflowExecutionInitiated event: its close is reported to it.
    parent_initiated_event_id = models.PositiveIntegerField(null=True, blank=True)
    parent_close_policy = models.CharField(max_length=20, blank=True, default="")
    #: A cron workflow's schedule: when it closes (not cancelled or terminated), the next
    #: run of the id is started, its first task due at the next firing.
    cron_schedule = models.CharField(max_length=100, blank=True, default="")
    #: Whether this run ever started a child: only then does its close look for children.
    started_children = models.BooleanField(default=False)

    class Meta:
        ordering = ["-start_time", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workflow_id"],
                condition=Q(status="RUNNING"),
                name="dw_one_running_run_per_workflow_id",
            ),
        ]
        indexes = [
            models.Index(fields=["workflow_id", "-start_time"], name="dw_exec_wfid_start"),
            models.Index(fields=["status", "-start_time"], name="dw_exec_status_start"),
            models.Index(
                fields=["task_dispatch_after"],
                condition=Q(task_pending=True),
                name="dw_exec_pending_task",
            ),
            models.Index(
                fields=["expiration_time"],
                condition=Q(status="RUNNING"),
                name="dw_exec_expiration",
            ),
            models.Index(
                fields=["close_time"],
                condition=~Q(status="RUNNING"),
                name="dw_exec_closed",
            ),
            # Serves search attribute equality (``@>`` containment) on PostgreSQL; the
            # migration skips it on other databases (see 0005).
            GinIndex(
                fields=["search_attributes"],
                opclasses=["jsonb_path_ops"],
                name="dw_exec_search_attrs",
            ),
        ]
        permissions = [
            ("signal_workflowexecution", "Can signal workflow executions"),
            ("query_workflowexecution", "Can query workflow executions"),
            ("update_workflowexecution", "Can send updates to workflow executions"),
            ("cancel_workflowexecution", "Can cancel workflow executions"),
            ("terminate_workflowexecution", "Can terminate workflow executions"),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_type} {self.workflow_id} ({self.status})"

    @property
    def is_running(self) -> bool:
        return self.status == WorkflowStatus.RUNNING


class HistoryEvent(models.Model):
    """One event of a run's history. Append-only; ``event_id`` is dense per run, from 1."""

    execution = models.ForeignKey(
        WorkflowExecution, on_delete=models.CASCADE, related_name="events"
    )
    event_id = models.PositiveIntegerField()
    event_type = models.CharField(max_length=64)
    timestamp = models.DateTimeField()
    attributes = EventAttributesField(default=dict, blank=True)

    class Meta:
        ordering = ["execution_id", "event_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["execution", "event_id"], name="dw_one_event_per_id_per_run"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.event_type}"


class ActivityStatus(models.TextChoices):
    SCHEDULED = "SCHEDULED"  # waiting for a worker (or for its retry backoff to pass)
    STARTED = "STARTED"  # an attempt is running
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    CANCELED = "CANCELED"


class ActivityTask(models.Model):
    """A scheduled activity and the state of its current attempt.

    As in Temporal, attempts do not each write events: this row carries the
    attempt number, the last failure and heartbeat details until the final outcome.
    """

    execution = models.ForeignKey(
        WorkflowExecution, on_delete=models.CASCADE, related_name="activities"
    )
    scheduled_event_id = models.PositiveIntegerField()
    activity_id = models.CharField(max_length=255)
    activity_type = models.CharField(max_length=255)
    task_queue = models.CharField(max_length=255)
    input = PayloadField(default=list, blank=True)
    status = models.CharField(
        max_length=20, choices=ActivityStatus.choices, default=ActivityStatus.SCHEDULED
    )
    attempt = models.PositiveIntegerField(default=1)
    scheduled_time = models.DateTimeField()
    attempt_scheduled_time = models.DateTimeField()
    started_time = models.DateTimeField(null=True, blank=True)
    start_to_close_timeout = models.FloatField(null=True, blank=True)
    schedule_to_close_timeout = models.FloatField(null=True, blank=True)
    schedule_to_start_timeout = models.FloatField(null=True, blank=True)
    heartbeat_timeout = models.FloatField(null=True, blank=True)
    retry_policy = models.JSONField(default=dict, blank=True)
    dispatch_after = models.DateTimeField()
    dispatched_at = models.DateTimeField(null=True, blank=True)
    timeout_at = models.DateTimeField(null=True, blank=True)
    last_failure = models.JSONField(null=True, blank=True)
    heartbeat_details = PayloadField(null=True, blank=True)
    last_heartbeat_time = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    worker_identity = models.CharField(max_length=255, blank=True, default="")
    #: ``activity.Concurrency``: the slot key (type and key value) and the limit it had when
    #: scheduled; an attempt runs only while it holds one of the key's slots.
    limit_key = models.CharField(max_length=255, blank=True, default="")
    concurrency_limit = models.PositiveIntegerField(null=True, blank=True)
    holds_slot = models.BooleanField(default=False)
    #: ``activity.RateLimit``: its key, and at most ``rate_limit`` starts per ``rate_period`` s.
    rate_key = models.CharField(max_length=255, blank=True, default="")
    rate_limit = models.PositiveIntegerField(null=True, blank=True)
    rate_period = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["execution_id", "scheduled_event_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["execution", "scheduled_event_id"], name="dw_one_activity_per_schedule"
            ),
        ]
        indexes = [
            models.Index(
                fields=["dispatch_after"],
                condition=Q(status="SCHEDULED"),
                name="dw_activity_dispatch",
            ),
            models.Index(
                fields=["timeout_at"],
                condition=Q(status__in=["SCHEDULED", "STARTED"]),
                name="dw_activity_timeout",
            ),
            models.Index(
                fields=["limit_key", "scheduled_time", "id"],
                condition=Q(status__in=["SCHEDULED", "STARTED"]) & ~Q(limit_key=""),
                name="dw_activity_slots",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.activity_type} #{self.activity_id} attempt {self.attempt} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in (ActivityStatus.SCHEDULED, ActivityStatus.STARTED)


class TimerStatus(models.TextChoices):
    PENDING = "PENDING"
    FIRED = "FIRED"
    CANCELED = "CANCELED"


class Timer(models.Model):
    """A durable timer: a due time in a row, fired by a countdown message or the tick."""

    execution = models.ForeignKey(
        WorkflowExecution, on_delete=models.CASCADE, related_name="timers"
    )
    started_event_id = models.PositiveIntegerField()
    timer_id = models.CharField(max_length=255)
    fire_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=TimerStatus.choices, default=TimerStatus.PENDING
    )

    class Meta:
        ordering = ["fire_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["execution", "started_event_id"], name="dw_one_timer_per_start"
            ),
        ]
        indexes = [
            models.Index(fields=["fire_at"], condition=Q(status="PENDING"), name="dw_timer_due"),
        ]

    def __str__(self) -> str:
        return f"timer {self.timer_id} at {self.fire_at} ({self.status})"


class ExternalRequestKind(models.TextChoices):
    SIGNAL = "SIGNAL"
    CANCEL = "CANCEL"
    TERMINATE = "TERMINATE"


class ExternalRequestStatus(models.TextChoices):
    PENDING = "PENDING"  # recorded by the source run; not yet in the target's history
    DELIVERED = "DELIVERED"  # in the target's history (or the target was not found)
    DONE = "DONE"  # and the outcome is in the source's history


class ExternalRequest(models.Model):
    """A signal, cancel or terminate request from one run to another: an outbox row.

    Written with the source's command event, delivered after commit (the tick retries),
    in two transactions that each lock one run: the target's (append, and mark DELIVERED:
    so exactly once), then the source's (record the outcome). No transaction holds two
    runs' locks, so requests between runs cannot deadlock.
    """

    execution = models.ForeignKey(
        WorkflowExecution, on_delete=models.CASCADE, related_name="external_requests"
    )
    #: The source's ...Initiated event; None for what a parent's close policy sends.
    initiated_event_id = models.PositiveIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=10, choices=ExternalRequestKind.choices)
    workflow_id = models.CharField(max_length=255)
    run_id = models.UUIDField(null=True, blank=True)
    child_workflow_only = models.BooleanField(default=False)
    signal_name = models.CharField(max_length=255, blank=True, default="")
    input = PayloadField(default=list, blank=True)
    reason = models.TextField(blank=True, default="")
    status = models.CharField(
        max_length=10,
        choices=ExternalRequestStatus.choices,
        default=ExternalRequestStatus.PENDING,
    )
    #: Why it could not be delivered ("" once delivered).
    failure_cause = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField()
    dispatched_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["execution", "initiated_event_id"],
                condition=Q(initiated_event_id__isnull=False),
                name="dw_one_request_per_initiated_event",
            ),
        ]
        indexes = [
            models.Index(
                fields=["dispatched_at"],
                condition=~Q(status="DONE"),
                name="dw_request_undelivered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.workflow_id} ({self.status})"


class ConcurrencyKey(models.Model):
    """One row per concurrency key: locked while its slots are counted and handed over."""

    key = models.CharField(max_length=255, unique=True)

    def __str__(self) -> str:
        return self.key


class RateLimitedStart(models.Model):
    """One start of an attempt of a rate-limited activity: the window's count is of these."""

    key = models.CharField(max_length=255)
    started_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["key", "started_at"], name="dw_rate_window")]

    def __str__(self) -> str:
        return f"{self.key} at {self.started_at}"
