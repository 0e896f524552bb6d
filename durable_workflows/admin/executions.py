"""The workflow executions admin: a fast list, a read-only detail page, guarded actions.

The history is never editable here: executions cannot be added or changed, a
running one cannot be deleted, and events, activities and timers have no admin
of their own. Signal, cancel and terminate each confirm on an intermediate page,
need their model permission, and call ``_services``; nothing else writes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.forms import Form
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .. import _services
from ..exceptions import DurableWorkflowsError
from ..models import ActivityTask, HistoryEvent, Timer, WorkflowExecution, WorkflowStatus
from .changelist import (
    EstimatedCountPaginator,
    ExecutionChangeList,
    IndexedValuesFilter,
)
from .display import (
    api_url,
    failure_chain,
    format_duration,
    format_time,
    preview,
    run_duration,
    shown,
    timeline_page,
)
from .forms import ReasonForm, SignalForm

if TYPE_CHECKING:
    from django.db.models.options import Options

#: At most this many workflows per bulk action: the confirmation page posts their ids
#: back, and Django refuses forms with more than DATA_UPLOAD_MAX_NUMBER_FIELDS fields.
MAX_BULK = 500

TEMPLATES = "admin/durable_workflows/workflowexecution/"


@dataclass(frozen=True)
class MessageAction:
    """What the confirmation page of one action says."""

    kind: str  # also the permission's prefix: signal_workflowexecution, ...
    title: str
    question: str
    button: str
    done: str  # "<done> wf-1, wf-2."
    by: str = ""  # the recorded reason when none is given: "<by> by <user> in the admin"


ACTIONS = {
    "signal": MessageAction(
        "signal",
        "Send a signal",
        "Send this signal to the following running workflows?",
        "Yes, send the signal",
        "Signalled",
    ),
    "cancel": MessageAction(
        "cancel",
        "Request cancellation",
        "Request cancellation of the following running workflows? Each sees a "
        "CancelledError at its current await and may clean up before it closes.",
        "Yes, request cancellation",
        "Cancellation requested for",
        "Cancellation requested",
    ),
    "terminate": MessageAction(
        "terminate",
        "Terminate",
        "Terminate the following running workflows? They close as TERMINATED at once; "
        "no workflow code runs, and pending activities and timers are abandoned.",
        "Yes, terminate",
        "Terminated",
        "Terminated",
    ),
}


@admin.register(WorkflowExecution)
class WorkflowExecutionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "status_badge",
        "workflow_id",
        "workflow_type",
        "task_queue",
        "started",
        "closed",
        "duration",
        "history_length",
    )
    list_display_links = ("workflow_id",)
    list_filter = (
        "status",
        ("workflow_type", IndexedValuesFilter),
        ("task_queue", IndexedValuesFilter),
        ("start_time", admin.DateFieldListFilter),
    )
    search_fields = ("workflow_id", "=run_id")
    search_help_text = (
        "A workflow id (or its beginning), a run id, or a search attribute filter such as "
        'CustomerId = "c-7" AND Amount > 10 (operators = != > >= < <=, joined by AND).'
    )
    ordering = ("-start_time", "-id")
    sortable_by = ("started", "closed")
    list_per_page = 50
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ["signal_selected", "cancel_selected", "terminate_selected", "delete_selected"]

    class Media:
        css = {"all": ["durable_workflows/admin.css"]}

    #: The only lookups a changelist URL may carry: those of the filters above, and the
    #: exact workflow id of a run page's "All runs" link. Django would otherwise evaluate
    #: any lookup on the model's own fields (``?workflow_id__regex=...``).
    offered_lookups = frozenset(
        {
            "workflow_id",
            "workflow_id__exact",
            "status__exact",
            "status__isnull",
            "workflow_type",
            "workflow_type__exact",
            "workflow_type__isnull",
            "task_queue",
            "task_queue__exact",
            "task_queue__isnull",
            "start_time__gte",
            "start_time__lt",
            "start_time__isnull",
        }
    )

    # --- the list -------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        """The runs this user may see (``DURABLE_WORKFLOWS["VISIBLE_RUNS"]``); the list,
        the run pages and the actions all start here."""
        return _services.visible_runs(super().get_queryset(request), request.user)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        """Only the lookups the page offers; anything else is a 400 (Django's
        DisallowedModelAdminLookup)."""
        return lookup in self.offered_lookups

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ExecutionChangeList]:
        return ExecutionChangeList

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        """A workflow id prefix, a run id, or a search attribute filter (anything with an
        operator): lookups the indexes can serve."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if any(op in term for op in "=<>"):
            try:
                return _services.filter_by_query(queryset, term), False
            except DurableWorkflowsError as exc:
                messages.error(request, str(exc))
                return queryset.none(), False
        if _is_uuid(term):
            return queryset.filter(Q(run_id=term) | Q(workflow_id=term)), False
        return queryset.filter(workflow_id__startswith=term), False

    @admin.display(description="Status")
    def status_badge(self, obj: WorkflowExecution) -> SafeString:
        return status_badge(obj.status)

    @admin.display(description="Start time", ordering="start_time")
    def started(self, obj: WorkflowExecution) -> str:
        return format_time(obj.start_time)

    @admin.display(description="Close time", ordering="close_time")
    def closed(self, obj: WorkflowExecution) -> str:
        return format_time(obj.close_time) if obj.close_time else "—"

    @admin.display(description="Duration")
    def duration(self, obj: WorkflowExecution) -> str:
        return format_duration(run_duration(obj, timezone.now()))

    # --- nothing is edited here -----------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_running:
            return False  # cancel or terminate it first; its history is still being written
        return super().has_delete_permission(request, obj)

    def has_signal_permission(self, request: HttpRequest) -> bool:
        return self._has_message_permission(request, "signal")

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return self._has_message_permission(request, "cancel")

    def has_terminate_permission(self, request: HttpRequest) -> bool:
        return self._has_message_permission(request, "terminate")

    def _has_message_permission(self, request: HttpRequest, kind: str) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.{kind}_{self.opts.model_name}")

    def delete_model(self, request: HttpRequest, obj: WorkflowExecution) -> None:
        if obj.is_running:
            raise PermissionDenied("A running workflow cannot be deleted.")
        _services.delete_closed_runs(WorkflowExecution.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        _services.delete_closed_runs(queryset)

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[str], dict[str, int], set[str], list[str]]:
        """Counts of the rows that go with the runs, rather than every event listed."""
        executions = list(objs)
        pks = [execution.pk for execution in executions]
        counts = {
            str(self.opts.verbose_name_plural): len(executions),
            "history events": HistoryEvent.objects.filter(execution_id__in=pks).count(),
            "activity tasks": ActivityTask.objects.filter(execution_id__in=pks).count(),
            "timers": Timer.objects.filter(execution_id__in=pks).count(),
        }
        perms_needed = set() if self.has_delete_permission(request) else {"workflow execution"}
        return [str(execution) for execution in executions], counts, perms_needed, []

    if TYPE_CHECKING:
        # ModelAdmin's own "doesn't exist" redirect (a message and the admin index), which
        # change_view reuses; django-stubs leaves this private method out.
        def _get_obj_does_not_exist_redirect(
            self, request: HttpRequest, opts: Options[Any], object_id: str
        ) -> HttpResponseRedirect: ...

    # --- the detail page ------------------------------------------------------------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """A read-only page: summary, payloads, pending work and the history timeline."""
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        execution = self.get_object(request, unquote(object_id))
        if execution is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, execution):
            raise PermissionDenied
        description = _services.describe(execution)
        full_url = api_url(execution)
        context = {
            **self.admin_site.each_context(request),
            **(extra_context or {}),
            "opts": self.opts,
            "title": f"{execution.workflow_type} {execution.workflow_id}",
            "execution": execution,
            "description": description,
            "status_badge": status_badge(execution.status),
            "duration": format_duration(run_duration(execution, timezone.now())),
            "input": shown(execution.input, full_url),
            "result": shown(execution.result, full_url)
            if execution.status == WorkflowStatus.COMPLETED
            else None,
            "failure_chain": failure_chain(execution.failure),
            "task_failure": execution.task_failure,
            "pending_activities": [
                {
                    "activity": activity,
                    "failure_chain": failure_chain(activity.last_failure),
                    "heartbeat": shown(activity.heartbeat_details, full_url)
                    if activity.heartbeat_details is not None
                    else None,
                }
                for activity in description.pending_activities
            ],
            "search_attributes": shown(execution.search_attributes, full_url)
            if execution.search_attributes
            else None,
            "memo": shown(execution.memo, full_url) if execution.memo else None,
            "related": self._related_links(execution),
            "concurrency_url": self._url("concurrency"),
            "timeline": timeline_page(execution, request.GET.get("events_page")),
            "message_actions": self._available_actions(request, execution),
            "all_runs_url": self._url("changelist")
            + "?"
            + urlencode({"workflow_id": execution.workflow_id}),
            "history_url": self._url("history", execution.pk),
            "delete_url": self._url("delete", execution.pk)
            if self.has_delete_permission(request, execution)
            else "",
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, TEMPLATES + "detail.html", context)

    def _related_links(self, execution: WorkflowExecution) -> dict[str, Any]:
        """Parent, children and chain neighbours, each with its admin page's URL."""
        related = _services.related_runs(execution)

        def link(pair: tuple[int, Any] | None) -> dict[str, Any] | None:
            return None if pair is None else {"ref": pair[1], "url": self._url("change", pair[0])}

        return {
            "parent": link(related.parent),
            "continued_from": link(related.continued_from),
            "continued_as": link(related.continued_as),
            "children": [link(child) for child in related.children],
        }

    def _available_actions(
        self, request: HttpRequest, execution: WorkflowExecution
    ) -> list[tuple[MessageAction, str]]:
        if not execution.is_running:
            return []
        return [
            (action, self._url(kind, execution.pk))
            for kind, action in ACTIONS.items()
            if self._has_message_permission(request, kind)
        ]

    def _url(self, name: str, *args: Any) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_{name}",
            args=args,
            current_app=self.admin_site.name,
        )

    # --- signal, cancel, terminate ----------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        custom = [
            path(
                "concurrency/",
                self.admin_site.admin_view(self._concurrency_view),
                name=f"{prefix}_concurrency",
            ),
        ] + [
            path(
                f"<path:object_id>/{kind}/",
                self.admin_site.admin_view(self._object_action_view),
                {"kind": kind},
                name=f"{prefix}_{kind}",
            )
            for kind in ACTIONS
        ]
        return custom + super().get_urls()

    def _concurrency_view(self, request: HttpRequest) -> HttpResponse:
        """Per concurrency key (activity type and key value): slots in use, attempts waiting."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Concurrency limits",
            "keys": _services.concurrency_overview(),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, TEMPLATES + "concurrency.html", context)

    def _object_action_view(self, request: HttpRequest, object_id: str, kind: str) -> HttpResponse:
        execution = self.get_object(request, unquote(object_id))
        if execution is None:
            raise Http404("No such workflow execution.")
        if not (
            self.has_view_or_change_permission(request, execution)
            and self._has_message_permission(request, kind)
        ):
            raise PermissionDenied
        queryset = self.get_queryset(request).filter(pk=execution.pk)
        response = self._confirm_then_act(request, kind, queryset, bulk_action="")
        return response or redirect(self._url("change", execution.pk))

    @admin.action(description="Signal selected running workflows", permissions=["signal"])
    def signal_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        return self._confirm_then_act(request, "signal", queryset, bulk_action="signal_selected")

    @admin.action(description="Cancel selected running workflows", permissions=["cancel"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        return self._confirm_then_act(request, "cancel", queryset, bulk_action="cancel_selected")

    @admin.action(description="Terminate selected running workflows", permissions=["terminate"])
    def terminate_selected(
        self, request: HttpRequest, queryset: QuerySet[Any]
    ) -> HttpResponse | None:
        return self._confirm_then_act(
            request, "terminate", queryset, bulk_action="terminate_selected"
        )

    @admin.action(description="Delete selected closed workflows", permissions=["delete"])
    def delete_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        running = queryset.filter(status=WorkflowStatus.RUNNING).count()
        if running:
            self.message_user(
                request,
                f"Nothing was deleted: {running} of the selected workflows are running. "
                "Cancel or terminate them first.",
                messages.ERROR,
            )
            return None
        if queryset.count() > MAX_BULK:
            self.message_user(request, f"Select at most {MAX_BULK} workflows.", messages.ERROR)
            return None
        return django_delete_selected(self, request, queryset)

    def _confirm_then_act(
        self, request: HttpRequest, kind: str, queryset: QuerySet[Any], *, bulk_action: str
    ) -> HttpResponse | None:
        """Show the confirmation page; act once it is submitted valid. None: go back."""
        action = ACTIONS[kind]
        running_runs = queryset.filter(status=WorkflowStatus.RUNNING)
        running = list(running_runs.only(*_services.LIST_FIELDS)[: MAX_BULK + 1])
        if not running:
            self.message_user(
                request,
                "Nothing was done: none of the selected workflows is running.",
                messages.WARNING,
            )
            return None
        if len(running) > MAX_BULK:
            self.message_user(
                request,
                f"Select at most {MAX_BULK} running workflows per action; narrow the filter.",
                messages.ERROR,
            )
            return None
        confirmed = request.method == "POST" and request.POST.get("post") == "yes"
        data = request.POST if confirmed else None
        form: Form = (
            SignalForm(data, workflow_types={e.workflow_type for e in running})
            if kind == "signal"
            else ReasonForm(data)
        )
        if confirmed and form.is_valid():
            self._act(request, action, running, form.cleaned_data)
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": action.title,
            "action": action,
            "form": form,
            "targets": running,
            "skipped": queryset.exclude(status=WorkflowStatus.RUNNING).count(),
            "bulk_action": bulk_action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "back_url": self._url("change", running[0].pk)
            if not bulk_action
            else self._url("changelist"),
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, TEMPLATES + "confirm_action.html", context)

    def _act(
        self,
        request: HttpRequest,
        action: MessageAction,
        executions: list[WorkflowExecution],
        data: dict[str, Any],
    ) -> None:
        user = request.user.get_username()
        reason = data.get("reason") or f"{action.by} by {user} in the admin"
        done, unchanged, errors = [], [], []
        for execution in executions:
            run_id = str(execution.run_id)
            try:
                if action.kind == "signal":
                    _services.signal_workflow(
                        execution.workflow_id, data["signal_name"], data["args"], run_id=run_id
                    )
                    note = f"Sent signal {data['signal_name']!r} with {preview(data['args'], 1000)}"
                elif action.kind == "cancel":
                    if not _services.cancel_workflow(
                        execution.workflow_id, run_id=run_id, reason=reason
                    ):
                        unchanged.append(execution.workflow_id)
                        continue
                    note = f"Requested cancellation: {reason}"
                else:
                    _services.terminate_workflow(execution.workflow_id, reason, run_id=run_id)
                    note = f"Terminated: {reason}"
            except DurableWorkflowsError as exc:
                errors.append(f"{execution.workflow_id}: {exc}")
                continue
            done.append(execution.workflow_id)
            self.log_change(request, execution, note)
        if done:
            self.message_user(request, f"{action.done} {_ids(done)}.", messages.SUCCESS)
        if unchanged:
            self.message_user(
                request, f"Cancellation was already requested for {_ids(unchanged)}.", messages.INFO
            )
        for error in errors:
            self.message_user(request, error, messages.ERROR)


def status_badge(status: str) -> SafeString:
    """The status as a coloured badge."""
    return format_html(
        '<span class="dw-badge dw-status-{}">{}</span>', status.lower(), status.replace("_", " ")
    )


def _ids(workflow_ids: list[str]) -> str:
    shown = ", ".join(workflow_ids[:5])
    more = len(workflow_ids) - 5
    return f"{shown} and {more} more" if more > 0 else shown


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
