"""Checking what callers pass before anything is written: ids, handler names, arguments."""

from __future__ import annotations

from typing import Any

from .._engine import HandlerDefinition, WorkflowDefinition, to_json
from .._engine.converter import Signature, check_size
from .._engine.definitions import HANDLER_MARK
from ..conf import dw_settings
from ..exceptions import InvalidArgumentError, UnknownHandlerError


def check_identifier(value: Any, what: str) -> str:
    """Return ``value`` if it is a usable id (a non-empty string of at most 255 characters).

    Raises:
        InvalidArgumentError: it is not.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(f"{what} must be a non-empty string, got {value!r}.")
    if len(value) > 255:
        raise InvalidArgumentError(f"{what} is {len(value)} characters long; the limit is 255.")
    return value


def check_decodable(signature: Signature, payloads: list[Any], what: str) -> None:
    """Refuse arguments that are valid JSON but cannot become the parameters' types.

    Accepted, they would fail every replay of the run (or of the signal) later; refused,
    the caller hears why now.

    Raises:
        InvalidArgumentError: ``"abc"`` for an ``int``, a dict missing a dataclass field, ...
    """
    try:
        signature.decode_args(payloads)
    except InvalidArgumentError:
        raise
    except Exception as exc:
        raise InvalidArgumentError(
            f"The arguments of {what} do not fit its parameter types: {exc}"
        ) from exc


def handler_name(target: Any, kind: str) -> str:
    """The registered name of a handler given as a method or a string."""
    if isinstance(target, str):
        return target
    handler: HandlerDefinition | None = getattr(target, HANDLER_MARK, None)
    if handler is None:
        raise UnknownHandlerError(
            f"{target!r} is not a @workflow.{kind} method; pass the method or its name.",
            kind=kind,
            name=repr(target),
        )
    if handler.kind != kind:
        raise UnknownHandlerError(
            f"{handler.name!r} is a {handler.kind} handler, not a {kind} handler.",
            kind=kind,
            name=handler.name,
        )
    return handler.name


def find_handler(definition: WorkflowDefinition, kind: str, name: str) -> HandlerDefinition:
    handler = definition.handler(kind, name)
    if handler is None:
        known = ", ".join(sorted(definition.handlers_of(kind))) or "none"
        raise UnknownHandlerError(
            f"Workflow type {definition.name!r} has no {kind} named {name!r}. "
            f"Its {kind}s: {known}.",
            kind=kind,
            name=name,
        )
    return handler


def encode_handler_args(
    definition: WorkflowDefinition | None, kind: str, name: str, args: list[Any]
) -> tuple[HandlerDefinition | None, list[Any]]:
    """Check the handler and its arguments (when the type is known here) and encode them."""
    if definition is None:
        payloads = [to_json(a) for a in args]
        check_size(payloads, dw_settings.MAX_PAYLOAD_BYTES, f"The arguments of {kind} {name!r}")
        return None, payloads
    handler = find_handler(definition, kind, name)
    payloads = handler.signature.encode_args(args, dw_settings.MAX_PAYLOAD_BYTES)
    check_decodable(handler.signature, payloads, f"{kind} {name!r}")
    return handler, payloads
