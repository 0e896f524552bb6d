"""Views: each checks the request's shape, calls one use case, renders the answer.

No view decides anything about workflows; the services do, and raise errors that
:mod:`.errors` turns into responses by their declared status and code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

from django.urls import include, path
from django.utils.dateparse import parse_datetime
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
)
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from drf_spectacular.utils import extend_schema as spectacular_extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import generics, mixins, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from .. import _services
from ..common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from ..exceptions import ApplicationError
from ..models import WorkflowExecution
from . import serializers as s
from .errors import exception_handler
from .parsers import BoundedJSONParser, check_declared_size
from .permissions import HasWorkflowPermission

TAG = "workflows"

_View = TypeVar("_View", bound=Callable[..., Any])


def extend_schema(**kwargs: Any) -> Callable[[_View], _View]:
    """drf-spectacular's ``extend_schema``, always built on drf-spectacular's AutoSchema.

    Left alone, a method's annotation is built on the project's ``DEFAULT_SCHEMA_CLASS``
    as it is when this module is imported; REST framework's default (its own AutoSchema)
    would make the schema endpoint fail. ``extend_schema`` builds on a ``schema`` class
    found on the function, so one is put there first.
    """

    def decorate(method: _View) -> _View:
        method.__dict__["schema"] = AutoSchema
        decorated: _View = spectacular_extend_schema(**kwargs)(method)
        return decorated

    return decorate


def _errors(*statuses: int) -> dict[int, Any]:
    # 405 on every operation: workflow ids may contain "/", so a path whose id or handler
    # name ends in "history" or "cancel" can route to another endpoint's method.
    return dict.fromkeys((400, 401, 403, 405, *statuses), s.Error)


def _valid(serializer_class: type[Serializer[Any]], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class WorkflowAPIView(APIView):
    """JSON in, JSON out; authenticated; one model permission per method; one error shape."""

    parser_classes = [BoundedJSONParser]
    renderer_classes = [JSONRenderer]
    permission_classes = [HasWorkflowPermission]
    required_permissions: dict[str, str] = {"GET": "view"}
    schema = AutoSchema()

    def get_exception_handler(self) -> Any:
        return exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        check_declared_size(request)
        for key, value in kwargs.items():  # PostgreSQL text cannot hold NUL
            if isinstance(value, str) and "\x00" in value:
                raise ValidationError({key: ["May not contain a NUL (%00) character."]})

    def run_id(self) -> str | None:
        run_id = _valid(s.RunQuery, self.request.query_params).get("run_id")
        return str(run_id) if run_id else None

    def execution(self, workflow_id: str) -> WorkflowExecution:
        """The run this request is about: ``?run_id=``, or the latest; 404 if this user
        may not see it (``VISIBLE_RUNS``)."""
        run_id = self.run_id()
        execution = _services.get_execution(workflow_id, run_id)
        return _services.require_visible(execution, self.request.user, run_id)

    def describe_response(self, execution: WorkflowExecution, code: int = 200) -> Response:
        data = s.WorkflowDescription(_services.describe(execution)).data
        return Response(data, status=code)


RUN_ID = OpenApiParameter(
    "run_id", OpenApiTypes.UUID, OpenApiParameter.QUERY, description="Another run than the latest."
)


class NewestFirst(CursorPagination):
    ordering = ("-start_time", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request: Request) -> Any:
        """REST framework's cursor, refused (404) unless its position is a start time.

        A cursor is only base64 of ``p=<position>&o=<offset>&r=<reverse>``: anyone can
        write one, and a position that is no time would reach the database as one.
        """
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                moment = parse_datetime(str(cursor.position))
                if moment is None or moment.tzinfo is None:
                    raise ValueError(str(cursor.position))
                moment.astimezone(UTC)  # OverflowError near year 1 or 9999
            except (ValueError, OverflowError):
                raise NotFound(self.invalid_cursor_message) from None
        return cursor


# GenericAPIView[Any]: the rows are WorkflowExecutions, but s.WorkflowSummary serializes any
# object (Serializer[object]) and the stubs' serializer type parameter is invariant.
class WorkflowListView(mixins.ListModelMixin, generics.GenericAPIView[Any], WorkflowAPIView):
    """List runs (newest first) and start new ones."""

    required_permissions = {"GET": "view", "POST": "add"}
    pagination_class = NewestFirst
    serializer_class = s.WorkflowSummary

    def get_queryset(self) -> Any:
        filters = _valid(s.ListQuery, self.request.query_params)
        search = filters.pop("search", {})
        rows = _services.list_executions(**filters, search_attributes=search)
        return _services.visible_runs(rows, self.request.user)

    @extend_schema(
        tags=[TAG],
        summary="List workflow runs",
        parameters=[s.ListQuery],
        responses={200: s.WorkflowSummary(many=True), **_errors(404)},
    )
    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(
        tags=[TAG],
        summary="Start a workflow",
        request=s.StartWorkflowRequest,
        responses={201: s.WorkflowDescription, **_errors(409, 413, 415)},
    )
    def post(self, request: Request) -> Response:
        data = _valid(s.StartWorkflowRequest, request.data)
        timeout = data.get("execution_timeout")
        options = _services.StartOptions(
            workflow_id=data["workflow_id"],
            task_queue=data.get("task_queue"),
            execution_timeout=timedelta(seconds=timeout) if timeout else None,
            id_reuse_policy=WorkflowIDReusePolicy(data["id_reuse_policy"]),
            id_conflict_policy=WorkflowIDConflictPolicy(data["id_conflict_policy"]),
            search_attributes=data.get("search_attributes") or {},
            memo=data.get("memo") or {},
        )
        definition = _services.resolve_definition(data["workflow_type"])
        execution = _services.start_workflow(definition, data["args"], options)
        response = self.describe_response(execution, status.HTTP_201_CREATED)
        response["Location"] = workflow_url(request, execution.workflow_id)
        return response


def workflow_url(request: Request, workflow_id: str) -> str:
    """The absolute URL of a workflow's detail endpoint, naming exactly ``workflow_id``.

    The id is one quoted path segment: ``/`` is written ``%2F`` (the routes read it back
    as ``/``), and an id of only dots has them quoted too, so no client or URL join reads
    ``mine/../probe`` or ``..`` as a step up to another path.
    """
    segment = quote(workflow_id, safe="")
    if not segment.strip("."):
        segment = segment.replace(".", "%2E")
    base = reverse("durable_workflows_api:workflow-list")
    return request.build_absolute_uri(f"{base}{segment}/")


class WorkflowDetailView(WorkflowAPIView):
    @extend_schema(
        tags=[TAG],
        summary="Describe a run",
        parameters=[RUN_ID],
        responses={200: s.WorkflowDescription, **_errors(404)},
    )
    def get(self, request: Request, workflow_id: str) -> Response:
        return self.describe_response(self.execution(workflow_id))


class WorkflowHistoryView(WorkflowAPIView):
    @extend_schema(
        tags=[TAG],
        summary="A run's history, in order, a page at a time",
        parameters=[s.HistoryQuery],
        responses={200: s.History, **_errors(404)},
    )
    def get(self, request: Request, workflow_id: str) -> Response:
        query = _valid(s.HistoryQuery, request.query_params)
        execution = self.execution(workflow_id)
        events = _services.history_page(
            execution, after_event_id=query["after_event_id"], limit=query["limit"] + 1
        )
        more = len(events) > query["limit"]
        events = events[: query["limit"]]
        body = {
            "workflow_id": execution.workflow_id,
            "run_id": execution.run_id,
            "events": events,
            "next_after_event_id": events[-1].event_id if more else None,
        }
        return Response(s.History(body).data)


class SignalView(WorkflowAPIView):
    required_permissions = {"POST": "signal"}

    @extend_schema(
        tags=[TAG],
        summary="Send a signal",
        parameters=[RUN_ID],
        request=s.ArgsRequest,
        responses={202: s.Accepted, **_errors(404, 409, 413, 415)},
    )
    def post(self, request: Request, workflow_id: str, name: str) -> Response:
        args = _valid(s.ArgsRequest, request.data)["args"]
        execution = self.execution(workflow_id)
        _services.signal_workflow(workflow_id, name, args, str(execution.run_id))
        return accepted(execution)


class QueryView(WorkflowAPIView):
    required_permissions = {"POST": "query"}

    @extend_schema(
        tags=[TAG],
        summary="Ask a query (answered from the history; needs no worker)",
        parameters=[RUN_ID],
        request=s.ArgsRequest,
        responses={200: s.Result, **_errors(404, 413, 415, 422)},
    )
    def post(self, request: Request, workflow_id: str, name: str) -> Response:
        args = _valid(s.ArgsRequest, request.data)["args"]
        execution = self.execution(workflow_id)
        result = _services.query_workflow(workflow_id, name, args, str(execution.run_id))
        return Response({"result": result})


class UpdateView(WorkflowAPIView):
    required_permissions = {"POST": "update"}

    @extend_schema(
        tags=[TAG],
        summary="Send an update and wait for its result",
        parameters=[RUN_ID],
        request=s.UpdateRequest,
        responses={200: s.Result, **_errors(404, 408, 409, 413, 415, 422)},
    )
    def post(self, request: Request, workflow_id: str, name: str) -> Response:
        data = _valid(s.UpdateRequest, request.data)
        execution = self.execution(workflow_id)
        result = _services.update_workflow(
            workflow_id, name, data["args"], run_id=str(execution.run_id), timeout=data["timeout"]
        )
        return Response({"result": result})


class CancelView(WorkflowAPIView):
    required_permissions = {"POST": "cancel"}

    @extend_schema(
        tags=[TAG],
        summary="Request cancellation",
        parameters=[RUN_ID],
        request=s.ReasonRequest,
        responses={202: s.Accepted, **_errors(404, 409, 413, 415)},
    )
    def post(self, request: Request, workflow_id: str) -> Response:
        reason = _valid(s.ReasonRequest, request.data)["reason"]
        execution = self.execution(workflow_id)
        _services.cancel_workflow(workflow_id, str(execution.run_id), reason)
        return accepted(execution)


class TerminateView(WorkflowAPIView):
    required_permissions = {"POST": "terminate"}

    @extend_schema(
        tags=[TAG],
        summary="Terminate a run now (no workflow code runs)",
        parameters=[RUN_ID],
        request=s.ReasonRequest,
        responses={202: s.Accepted, **_errors(404, 409, 413, 415)},
    )
    def post(self, request: Request, workflow_id: str) -> Response:
        reason = _valid(s.ReasonRequest, request.data)["reason"]
        execution = self.execution(workflow_id)
        _services.terminate_workflow(workflow_id, reason, str(execution.run_id))
        return accepted(execution)


def accepted(execution: WorkflowExecution) -> Response:
    body = {"workflow_id": execution.workflow_id, "run_id": execution.run_id}
    return Response(s.Accepted(body).data, status=status.HTTP_202_ACCEPTED)


# --- async activity completion: the task token is the credential ------------------------------

ACTIVITIES_TAG = "activities"


class TaskTokenView(WorkflowAPIView):
    """Settles one activity attempt; the task token in the path authenticates the call.

    A token is a capability (a third party's webhook holds it), so no login, session or
    CSRF token is asked for: no authenticator runs at all. The project's anonymous
    throttles, if any, still apply. A token this project did not sign gets 403, the
    token of an attempt that is over 409.
    """

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    required_permissions: dict[str, str] = {}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # The credential first: a forged token learns nothing about what a body should be.
        _services.check_task_token(kwargs["task_token"])


class CompleteActivityView(TaskTokenView):
    @extend_schema(
        tags=[ACTIVITIES_TAG],
        summary="Complete an activity that was left to complete asynchronously",
        auth=[],
        request=s.CompleteActivityRequest,
        responses={200: s.ActivityOutcome, **_errors(409, 413, 415)},
    )
    def post(self, request: Request, task_token: str) -> Response:
        data = _valid(s.CompleteActivityRequest, request.data)
        status_after = _services.complete_activity(task_token, data["result"])
        return Response(s.ActivityOutcome({"status": status_after}).data)


class FailActivityView(TaskTokenView):
    @extend_schema(
        tags=[ACTIVITIES_TAG],
        summary="Fail an activity attempt (retried per its retry policy)",
        auth=[],
        request=s.FailActivityRequest,
        responses={200: s.ActivityOutcome, **_errors(409, 413, 415)},
    )
    def post(self, request: Request, task_token: str) -> Response:
        data = _valid(s.FailActivityRequest, request.data)
        error = data["error"]
        failure = ApplicationError(
            error["message"],
            *error["details"],
            type=error["type"],
            non_retryable=error["non_retryable"],
        )
        status_after = _services.fail_activity(
            task_token, failure, last_heartbeat_details=data["last_heartbeat_details"]
        )
        return Response(s.ActivityOutcome({"status": status_after}).data)


class HeartbeatActivityView(TaskTokenView):
    @extend_schema(
        tags=[ACTIVITIES_TAG],
        summary="Record an activity's progress and learn whether it is cancelled",
        auth=[],
        request=s.HeartbeatActivityRequest,
        responses={200: s.HeartbeatResponse, **_errors(409, 413, 415)},
    )
    def post(self, request: Request, task_token: str) -> Response:
        details = _valid(s.HeartbeatActivityRequest, request.data)["details"]
        cancel_requested = _services.heartbeat_activity(task_token, details)
        return Response(s.HeartbeatResponse({"cancel_requested": cancel_requested}).data)


class UnknownRouteView(WorkflowAPIView):
    """Every path under the API's prefix that names no endpoint."""

    required_permissions = dict.fromkeys(
        ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"], "view"
    )

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        raise NotFound(f"No endpoint here: {request.path!r}. See the schema for the endpoints.")


class SchemaView(SpectacularAPIView):
    """The OpenAPI document of this API (only its own endpoints, at their mounted paths).

    ``application/vnd.oai.openapi+json`` by default, ``application/json`` when asked for
    it, YAML with ``?format=yaml``. Its own schema class, like every view here, so the
    project's ``DEFAULT_SCHEMA_CLASS`` (REST framework's by default) does not matter.
    """

    permission_classes = [HasWorkflowPermission]
    renderer_classes = [OpenApiJsonRenderer, OpenApiJsonRenderer2, OpenApiYamlRenderer]
    required_permissions = {"GET": "view"}
    schema = AutoSchema()

    def get_exception_handler(self) -> Any:
        return exception_handler

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        route = request.resolver_match.route if request.resolver_match else ""
        prefix = route.removesuffix("schema/")
        self.patterns = [path(prefix, include("durable_workflows.api.urls"))]
        # drf-spectacular leaves SpectacularAPIView.get unannotated.
        response: Response = super().get(request, *args, **kwargs)  # type: ignore[no-untyped-call]
        return response
