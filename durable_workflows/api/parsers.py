"""The one request format: JSON, bounded in size, storable in PostgreSQL."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from .. import _json
from ..conf import dw_settings
from .errors import PayloadTooLarge

#: Room for the envelope (workflow id, type, queue, ...) around the payload itself.
ENVELOPE_BYTES = 64 * 1024


def max_body_bytes() -> int:
    """The largest request body accepted: one maximal payload plus its envelope."""
    return dw_settings.MAX_PAYLOAD_BYTES + ENVELOPE_BYTES


def _check_storable(value: Any, where: str = "body") -> None:
    """Refuse text PostgreSQL cannot store: NUL characters and lone surrogates."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ParseError(f"A string in the {where} contains a NUL (\\u0000) character.")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ParseError(
                f"A string in the {where} contains an unpaired surrogate (\\ud800-\\udfff)."
            ) from None
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_storable(key, where)
            _check_storable(item, where)
    elif isinstance(value, list):
        for item in value:
            _check_storable(item, where)


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

    A body over :func:`max_body_bytes` is refused with 413 before it is parsed.
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
            data = _json.loads(text, allow_nan=False)
        except (ValueError, LookupError) as exc:
            raise ParseError(f"The request body is not valid JSON: {exc}") from None
        _check_storable(data)
        return data
