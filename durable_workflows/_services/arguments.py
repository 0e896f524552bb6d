"""Checking what callers pass before anything is written: ids, names, queues, timeouts,
arguments and other payloads.

Every caller (the client, the API, the CLI, schedules) reaches the store through these
checks, so a value PostgreSQL cannot store, or that would fail every replay later, is
refused up front with :class:`InvalidArgumentError` (or :class:`PayloadError`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from .._engine import HandlerDefinition, WorkflowDefinition, to_json
from .._engine.converter import Signature, check_size, text_depth
from .._engine.definitions import HANDLER_MARK
from .._engine.options import TASK_QUEUE_PATTERN
from ..conf import dw_settings
from ..exceptions import InvalidArgumentError, UnknownHandlerError

#: The longest timeout accepted (an execution timeout, a wait): ten years. Longer ones are
#: mistakes, and ``timedelta.max`` would overflow the date arithmetic of deadlines.
MAX_TIMEOUT = timedelta(days=3650)


def json_text_depth(text: str) -> int:
    """How deeply JSON text nests (``[]`` is 1), found without parsing or recursion."""
    return text_depth(text)


def check_text(value: Any, what: str) -> str:
    """Return ``value`` if PostgreSQL can store it as text: a string, no NUL, valid Unicode.

    Raises:
        InvalidArgumentError: it is not.
    """
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{what} must be a string, got {type(value).__name__}.")
    if "\x00" in value:
        raise InvalidArgumentError(f"{what} contains a NUL (\\u0000) character.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgumentError(
            f"{what} contains an unpaired surrogate (\\ud800-\\udfff): not valid Unicode text."
        ) from None
    return value


def check_identifier(value: Any, what: str) -> str:
    """Return ``value`` if it is a usable id: a non-empty, storable string of at most 255
    characters.

    Raises:
        InvalidArgumentError: it is not.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(f"{what} must be a non-empty string, got {value!r}.")
    if len(value) > 255:
        raise InvalidArgumentError(f"{what} is {len(value)} characters long; the limit is 255.")
    return check_text(value, what)


def check_task_queue(value: Any) -> str:
    """Return ``value`` if it is a well-formed task queue name that the settings allow.

    Raises:
        InvalidArgumentError: a malformed name (see :data:`TASK_QUEUE_PATTERN`), or one
            that ``ALLOWED_TASK_QUEUES`` does not list (``DEFAULT_TASK_QUEUE`` is always
            allowed).
    """
    if not isinstance(value, str) or not TASK_QUEUE_PATTERN.fullmatch(value):
        shown = repr(value) if not isinstance(value, str) or len(value) <= 120 else "(too long)"
        raise InvalidArgumentError(
            f"The task queue {shown} is not a valid name: 1 to 100 letters, digits or "
            "'_.-:@', starting with a letter, a digit or '_'."
        )
    allowed = dw_settings.ALLOWED_TASK_QUEUES
    if allowed is not None and value not in allowed and value != dw_settings.DEFAULT_TASK_QUEUE:
        known = ", ".join(sorted({*allowed, dw_settings.DEFAULT_TASK_QUEUE}))
        raise InvalidArgumentError(
            f"The task queue {value!r} is not allowed (setting "
            f"DURABLE_WORKFLOWS['ALLOWED_TASK_QUEUES']). Allowed: {known}."
        )
    return value


def check_timeout(value: Any, what: str) -> timedelta | None:
    """Return ``value`` (None or a timedelta) if it is positive and at most :data:`MAX_TIMEOUT`.

    Raises:
        InvalidArgumentError: it is not.
    """
    if value is None:
        return None
    if not isinstance(value, timedelta):
        raise InvalidArgumentError(f"{what} must be a timedelta, got {type(value).__name__}.")
    if value <= timedelta(0) or value > MAX_TIMEOUT:
        raise InvalidArgumentError(
            f"{what} must be positive and at most {MAX_TIMEOUT.days} days, got {value}."
        )
    return value


def check_wait_seconds(value: Any, what: str) -> float | None:
    """How long a caller waits (``result()``, an update): None for ever, else seconds.

    Accepts seconds or a timedelta; zero is allowed (look once, do not wait).

    Raises:
        InvalidArgumentError: negative, not a number, or over :data:`MAX_TIMEOUT`.
    """
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise InvalidArgumentError(
            f"{what} must be a number of seconds or a timedelta, got {type(value).__name__}."
        )
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_TIMEOUT.total_seconds():
        raise InvalidArgumentError(
            f"{what} must be between 0 and {MAX_TIMEOUT.days} days, got {value!r}."
        )
    return float(seconds)


def encode_payload(value: Any, what: str) -> Any:
    """One payload as stored: JSON-ready, within the depth and size limits, storable.

    Raises:
        PayloadError: not JSON, nested deeper than ``MAX_PAYLOAD_DEPTH`` or cyclic, NUL
            characters or lone surrogates in a string, over ``MAX_PAYLOAD_BYTES``.
    """
    data = to_json(value, max_depth=dw_settings.MAX_PAYLOAD_DEPTH, what=what)
    check_size(data, dw_settings.MAX_PAYLOAD_BYTES, what)
    return data


def encode_mapping(value: Any, what: str) -> dict[str, Any]:
    """A memo or the search attributes as stored (``None`` is empty); see :func:`encode_payload`.

    Raises:
        InvalidArgumentError: not a mapping with string keys.
        PayloadError: as :func:`encode_payload`.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"{what} must be a dict, got {type(value).__name__}.")
    for key in value:
        check_text(key, f"A key of {what.lower()}")
    data: dict[str, Any] = encode_payload(value, what)
    return data


def encode_args(signature: Signature, args: list[Any], what: str) -> list[Any]:
    """Arguments as stored, after checking they fit ``signature`` (count and types).

    Raises:
        InvalidArgumentError: the wrong number of arguments, or values that do not fit.
        PayloadError: an argument cannot be stored.
    """
    payloads = signature.encode_args(
        args, dw_settings.MAX_PAYLOAD_BYTES, max_depth=dw_settings.MAX_PAYLOAD_DEPTH
    )
    check_decodable(signature, payloads, what)
    return payloads


def check_decodable(signature: Signature, payloads: list[Any], what: str) -> None:
    """Refuse arguments that are valid JSON but do not fit the parameters' type hints.

    The check is strict (``1.5`` or ``"1"`` for an ``int``, ``1`` for a ``str``, ``None``
    where the hint does not admit it are refused): accepted, such values would reach
    workflow code as something else than its hints promise, or fail every replay of the
    run later; refused, the caller hears why now.

    Raises:
        InvalidArgumentError: ``"abc"`` for an ``int``, a dict missing a dataclass field, ...
    """
    try:
        signature.decode_args(payloads, strict=True)
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
    check_identifier(name, f"The {kind} name")
    if definition is None:
        payloads = [
            to_json(
                a,
                max_depth=dw_settings.MAX_PAYLOAD_DEPTH,
                what=f"Argument {i} of {kind} {name!r}",
            )
            for i, a in enumerate(args, 1)
        ]
        check_size(payloads, dw_settings.MAX_PAYLOAD_BYTES, f"The arguments of {kind} {name!r}")
        return None, payloads
    handler = find_handler(definition, kind, name)
    return handler, encode_args(handler.signature, args, f"{kind} {name!r}")
