"""``manage.py workflow VERB ...``: start, list and talk to workflows (Temporal's CLI verbs).

The command runs as the operator: whoever can run ``manage.py`` holds the database
credentials already, so it sees and may act on every run. Neither model permissions nor
the ``VISIBLE_RUNS`` hook apply here; they govern the admin and the HTTP API.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from ... import _json, _services
from ...client import WorkflowHistory
from ...common import WorkflowIDReusePolicy
from ...exceptions import DurableWorkflowsError, InvalidArgumentError
from ...models import WorkflowExecution, WorkflowStatus
from .. import _format

#: Exit codes scripts can rely on.
OK, WORKFLOW_ERROR, USAGE_ERROR = 0, 1, 2
MAX_TIMEOUT_SECONDS = 10 * 365 * 24 * 3600.0

EPILOG = """\
Runs as the operator: every run is visible, whatever DURABLE_WORKFLOWS["VISIBLE_RUNS"] says.

exit codes:
  0  success
  1  the workflow refused: no such workflow or run, closed, unknown workflow type or
     handler, wrong number of arguments, id already running, query or update failed
  2  usage error: bad options, --input that is not a JSON array, a bad date

examples:
  manage.py workflow start --type OrderWorkflow --workflow-id o-1 --input '["o-1", 9.5]'
  manage.py workflow list --status RUNNING --type OrderWorkflow --limit 20
  manage.py workflow describe o-1 --json
  manage.py workflow history o-1 --json > o-1.json     # what testing.Replayer reads
  manage.py workflow signal c-1 add --input '["a"]'
  manage.py workflow query o-1 get_status
  manage.py workflow update cart-1 add_item --input '[5]'
  manage.py workflow cancel o-1 --reason "customer asked"
  manage.py workflow terminate o-1 --reason "stuck"
"""


def usage_error(message: str) -> CommandError:
    return CommandError(message, returncode=USAGE_ERROR)


def json_args(text: str, option: str = "--input") -> list[Any]:
    """The arguments of a call, given as one JSON array."""
    try:
        value = _json.loads(text)
    except ValueError as exc:
        raise usage_error(f"{option} is not valid JSON ({exc}): {text!r}") from None
    if not isinstance(value, list):
        raise usage_error(
            f"{option} must be a JSON array of arguments, e.g. '[\"o-1\", 9.5]'; "
            f"for a single argument wrap it: '[{text}]'."
        )
    return value


def key_values(pairs: list[str], option: str, *, as_json: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise usage_error(f"{option} takes KEY=VALUE, got {pair!r}.")
        if as_json:
            try:
                out[key] = _json.loads(value)
            except ValueError:
                out[key] = value  # a bare word is a string
        else:
            out[key] = value
    return out


def moment(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    value = parse_datetime(text)
    if value is None:
        raise usage_error(f"{option} must be an ISO 8601 date and time, got {text!r}.")
    return value


class Command(BaseCommand):
    help = (
        "Start, list, describe and talk to durable workflows, with the verbs of Temporal's "
        "CLI. Tables by default; --json prints JSON."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.epilog = EPILOG
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        # Parents of the subcommands; they are never parsed themselves.
        common = CommandParser(add_help=False)
        common.add_argument("--json", action="store_true", help="Print JSON.")
        run = CommandParser(add_help=False, parents=[common])
        run.add_argument("workflow_id")
        run.add_argument("--run-id", help="A run of the workflow; the latest by default.")
        call = CommandParser(add_help=False, parents=[run])
        call.add_argument("name", help="The handler's name.")
        call.add_argument("--input", default="[]", help="Arguments as a JSON array.")

        verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
        start = verbs.add_parser("start", parents=[common], help="Start a workflow.")
        start.add_argument("--type", required=True, dest="workflow_type")
        start.add_argument("--workflow-id", required=True)
        start.add_argument("--input", default="[]", help="Arguments as a JSON array.")
        start.add_argument("--task-queue")
        start.add_argument("--execution-timeout", type=float, metavar="SECONDS")
        start.add_argument(
            "--id-reuse-policy",
            choices=[p.value for p in WorkflowIDReusePolicy],
            default=WorkflowIDReusePolicy.ALLOW_DUPLICATE.value,
        )
        start.add_argument("--search-attribute", action="append", default=[], metavar="KEY=JSON")

        listing = verbs.add_parser("list", parents=[common], help="List runs, newest first.")
        listing.add_argument("--status", choices=WorkflowStatus.values)
        listing.add_argument("--type", dest="workflow_type")
        listing.add_argument("--task-queue")
        listing.add_argument("--started-after", metavar="ISO_DATETIME")
        listing.add_argument("--started-before", metavar="ISO_DATETIME")
        listing.add_argument(
            "--search",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="Search attribute filter, compared as text; repeatable.",
        )
        listing.add_argument(
            "--query",
            metavar="FILTER",
            help='A list filter: conditions joined by AND, e.g. \'CustomerId = "c-7" AND '
            "Amount > 10' (operators = != > >= < <=).",
        )
        listing.add_argument("--limit", type=int, default=20)

        verbs.add_parser("describe", parents=[run], help="Show a run.")
        verbs.add_parser("history", parents=[run], help="Show a run's events.")
        verbs.add_parser("signal", parents=[call], help="Send a signal.")
        verbs.add_parser("query", parents=[call], help="Ask a query.")
        update = verbs.add_parser("update", parents=[call], help="Send an update and wait.")
        update.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS")
        for verb, text in (("cancel", "Request cancellation."), ("terminate", "Terminate now.")):
            verbs.add_parser(verb, parents=[run], help=text).add_argument("--reason", default="")

    def handle(self, *args: Any, verb: str, **options: Any) -> None:
        handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "start": self.start,
            "list": self.list,
            "describe": self.describe,
            "history": self.history,
            "signal": self.signal,
            "query": self.query,
            "update": self.update,
            "cancel": self.cancel,
            "terminate": self.terminate,
        }
        try:
            handlers[verb](options)
        except DurableWorkflowsError as exc:
            raise CommandError(f"{exc} [{exc.code}]", returncode=WORKFLOW_ERROR) from exc

    def out(self, options: dict[str, Any], text: str, data: Any) -> None:
        self.stdout.write(_format.json_text(data) if options["json"] else text)

    def target(self, options: dict[str, Any]) -> WorkflowExecution:
        return _services.get_execution(options["workflow_id"], options["run_id"])

    # --- verbs ----------------------------------------------------------------------------

    def start(self, o: dict[str, Any]) -> None:
        args = json_args(o["input"])
        attributes = key_values(o["search_attribute"], "--search-attribute", as_json=True)
        timeout = o["execution_timeout"]
        if timeout is not None and not 0 < timeout <= MAX_TIMEOUT_SECONDS:
            raise usage_error("--execution-timeout must be between 0 and ten years in seconds.")
        options = _services.StartOptions(
            workflow_id=o["workflow_id"],
            task_queue=o["task_queue"],
            execution_timeout=timedelta(seconds=timeout) if timeout else None,
            id_reuse_policy=WorkflowIDReusePolicy(o["id_reuse_policy"]),
            search_attributes=attributes or {},
        )
        definition = _services.resolve_definition(o["workflow_type"])
        execution = _services.start_workflow(definition, args, options)
        text = (
            f"Started {execution.workflow_type} {execution.workflow_id!r} "
            f"(run {execution.run_id}) on task queue {execution.task_queue!r}."
        )
        self.out(o, text, _services.describe(execution))

    def list(self, o: dict[str, Any]) -> None:
        if o["limit"] < 1:
            raise usage_error("--limit must be at least 1.")
        if o["query"] is not None:
            try:
                _services.parse_query(o["query"])
            except InvalidArgumentError as exc:
                raise usage_error(f"--query: {exc}") from None
        matching = _services.list_executions(
            status=o["status"],
            workflow_type=o["workflow_type"],
            task_queue=o["task_queue"],
            started_after=moment(o["started_after"], "--started-after"),
            started_before=moment(o["started_before"], "--started-before"),
            search_attributes=key_values(o["search"], "--search", as_json=False),
            query=o["query"],
        )
        rows = list(matching[: o["limit"]])
        text = _format.summaries_text(rows) if rows else "No workflows match."
        self.out(o, text, [_format.summary_dict(r) for r in rows])

    def describe(self, o: dict[str, Any]) -> None:
        description = _services.describe(self.target(o))
        self.out(o, _format.description_text(description), description)

    def history(self, o: dict[str, Any]) -> None:
        execution = self.target(o)
        events = _services.history(execution)
        if o["json"]:  # the Replayer's format
            history = WorkflowHistory(execution.workflow_id, str(execution.run_id), events)
            self.stdout.write(history.to_json())
        else:
            self.stdout.write(_format.history_text(events))

    def signal(self, o: dict[str, Any]) -> None:
        args = json_args(o["input"])
        execution = self.target(o)
        _services.signal_workflow(execution.workflow_id, o["name"], args, str(execution.run_id))
        text = f"Signal {o['name']!r} sent to {execution.workflow_id!r} (run {execution.run_id})."
        self.out(o, text, self.ack(execution, signal=o["name"]))

    def query(self, o: dict[str, Any]) -> None:
        args = json_args(o["input"])
        execution = self.target(o)
        result = _services.query_workflow(
            execution.workflow_id, o["name"], args, str(execution.run_id)
        )
        self.out(o, _format.json_text(result), {"result": result})

    def update(self, o: dict[str, Any]) -> None:
        args = json_args(o["input"])
        if o["timeout"] <= 0:
            raise usage_error("--timeout must be a positive number of seconds.")
        execution = self.target(o)
        result = _services.update_workflow(
            execution.workflow_id,
            o["name"],
            args,
            run_id=str(execution.run_id),
            timeout=o["timeout"],
        )
        self.out(o, _format.json_text(result), {"result": result})

    def cancel(self, o: dict[str, Any]) -> None:
        execution = self.target(o)
        new = _services.cancel_workflow(execution.workflow_id, str(execution.run_id), o["reason"])
        text = (
            f"Cancellation {'requested' if new else 'was already requested'} for "
            f"{execution.workflow_id!r} (run {execution.run_id})."
        )
        self.out(o, text, self.ack(execution, already_requested=not new))

    def terminate(self, o: dict[str, Any]) -> None:
        execution = self.target(o)
        _services.terminate_workflow(execution.workflow_id, o["reason"], str(execution.run_id))
        text = f"Terminated {execution.workflow_id!r} (run {execution.run_id})."
        self.out(o, text, self.ack(execution))

    @staticmethod
    def ack(execution: WorkflowExecution, **extra: Any) -> dict[str, Any]:
        return {"workflow_id": execution.workflow_id, "run_id": str(execution.run_id), **extra}
