"""Request and response shapes. Requests are checked here; meaning is checked by the services.

Request serializers are only ever given data, never an instance: ``Serializer[None]``.
Response serializers read fields by name from whatever they are given (a model row, a
description, a dict): ``Serializer[object]``.
"""

from __future__ import annotations

from typing import Any, Protocol

from rest_framework import serializers

from .. import _services
from .._services.arguments import MAX_TIMEOUT
from ..common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from ..exceptions import InvalidArgumentError
from ..models import WorkflowStatus

#: Ten years, as every caller: longer timeouts are a mistake, and would overflow date arithmetic.
MAX_TIMEOUT_SECONDS = MAX_TIMEOUT.total_seconds()
#: How long an update request waits for its handler unless the request says otherwise.
DEFAULT_UPDATE_TIMEOUT = 60.0
MAX_UPDATE_TIMEOUT = 600.0


def ANY() -> serializers.JSONField:  # noqa: N802 - reads as a type in the field lists
    """Any JSON value, null included."""
    return serializers.JSONField(allow_null=True)


def _args_field(help_text: str) -> serializers.ListField:
    return serializers.ListField(child=ANY(), required=False, default=list, help_text=help_text)


# --- requests ---------------------------------------------------------------------------------


class StartWorkflowRequest(serializers.Serializer[None]):
    workflow_type = serializers.CharField(max_length=255, help_text="A registered workflow type.")
    workflow_id = serializers.CharField(max_length=255, help_text="Your id for the workflow.")
    args = _args_field("Arguments of the workflow's run method, in order.")
    task_queue = serializers.CharField(
        max_length=100,
        required=False,
        trim_whitespace=False,  # refused as it is, not silently changed
        help_text="Defaults to DEFAULT_TASK_QUEUE. Letters, digits and `_.-:@`, up to 100 "
        "characters; one of ALLOWED_TASK_QUEUES if that setting is set.",
    )
    execution_timeout = serializers.FloatField(
        required=False,
        allow_null=True,
        min_value=0.001,
        max_value=MAX_TIMEOUT_SECONDS,
        help_text="Seconds after which the run closes as TIMED_OUT.",
    )
    id_reuse_policy = serializers.ChoiceField(
        choices=[p.value for p in WorkflowIDReusePolicy],
        default=WorkflowIDReusePolicy.ALLOW_DUPLICATE.value,
        help_text="Whether the id of a closed run may be used again.",
    )
    id_conflict_policy = serializers.ChoiceField(
        choices=[p.value for p in WorkflowIDConflictPolicy],
        default=WorkflowIDConflictPolicy.FAIL.value,
        help_text="When the id is running: FAIL (409), USE_EXISTING (describe that run) or "
        "TERMINATE_EXISTING (terminate it and start this one).",
    )
    search_attributes = serializers.DictField(
        child=ANY(), required=False, help_text="Values to filter runs by."
    )
    memo = serializers.DictField(
        child=ANY(), required=False, help_text="Free-form data kept with the run."
    )


class ArgsRequest(serializers.Serializer[None]):
    args = _args_field("Arguments of the handler, in order.")


class UpdateRequest(ArgsRequest):
    timeout = serializers.FloatField(
        required=False,
        default=DEFAULT_UPDATE_TIMEOUT,
        min_value=0.001,
        max_value=MAX_UPDATE_TIMEOUT,
        help_text="Seconds to wait for the handler's result; 408 after that (the update "
        "stays recorded and still runs).",
    )


class ReasonRequest(serializers.Serializer[None]):
    reason = serializers.CharField(max_length=10_000, required=False, default="", allow_blank=True)


class CompleteActivityRequest(serializers.Serializer[None]):
    result = serializers.JSONField(
        required=False,
        default=None,
        allow_null=True,
        help_text="What the workflow's await of the activity returns (null if left out).",
    )


class ActivityErrorBody(serializers.Serializer[None]):
    message = serializers.CharField(max_length=10_000, allow_blank=True, trim_whitespace=False)
    type = serializers.CharField(
        max_length=255,
        required=False,
        allow_null=True,
        default=None,
        help_text="The error's type, matched by the retry policy's non_retryable_error_types.",
    )
    non_retryable = serializers.BooleanField(
        required=False, default=False, help_text="True: no retry, the activity fails now."
    )
    details = _args_field("Values carried with the failure (ApplicationError details).")


class FailActivityRequest(serializers.Serializer[None]):
    error = ActivityErrorBody()
    last_heartbeat_details = _args_field(
        "Recorded as the last heartbeat first, so a retry resumes from them."
    )


class HeartbeatActivityRequest(serializers.Serializer[None]):
    details = _args_field("Progress, seen by a retry as info().heartbeat_details.")


class RunQuery(serializers.Serializer[None]):
    run_id = serializers.UUIDField(
        required=False, help_text="A run of the workflow; the latest run by default."
    )


class ListQuery(serializers.Serializer[None]):
    status = serializers.ChoiceField(choices=WorkflowStatus.values, required=False)
    workflow_type = serializers.CharField(max_length=255, required=False)
    task_queue = serializers.CharField(max_length=255, required=False)
    started_after = serializers.DateTimeField(
        required=False, help_text="Runs started at or after this time (ISO 8601)."
    )
    started_before = serializers.DateTimeField(
        required=False, help_text="Runs started before this time (ISO 8601)."
    )
    search = serializers.ListField(
        child=serializers.RegexField(r"^[A-Za-z_][A-Za-z0-9_\-]{0,99}:", max_length=1000),
        required=False,
        help_text="Search attribute filters as `name:value`, repeatable; values compare as "
        "text (`search=priority:3` matches the number 3).",
    )

    query = serializers.CharField(
        max_length=2000,
        required=False,
        help_text="A list filter (a subset of Temporal's): `Name OP value` conditions joined by "
        "`AND`; OP is one of `= != > >= < <=`; values are quoted strings, numbers, `true` or "
        '`false`. `CustomerId = "c-7" AND Amount > 10`. `=` on a keyword list matches a list '
        "holding the value; `WorkflowId`, `WorkflowType`, `TaskQueue` and `ExecutionStatus` "
        "name the run's own fields.",
    )

    def validate_query(self, value: str) -> str:
        try:
            _services.parse_query(value)
        except InvalidArgumentError as exc:
            raise serializers.ValidationError(str(exc).removeprefix("Query: ")) from None
        return value

    def validate_search(self, value: list[str]) -> dict[str, str]:
        pairs = (item.split(":", 1) for item in value)
        return {key: text for key, text in pairs}


class HistoryQuery(RunQuery):
    after_event_id = serializers.IntegerField(
        required=False,
        default=0,
        min_value=0,
        max_value=2**31 - 1,
        help_text="Return events after this id (the previous page's next_after_event_id).",
    )
    limit = serializers.IntegerField(
        required=False,
        default=1000,
        min_value=1,
        max_value=10_000,
        help_text="At most this many events.",
    )


# --- responses --------------------------------------------------------------------------------


class WorkflowSummary(serializers.Serializer[object]):
    """One run in a listing."""

    workflow_id = serializers.CharField()
    run_id = serializers.UUIDField()
    workflow_type = serializers.CharField()
    task_queue = serializers.CharField()
    status = serializers.ChoiceField(choices=WorkflowStatus.values)
    start_time = serializers.DateTimeField()
    close_time = serializers.DateTimeField(allow_null=True)
    execution_timeout = serializers.FloatField(allow_null=True)
    history_length = serializers.IntegerField()
    search_attributes = serializers.DictField(child=ANY())


class PendingActivity(serializers.Serializer[object]):
    activity_id = serializers.CharField()
    activity_type = serializers.CharField()
    status = serializers.CharField()
    attempt = serializers.IntegerField()
    scheduled_time = serializers.DateTimeField()
    started_time = serializers.DateTimeField(allow_null=True)
    last_failure = serializers.JSONField(allow_null=True)
    heartbeat_details = serializers.JSONField(allow_null=True)
    last_heartbeat_time = serializers.DateTimeField(allow_null=True)
    next_deadline = serializers.DateTimeField(allow_null=True)
    waiting_for = serializers.CharField(
        help_text="Why it has not started, when a concurrency limit holds it back."
    )


class PendingTimer(serializers.Serializer[object]):
    timer_id = serializers.CharField()
    fire_at = serializers.DateTimeField()


class RunReference(serializers.Serializer[object]):
    workflow_id = serializers.CharField()
    run_id = serializers.CharField()
    status = serializers.CharField()


class WorkflowDescription(WorkflowSummary):
    """One run in full: what ``handle.describe()`` returns."""

    input = serializers.ListField(child=ANY())
    result = serializers.JSONField(allow_null=True, help_text="The result, once COMPLETED.")
    failure = serializers.JSONField(allow_null=True, help_text="Why the run did not complete.")
    task_failure = serializers.JSONField(
        allow_null=True, help_text="The latest workflow task failure while RUNNING (a bug)."
    )
    memo = serializers.DictField(child=ANY())
    pending_activities = PendingActivity(many=True)
    pending_timers = PendingTimer(many=True)
    parent = RunReference(allow_null=True, help_text="The run that started this one as a child.")
    continued_from = RunReference(
        allow_null=True, help_text="The run this one continued (continue-as-new)."
    )
    continued_as = RunReference(
        allow_null=True, help_text="The run this one continued as, once CONTINUED_AS_NEW."
    )
    children = RunReference(many=True, help_text="Its most recent child runs (at most 50).")


class _EventLike(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class Event(serializers.Serializer[_EventLike]):
    event_id = serializers.IntegerField()
    event_type = serializers.CharField()
    timestamp = serializers.DateTimeField()
    attributes = serializers.DictField(child=ANY())

    def to_representation(self, instance: _EventLike) -> dict[str, Any]:
        return instance.to_dict()


class History(serializers.Serializer[object]):
    workflow_id = serializers.CharField()
    run_id = serializers.UUIDField()
    events = Event(many=True)
    next_after_event_id = serializers.IntegerField(
        allow_null=True, help_text="Pass as after_event_id for the next page; null at the end."
    )


class Result(serializers.Serializer[object]):
    result = serializers.JSONField(allow_null=True)


class Accepted(serializers.Serializer[object]):
    workflow_id = serializers.CharField()
    run_id = serializers.UUIDField()


class ActivityOutcome(serializers.Serializer[object]):
    status = serializers.CharField(
        help_text="The activity's status afterwards: COMPLETED, FAILED, CANCELED, or "
        "SCHEDULED (the failure will be retried, under a new task token)."
    )


class HeartbeatResponse(serializers.Serializer[object]):
    cancel_requested = serializers.BooleanField(
        help_text="Cancellation was requested: stop, and report the cancellation."
    )


class ErrorDetail(serializers.Serializer[object]):
    code = serializers.CharField(help_text="Stable, machine-readable.")
    message = serializers.CharField()
    field = serializers.CharField(required=False, help_text="The request field at fault.")
    details = serializers.JSONField(required=False, help_text="Every validation error.")
    reference = serializers.CharField(
        required=False,
        help_text="When a handler raised something else than a failure (ApplicationError): "
        "the id under which the server logged its text.",
    )


class Error(serializers.Serializer[object]):
    error = ErrorDetail()
