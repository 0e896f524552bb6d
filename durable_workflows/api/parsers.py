"""The one request format: JSON, bounded in size and nesting, storable in PostgreSQL."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from .. import _json
from .._services.arguments import json_text_depth
from ..conf import dw_settings
from .errors import PayloadTooLarge

#: Room for the envelope (workflow id, type, queue, ...) around the payload itself.
ENVELOPE_BYTES = 64 * 1024
#: Levels of nesting around a payload: the body's object and its ``args`` list.
ENVELOPE_DEPTH = 2


def max_body_bytes() -> int:
    """The largest request body accepted: one maximal payload plus its envelope."""
    return dw_settings.MAX_PAYLOAD_BYTES + ENVELOPE_BYTES


def max_body_depth() -> int:
    """The deepest nesting accepted in a body: one maximal payload inside its envelope."""
    return dw_settings.MAX_PAYLOAD_DEPTH + ENVELOPE_DEPTH


def _check_storable(value: Any, where: str = "body") -> None:
    """Refuse text PostgreSQL cannot store: NUL characters and lone surrogates.

    Iterative: the body's depth is bounded already, but a walk needs no recursion.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ParseError(f"A string in the {where} contains a NUL (\\u0000) character.")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ParseError(
                    f"A string in the {where} contains an unpaired surrogate (\\ud800-\\udfff)."
                ) from None
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def check_declared_size(request: Any) -> None:
    """Refuse (413) a request whose Content-Length is over the limit, before reading it."""
    limit = max_body_bytes()
    declared = request.META.get("CONTENT_LENGTH")
    if declared and str(declared).isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            f"The request body is {int(declared):,} bytes; the limit is {limit:,} bytes."
        )


class BoundedJSONParser(JSONParser):
    """REST framework's strict JSON parser, with a size limit and storable strings only.

    A body over :func:`max_body_bytes` is refused with 413 before it is parsed; one nested
    deeper than :func:`max_body_depth` with 400 (``parse_error``), also before it is parsed,
    so no recursive parsing or validation ever sees it.
    """

    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = max_body_bytes()
        request = (parser_context or {}).get("request")
        if request is not None:
            check_declared_size(request)
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"The request body is over the limit of {limit:,} bytes.")
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        try:
            text = codecs.decode(raw, encoding)
        except (ValueError, LookupError) as exc:
            raise ParseError(f"The request body is not valid JSON: {exc}") from None
        depth, limit_depth = json_text_depth(text), max_body_depth()
        if depth > limit_depth:
            raise ParseError(
                f"The request body nests arrays and objects {depth} levels deep; the limit is "
                f"{limit_depth} (a payload may nest {dw_settings.MAX_PAYLOAD_DEPTH} levels, "
                "setting DURABLE_WORKFLOWS['MAX_PAYLOAD_DEPTH'], inside the request's object "
                "and its args list)."
            )
        try:
            data = _json.loads(text, allow_nan=False)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"The request body is not valid JSON: {exc}") from None
        _check_storable(data)
        return data
