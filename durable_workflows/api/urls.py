"""Mount with ``path("api/", include("durable_workflows.api.urls"))``.

Workflow ids may contain ``/``; the more specific routes come first, so an id is read
up to the last ``/history/``, ``/signals/<name>/``, ... of the path.
"""

from django.urls import path, re_path, register_converter

from . import views


class WorkflowIdConverter:
    """Any non-empty text, ``/`` and newlines included (``path`` stops at a newline)."""

    regex = r"[\s\S]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(WorkflowIdConverter, "dw_workflow_id")

app_name = "durable_workflows_api"

WORKFLOW = "workflows/<dw_workflow_id:workflow_id>/"

urlpatterns = [
    path("workflows/", views.WorkflowListView.as_view(), name="workflow-list"),
    path("schema/", views.SchemaView.as_view(), name="schema"),
    path(f"{WORKFLOW}history/", views.WorkflowHistoryView.as_view(), name="workflow-history"),
    path(f"{WORKFLOW}signals/<str:name>/", views.SignalView.as_view(), name="workflow-signal"),
    path(f"{WORKFLOW}queries/<str:name>/", views.QueryView.as_view(), name="workflow-query"),
    path(f"{WORKFLOW}updates/<str:name>/", views.UpdateView.as_view(), name="workflow-update"),
    path(f"{WORKFLOW}cancel/", views.CancelView.as_view(), name="workflow-cancel"),
    path(f"{WORKFLOW}terminate/", views.TerminateView.as_view(), name="workflow-terminate"),
    path(WORKFLOW, views.WorkflowDetailView.as_view(), name="workflow-detail"),
    # Async activity completion: the task token authenticates the call by itself.
    path(
        "activities/<str:task_token>/complete/",
        views.CompleteActivityView.as_view(),
        name="activity-complete",
    ),
    path(
        "activities/<str:task_token>/fail/", views.FailActivityView.as_view(), name="activity-fail"
    ),
    path(
        "activities/<str:task_token>/heartbeat/",
        views.HeartbeatActivityView.as_view(),
        name="activity-heartbeat",
    ),
    # Anything else under the API's prefix: a JSON 404 (after authentication), not a page.
    re_path(r"", views.UnknownRouteView.as_view()),
]
