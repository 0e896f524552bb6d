"""The use cases shared by the client, the admin, the API, the CLI and the schedules.

``runs``: start, find, describe, list, read history, wait for outcomes, delete.
``messages``: signal, query, update, cancel, terminate. ``visibility``: the listing
query and history pages; ``search``: its search attribute filters. ``arguments``:
checks made before anything is written. ``async_activities``: completing, failing and
heartbeating an activity by task token.
Adapters call these; they never write through the store themselves.
"""

# What adapters need of the engine: the history event type and the payload converter
# (to print them), and the options of a start (to build one).
from .._engine import HistoryEvent, StartOptions
from .._engine import to_json as json_ready
from .arguments import check_decodable, check_identifier, handler_name
from .async_activities import (
    check_task_token,
    complete_activity,
    fail_activity,
    heartbeat_activity,
    report_activity_cancellation,
)
from .locking import locked_run
from .messages import (
    AcceptedUpdate,
    cancel_workflow,
    decode_handler_result,
    find_update,
    handler_names,
    prepare_signal,
    query_workflow,
    signal_workflow,
    start_update,
    terminate_workflow,
    update_with_start,
    update_workflow,
    wait_for_update,
)
from .runs import (
    ConcurrencyUse,
    Outcome,
    RelatedRuns,
    concurrency_overview,
    delete_closed_runs,
    describe,
    get_execution,
    history,
    list_runs,
    outcome_if_closed,
    raise_for_outcome,
    related_runs,
    resolve_definition,
    start_workflow,
    wait_for_outcome,
)
from .search import filter_by_query, parse_query
from .visibility import (
    LIST_FIELDS,
    SUMMARY_FIELDS,
    history_page,
    list_executions,
    require_visible,
    visible_runs,
)

__all__ = [
    "LIST_FIELDS",
    "SUMMARY_FIELDS",
    "AcceptedUpdate",
    "ConcurrencyUse",
    "HistoryEvent",
    "Outcome",
    "RelatedRuns",
    "StartOptions",
    "cancel_workflow",
    "check_decodable",
    "check_identifier",
    "check_task_token",
    "complete_activity",
    "concurrency_overview",
    "decode_handler_result",
    "delete_closed_runs",
    "describe",
    "fail_activity",
    "filter_by_query",
    "find_update",
    "get_execution",
    "handler_name",
    "handler_names",
    "heartbeat_activity",
    "history",
    "history_page",
    "json_ready",
    "list_executions",
    "list_runs",
    "locked_run",
    "outcome_if_closed",
    "parse_query",
    "prepare_signal",
    "query_workflow",
    "raise_for_outcome",
    "related_runs",
    "report_activity_cancellation",
    "require_visible",
    "resolve_definition",
    "signal_workflow",
    "start_update",
    "start_workflow",
    "terminate_workflow",
    "update_with_start",
    "update_workflow",
    "visible_runs",
    "wait_for_outcome",
    "wait_for_update",
]
