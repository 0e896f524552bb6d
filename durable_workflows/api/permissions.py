"""Who may do what: an authenticated user holding the model permission the action needs.

Each view declares ``required_permissions``, a mapping from HTTP method to the action
name of a :class:`~durable_workflows.models.WorkflowExecution` permission: ``view``
(reading), ``add`` (starting), ``signal``, ``query``, ``update``, ``cancel``, ``terminate``.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from ..models import WorkflowExecution


def permission_name(action: str) -> str:
    """The full permission name, e.g. ``durable_workflows.signal_workflowexecution``."""
    meta = WorkflowExecution._meta
    return f"{meta.app_label}.{action}_{meta.model_name}"


class HasWorkflowPermission(BasePermission):
    """Allows an authenticated user holding the view's permission for this method.

    Anonymous requests are refused before anything else is looked at, so REST
    framework answers 401 (or 403 when no authenticator can challenge).
    """

    message = "You do not have permission to perform this action."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        action = view.required_permissions.get(request.method)
        if action is None:  # OPTIONS and HEAD follow GET
            action = view.required_permissions.get("GET", "view")
        self.message = f"This needs the permission {permission_name(action)!r}."
        return bool(user.has_perm(permission_name(action)))
