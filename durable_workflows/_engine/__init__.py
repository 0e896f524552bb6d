"""The engine: pure Python, no Django, no Celery.

It turns a history (plain data) plus workflow code into new commands, replaying
deterministically and detecting nondeterminism. Everything with a database or
a broker lives outside this package and talks to it through these names.
"""

from .commands import (
    CLOSING_COMMANDS,
    CancelTimer,
    CancelWorkflowExecution,
    Command,
    CompleteWorkflowExecution,
    CompleteWorkflowUpdate,
    ContinueAsNewWorkflowExecution,
    FailWorkflowExecution,
    RecordMarker,
    RequestCancelActivityTask,
    ScheduleActivityTask,
    StartTimer,
)
from .converter import Signature, check_size, from_json, to_json
from .definitions import ActivityDefinition, HandlerDefinition, WorkflowDefinition
from .events import CLOSE_EVENT_TYPES, COMMAND_EVENT_TYPES, EventType, HistoryEvent
from .failures import error_type_of, exception_from_failure, failure_from_exception
from .instance import ActivityHandle, WorkflowInfo, WorkflowInstance, WorkflowTaskError
from .replay import TaskResult, replay_for_query, run_workflow_task, split_history

__all__ = [
    "CLOSE_EVENT_TYPES",
    "CLOSING_COMMANDS",
    "COMMAND_EVENT_TYPES",
    "ActivityDefinition",
    "ActivityHandle",
    "CancelTimer",
    "CancelWorkflowExecution",
    "Command",
    "CompleteWorkflowExecution",
    "CompleteWorkflowUpdate",
    "ContinueAsNewWorkflowExecution",
    "EventType",
    "FailWorkflowExecution",
    "HandlerDefinition",
    "HistoryEvent",
    "RecordMarker",
    "RequestCancelActivityTask",
    "ScheduleActivityTask",
    "Signature",
    "StartTimer",
    "TaskResult",
    "WorkflowDefinition",
    "WorkflowInfo",
    "WorkflowInstance",
    "WorkflowTaskError",
    "check_size",
    "error_type_of",
    "exception_from_failure",
    "failure_from_exception",
    "from_json",
    "replay_for_query",
    "run_workflow_task",
    "split_history",
    "to_json",
]
