"""Starting runs and recording what a workflow task decided (or why it failed)."""

from __future__ import annotations

import traceback
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Any

from .. import _dispatch, _notify
from .._engine import (
    ActivityOptions,
    CancelTimer,
    CancelWorkflowExecution,
    Command,
    CompleteWorkflowExecution,
    CompleteWorkflowUpdate,
    ContinueAsNewWorkflowExecution,
    EventType,
    FailWorkflowExecution,
    ModifyWorkflowProperties,
    RecordMarker,
    RequestCancelActivityTask,
    RequestCancelExternalWorkflowExecution,
    ScheduleActivityTask,
    SignalExternalWorkflowExecution,
    StartChildWorkflowExecution,
    StartOptions,
    StartTimer,
    UpsertWorkflowSearchAttributes,
)
from ..common import RetryPolicy, merge_upserted
from ..conf import dw_settings
from ..exceptions import WorkflowAlreadyStartedError
from ..models import (
    ActivityStatus,
    ActivityTask,
    ExternalRequestKind,
    Timer,
    TimerStatus,
    WorkflowExecution,
    WorkflowStatus,
)
from . import slots
from .activities import cancel_requested, scheduled_deadline, started_deadline
from .external import queue_request
from .history import ActivityStart, HistoryWriter, RunHere
from .starts import Lineage, create_execution, then_next_cron_run


def record_task_completed(
    execution: WorkflowExecution,
    commands: list[Command],
    now: datetime,
    *,
    run_here: RunHere | None = None,
) -> list[ActivityStart]:
    """Append WorkflowTaskCompleted and one event per command; create rows; queue hints.

    ``run_here`` says which scheduled activities the caller will run itself once this
    commits (eager execution): those are written already started by the caller, get no
    hint, and are returned. If the caller dies before finishing one, its start-to-close
    timeout retries it, as for any attempt whose worker died.
    """
    writer = HistoryWriter(execution, now, run_here=run_here)
    execution.task_pending = False
    execution.task_attempt = 0
    execution.task_failure = None
    execution.task_dispatch_after = None
    writer.append(EventType.WORKFLOW_TASK_COMPLETED, {})
    slots.lock_keys(_limit_keys(commands))  # sorted, before any is taken in command order
    for command in commands:
        _RECORDERS[type(command)](writer, command)
    # A query that waits for the run's pending task wakes on this (see services.messages).
    writer.save(notify=f"task:{execution.run_id}")
    return writer.started_here


def _limit_keys(commands: list[Command]) -> list[str]:
    """The concurrency and rate-limit key rows the task's new activities will lock."""
    keys = []
    for command in commands:
        if isinstance(command, ScheduleActivityTask):
            options = command.options
            if options.concurrency_limit:
                keys.append(f"{command.activity_type}:{options.concurrency_key}"[:255])
            if options.rate_limit:
                keys.append("rate:" + f"{command.activity_type}:{options.rate_key}"[:250])
    return keys


def mark_task_seen(execution: WorkflowExecution) -> None:
    """The pending task has no event the code has not seen: nothing to run, clear the flag."""
    execution.task_pending = False
    execution.save(update_fields=["task_pending"])


def record_task_failed(execution: WorkflowExecution, error: BaseException, now: datetime) -> None:
    """Remember why the task failed and retry it with backoff; the history is untouched."""
    execution.task_attempt += 1
    delay = min(
        timedelta(seconds=2 ** (execution.task_attempt - 1)),
        dw_settings.WORKFLOW_TASK_RETRY_MAX_INTERVAL,
    )
    execution.task_failure = {
        "type": type(error).__name__,
        "message": str(error),
        "cause": repr(error.__cause__) if error.__cause__ else None,
        "stack_trace": "".join(traceback.format_exception(error)),
        "attempt": execution.task_attempt,
        "time": now.isoformat(),
    }
    execution.task_dispatch_after = now + delay
    execution.task_dispatched_at = now + delay  # when the delayed hint should arrive
    execution.save(
        update_fields=["task_attempt", "task_failure", "task_dispatch_after", "task_dispatched_at"]
    )
    _dispatch.workflow_task(str(execution.run_id), execution.task_queue, delay)


# --- one recorder per command -----------------------------------------------------------


def _resolved_options(
    command: ScheduleActivityTask, execution: WorkflowExecution
) -> ActivityOptions:
    """The command's options with the defaults filled in, as the event and the row hold them."""
    options = command.options
    if options.start_to_close_timeout is None and options.schedule_to_close_timeout is None:
        default = dw_settings.DEFAULT_START_TO_CLOSE_TIMEOUT.total_seconds()
        options = replace(options, start_to_close_timeout=default)
    return replace(
        options,
        activity_id=command.activity_id,
        task_queue=options.task_queue or execution.task_queue,
        retry_policy=options.retry_policy or RetryPolicy().to_dict(),
    )


def _record_schedule_activity(writer: HistoryWriter, command: ScheduleActivityTask) -> None:
    execution = writer.execution
    options = asdict(_resolved_options(command, execution))
    eager_allowed = not options.pop("disable_eager_execution")
    key_value = options.pop("concurrency_key")
    rate_value = options.pop("rate_key")
    event_id = writer.append(
        EventType.ACTIVITY_TASK_SCHEDULED,
        {"activity_type": command.activity_type, "input": command.input, **options},
    )
    now = writer.now

    def create_row() -> None:
        activity = ActivityTask(
            execution=execution,
            scheduled_event_id=event_id,
            activity_type=command.activity_type,
            input=command.input,
            scheduled_time=now,
            attempt_scheduled_time=now,
            dispatch_after=now,
            dispatched_at=now,
            **options,
        )
        if activity.concurrency_limit:
            activity.limit_key = f"{activity.activity_type}:{key_value}"[:255]
            if not slots.take_if_free(activity.limit_key, activity.concurrency_limit):
                # Waits, unhinted and holding no worker, until a slot is handed to it.
                activity.dispatched_at = None
                activity.timeout_at = scheduled_deadline(activity)
                activity.save(force_insert=True)
                return
            activity.holds_slot = True
        if activity.rate_limit:
            activity.rate_key = f"{activity.activity_type}:{rate_value}"[:250]
        run_here = writer.run_here
        later = None
        if (
            eager_allowed
            and run_here
            and run_here.accepts(activity.activity_type, activity.task_queue)
            and (later := slots.admit_start(activity, now)) is None
        ):
            # Claimed in this transaction: the worker runs it right after the commit.
            activity.status = ActivityStatus.STARTED
            activity.started_time = now
            activity.worker_identity = run_here.identity[:255]
            activity.timeout_at = started_deadline(activity)
            activity.save(force_insert=True)
            writer.started_here.append(ActivityStart(activity))
            return
        activity.timeout_at = scheduled_deadline(activity)
        if later is not None:  # kept for this worker, but over its rate limit: wait
            activity.dispatch_after = later
            activity.dispatched_at = None
            activity.save(force_insert=True)
            slots.delay_until(activity, later, now)
            activity.save(update_fields=["dispatched_at"])
            return
        activity.save(force_insert=True)
        _dispatch.activity_task(activity.pk, 1, activity.task_queue)

    writer.after_save(create_row)


def _record_request_cancel_activity(
    writer: HistoryWriter, command: RequestCancelActivityTask
) -> None:
    writer.append(
        EventType.ACTIVITY_TASK_CANCEL_REQUESTED,
        {"scheduled_event_id": command.scheduled_event_id},
    )
    cancel_requested(writer, command.scheduled_event_id)


def _record_start_timer(writer: HistoryWriter, command: StartTimer) -> None:
    execution = writer.execution
    event_id = writer.append(
        EventType.TIMER_STARTED,
        {"timer_id": command.timer_id, "duration": command.duration},
    )
    delay = timedelta(seconds=command.duration)
    fire_at = writer.now + delay

    def create_row() -> None:
        timer = Timer.objects.create(
            execution=execution,
            started_event_id=event_id,
            timer_id=command.timer_id,
            fire_at=fire_at,
        )
        if delay <= dw_settings.COUNTDOWN_FAST_PATH_MAX:
            _dispatch.fire_timer(timer.pk, execution.task_queue, delay)

    writer.after_save(create_row)


def _record_cancel_timer(writer: HistoryWriter, command: CancelTimer) -> None:
    execution = writer.execution
    timer = Timer.objects.filter(
        execution=execution, timer_id=command.timer_id, status=TimerStatus.PENDING
    ).first()
    writer.append(
        EventType.TIMER_CANCELED,
        {
            "timer_id": command.timer_id,
            "started_event_id": timer.started_event_id if timer else None,
        },
    )
    if timer is not None:
        canceled = Timer.objects.filter(pk=timer.pk)
        writer.after_save(lambda: canceled.update(status=TimerStatus.CANCELED))


def _record_marker(writer: HistoryWriter, command: RecordMarker) -> None:
    writer.append(
        EventType.MARKER_RECORDED,
        {"marker_name": command.marker_name, "details": command.details},
    )


def _record_update_completed(writer: HistoryWriter, command: CompleteWorkflowUpdate) -> None:
    writer.append(
        EventType.WORKFLOW_EXECUTION_UPDATE_COMPLETED,
        {
            "update_id": command.update_id,
            "update_name": command.update_name,
            "result": command.result,
            "failure": command.failure,
        },
    )
    writer.after_save(lambda: _notify.notify(f"update:{command.update_id}"))


def _record_complete(writer: HistoryWriter, command: CompleteWorkflowExecution) -> None:
    writer.append(EventType.WORKFLOW_EXECUTION_COMPLETED, {"result": command.result})
    writer.close(WorkflowStatus.COMPLETED, result=command.result)
    then_next_cron_run(writer)


def _record_fail(writer: HistoryWriter, command: FailWorkflowExecution) -> None:
    writer.append(EventType.WORKFLOW_EXECUTION_FAILED, {"failure": command.failure})
    writer.close(WorkflowStatus.FAILED, failure=command.failure)
    then_next_cron_run(writer)


def _record_cancel(writer: HistoryWriter, command: CancelWorkflowExecution) -> None:
    writer.append(EventType.WORKFLOW_EXECUTION_CANCELED, {"details": command.details})
    writer.close(WorkflowStatus.CANCELED)


def _record_continue_as_new(writer: HistoryWriter, command: ContinueAsNewWorkflowExecution) -> None:
    previous = writer.execution
    task_queue = command.task_queue or previous.task_queue
    options = StartOptions(
        workflow_id=previous.workflow_id,
        task_queue=task_queue,
        search_attributes=(
            command.search_attributes
            if command.search_attributes is not None
            else dict(previous.search_attributes or {})
        ),
        memo=command.memo if command.memo is not None else dict(previous.memo or {}),
    )
    now = writer.now
    # The new run is inserted once this one is saved as closed: one RUNNING run per id.
    started: list[WorkflowExecution] = []

    def start_next() -> None:
        started.append(
            create_execution(
                command.workflow_type,
                command.input,
                options,
                now,
                lineage=Lineage(continued_from=previous),
            )
        )

    writer.append(
        EventType.WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
        {
            "workflow_type": command.workflow_type,
            "task_queue": task_queue,
            "input": command.input,
        },
    )
    writer.close(WorkflowStatus.CONTINUED_AS_NEW)
    writer.after_save(start_next)


def _record_start_child(writer: HistoryWriter, command: StartChildWorkflowExecution) -> None:
    parent = writer.execution
    child = command.options
    task_queue = child.task_queue or parent.task_queue
    initiated_event_id = writer.append(
        EventType.START_CHILD_WORKFLOW_EXECUTION_INITIATED,
        {
            "workflow_id": child.workflow_id,
            "workflow_type": command.workflow_type,
            "task_queue": task_queue,
            "input": command.input,
            "execution_timeout": child.execution_timeout,
            "id_reuse_policy": child.id_reuse_policy.value,
            "parent_close_policy": child.parent_close_policy.value,
            "cancellation_type": child.cancellation_type.value,
            "memo": child.memo,
            "search_attributes": child.search_attributes,
        },
    )
    parent.started_children = True
    identity = {
        "initiated_event_id": initiated_event_id,
        "workflow_id": child.workflow_id,
        "workflow_type": command.workflow_type,
    }
    try:
        started = create_execution(
            command.workflow_type,
            command.input,
            StartOptions(
                workflow_id=child.workflow_id,
                task_queue=task_queue,
                execution_timeout=(
                    timedelta(seconds=child.execution_timeout) if child.execution_timeout else None
                ),
                id_reuse_policy=child.id_reuse_policy,
                search_attributes=dict(child.search_attributes or {}),
                memo=dict(child.memo or {}),
            ),
            writer.now,
            lineage=Lineage(
                parent=parent,
                parent_initiated_event_id=initiated_event_id,
                parent_close_policy=child.parent_close_policy.value,
            ),
        )
    except WorkflowAlreadyStartedError:
        writer.append(
            EventType.START_CHILD_WORKFLOW_EXECUTION_FAILED,
            {**identity, "cause": "WORKFLOW_EXECUTION_ALREADY_STARTED"},
        )
    else:
        writer.append(
            EventType.CHILD_WORKFLOW_EXECUTION_STARTED, {**identity, "run_id": str(started.run_id)}
        )
    writer.request_workflow_task()


def _record_signal_external(
    writer: HistoryWriter, command: SignalExternalWorkflowExecution
) -> None:
    event_id = writer.append(
        EventType.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        {
            "workflow_id": command.workflow_id,
            "run_id": command.run_id,
            "signal_name": command.signal_name,
            "input": command.input,
            "child_workflow_only": command.child_workflow_only,
        },
    )
    queue_request(
        writer,
        initiated_event_id=event_id,
        kind=ExternalRequestKind.SIGNAL,
        workflow_id=command.workflow_id,
        run_id=command.run_id,
        child_workflow_only=command.child_workflow_only,
        signal_name=command.signal_name,
        input=command.input,
    )


def _record_cancel_external(
    writer: HistoryWriter, command: RequestCancelExternalWorkflowExecution
) -> None:
    event_id = writer.append(
        EventType.REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        {
            "workflow_id": command.workflow_id,
            "run_id": command.run_id,
            "child_workflow_only": command.child_workflow_only,
        },
    )
    queue_request(
        writer,
        initiated_event_id=event_id,
        kind=ExternalRequestKind.CANCEL,
        workflow_id=command.workflow_id,
        run_id=command.run_id,
        child_workflow_only=command.child_workflow_only,
        reason=f"Requested by workflow {writer.execution.workflow_id}.",
    )


def _record_upsert_search_attributes(
    writer: HistoryWriter, command: UpsertWorkflowSearchAttributes
) -> None:
    writer.append(
        EventType.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        {"search_attributes": command.search_attributes},
    )
    execution = writer.execution
    execution.search_attributes = merge_upserted(
        execution.search_attributes or {}, command.search_attributes, empty_list_removes=True
    )
    writer.changed("search_attributes")


def _record_modify_properties(writer: HistoryWriter, command: ModifyWorkflowProperties) -> None:
    # Recorded under "memo" (Temporal: upserted_memo) so PAYLOAD_CODEC wraps it as the
    # run's memo column is.
    writer.append(EventType.WORKFLOW_PROPERTIES_MODIFIED, {"memo": command.memo})
    execution = writer.execution
    execution.memo = merge_upserted(execution.memo or {}, command.memo, empty_list_removes=False)
    writer.changed("memo")


_RECORDERS: dict[type[Command], Any] = {
    ScheduleActivityTask: _record_schedule_activity,
    RequestCancelActivityTask: _record_request_cancel_activity,
    StartTimer: _record_start_timer,
    CancelTimer: _record_cancel_timer,
    RecordMarker: _record_marker,
    CompleteWorkflowUpdate: _record_update_completed,
    CompleteWorkflowExecution: _record_complete,
    FailWorkflowExecution: _record_fail,
    CancelWorkflowExecution: _record_cancel,
    ContinueAsNewWorkflowExecution: _record_continue_as_new,
    StartChildWorkflowExecution: _record_start_child,
    SignalExternalWorkflowExecution: _record_signal_external,
    RequestCancelExternalWorkflowExecution: _record_cancel_external,
    UpsertWorkflowSearchAttributes: _record_upsert_search_attributes,
    ModifyWorkflowProperties: _record_modify_properties,
}
