"""The engine: pure Python, no Django, no Celery.

It turns a history (plain data) plus workflow code into new commands, replaying
deterministically and detecting nondeterminism. Everything with a database or
a broker lives outside this package and talks to it through these names.
"""

from .commands import (
    CLOSING_COMMANDS,
    COMMAND_EVENT_TYPES,
    CancelTimer,
    CancelWorkflowExecution,
    Command,
    CompleteWorkflowExecution,
    CompleteWorkflowUpdate,
    ContinueAsNewWorkflowExecution,
    FailWorkflowExecution,
    ModifyWorkflowProperties,
    RecordMarker,
    RequestCancelActivityTask,
    RequestCancelExternalWorkflowExecution,
    ScheduleActivityTask,
    SignalExternalWorkflowExecution,
    StartChildWorkflowExecution,
    StartTimer,
    UpsertWorkflowSearchAttributes,
)
from .converter import Signature, check_size, from_json, to_json
from .definitions import (
    ActivityDefinition,
    HandlerDefinition,
    HandlerUnfinishedPolicy,
    UnfinishedSignalHandlersWarning,
    UnfinishedUpdateHandlersWarning,
    WorkflowDefinition,
)
from .errors import (
    NotInWorkflowError,
    ReadOnlyViolationError,
    WorkflowInterrupt,
    WorkflowLoopError,
    WorkflowTaskError,
)
from .events import CLOSE_EVENT_TYPES, EventType, HistoryEvent
from .failures import (
    Failure,
    FailureKind,
    exception_from_failure,
    failure_from_exception,
)
from .instance import WorkflowInstance
from .loop import current_runtime
from .options import ActivityOptions, ChildWorkflowOptions, StartOptions
from .replay import (
    CacheMissError,
    TaskResult,
    continue_workflow_task,
    replay_for_query,
    run_workflow_task,
    split_history,
)
from .runtime import (
    ActivityHandle,
    ChildWorkflowHandle,
    ParentInfo,
    WorkflowInfo,
    WorkflowRuntime,
)

__all__ = [
    "CLOSE_EVENT_TYPES",
    "CLOSING_COMMANDS",
    "COMMAND_EVENT_TYPES",
    "ActivityDefinition",
    "ActivityHandle",
    "ActivityOptions",
    "CacheMissError",
    "CancelTimer",
    "CancelWorkflowExecution",
    "ChildWorkflowHandle",
    "ChildWorkflowOptions",
    "Command",
    "CompleteWorkflowExecution",
    "CompleteWorkflowUpdate",
    "ContinueAsNewWorkflowExecution",
    "EventType",
    "FailWorkflowExecution",
    "Failure",
    "FailureKind",
    "HandlerDefinition",
    "HandlerUnfinishedPolicy",
    "HistoryEvent",
    "ModifyWorkflowProperties",
    "NotInWorkflowError",
    "ParentInfo",
    "ReadOnlyViolationError",
    "RecordMarker",
    "RequestCancelActivityTask",
    "RequestCancelExternalWorkflowExecution",
    "ScheduleActivityTask",
    "SignalExternalWorkflowExecution",
    "Signature",
    "StartChildWorkflowExecution",
    "StartOptions",
    "StartTimer",
    "TaskResult",
    "UnfinishedSignalHandlersWarning",
    "UnfinishedUpdateHandlersWarning",
    "UpsertWorkflowSearchAttributes",
    "WorkflowDefinition",
    "WorkflowInfo",
    "WorkflowInstance",
    "WorkflowInterrupt",
    "WorkflowLoopError",
    "WorkflowRuntime",
    "WorkflowTaskError",
    "check_size",
    "continue_workflow_task",
    "current_runtime",
    "exception_from_failure",
    "failure_from_exception",
    "from_json",
    "replay_for_query",
    "run_workflow_task",
    "split_history",
    "to_json",
]
