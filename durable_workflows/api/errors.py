"""One error shape for every failure: ``{"error": {"code", "message", "field"?}}``.

Library errors carry their HTTP status and code as attributes (see
:mod:`durable_workflows.exceptions`); REST framework's own exceptions carry theirs. The
handler maps both by attribute, so a new error class needs no change here.

What a query handler, an update validator or an update handler raised is shown to the
caller only when user code raised it *for* the caller: a failure
(:class:`~durable_workflows.exceptions.ApplicationError` and the other
:class:`~durable_workflows.exceptions.FailureError` classes), or a ``ValueError`` by which
an update validator rejects an update (Temporal's convention). Anything else (a
``RuntimeError``, a ``KeyError``, the engine's own errors) may hold internal details:
the response names its type and a ``reference``; the full text and traceback go to the
``durable_workflows.api`` logger with that reference.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from ..exceptions import (
    DurableWorkflowsError,
    FailureError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)

logger = logging.getLogger("durable_workflows.api")


class PayloadTooLarge(exceptions.APIException):
    """The request body is larger than the API accepts."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The JSON body of an error response."""
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


def _first_problem(detail: Any, path: tuple[str, ...] = ()) -> tuple[tuple[str, ...], Any]:
    """The first leaf of a (possibly nested) validation error, and where it is."""
    if isinstance(detail, dict) and detail:
        key = next(iter(detail))
        return _first_problem(detail[key], (*path, str(key)))
    if isinstance(detail, list) and detail:
        # A list of messages for one field, or per-item errors of a list field.
        for index, item in enumerate(detail):
            if item:
                is_leaf = isinstance(item, str)
                return _first_problem(item, path if is_leaf else (*path, str(index)))
    return path, detail


def _validation_response(exc: exceptions.ValidationError) -> Response:
    path, leaf = _first_problem(exc.detail)
    field_path = [p for p in path if p != "non_field_errors"]
    message = str(leaf)
    field = ".".join(field_path) or None
    if field is not None:
        message = f"{field}: {message}"
    code = getattr(leaf, "code", None) or "invalid"
    body = error_body(code, message, field)
    body["error"]["details"] = exc.detail
    return Response(body, status=exc.status_code)


def _handler_failure_body(
    exc: WorkflowQueryFailedError | WorkflowUpdateFailedError, context: dict[str, Any]
) -> dict[str, Any]:
    """The body of a 422: the message if user code meant it for the caller, else a reference."""
    # What the handler (or validator) raised: a query failure is raised `from` it; an update
    # rejection is raised while handling it (its cause is the failure built from it); an
    # update whose handler failed has only the failure rebuilt from the history.
    origin = exc.__context__ if exc.__context__ is not None else exc.__cause__
    if origin is None or isinstance(origin, FailureError):
        return error_body(exc.code, str(exc))
    if isinstance(exc, WorkflowUpdateFailedError) and type(origin) is ValueError:
        # A validator rejects by raising; ValueError is the conventional way to say why
        # (as in Temporal's samples), so its message is the answer to the caller.
        return error_body(exc.code, str(exc))
    reference = uuid.uuid4().hex
    logger.error("%s [reference %s]", exc, reference, exc_info=exc)
    kind = "Query" if isinstance(exc, WorkflowQueryFailedError) else "Update"
    name = (context.get("kwargs") or {}).get("name")
    what = f"{kind} {name!r}" if isinstance(name, str) else kind
    verb = (
        "was rejected"
        if isinstance(exc, WorkflowUpdateFailedError) and exc.__context__
        else "failed"
    )
    body = error_body(
        exc.code,
        f"{what} {verb}: {type(origin).__name__} (reference {reference}; the details are in "
        "the server log).",
    )
    body["error"]["reference"] = reference
    return body


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """REST framework exception handler giving every error the same JSON shape."""
    if isinstance(exc, WorkflowQueryFailedError | WorkflowUpdateFailedError):
        set_rollback()
        return Response(_handler_failure_body(exc, context), status=exc.http_status)
    if isinstance(exc, DurableWorkflowsError):
        set_rollback()
        return Response(error_body(exc.code, str(exc)), status=exc.http_status)
    if isinstance(exc, exceptions.ValidationError):
        set_rollback()
        return _validation_response(exc)
    if isinstance(exc, RequestDataTooBig):  # Django's own DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = PayloadTooLarge(f"The request body is over the limit: {exc}")
    response = drf_exception_handler(exc, context)  # APIException, Http404, PermissionDenied
    if response is None:
        return None  # a bug: let Django's 500 handling and logging see it
    detail = response.data.get("detail", response.data) if isinstance(response.data, dict) else ""
    code = getattr(detail, "code", None) or "error"
    response.data = error_body(code, str(detail))
    return response
