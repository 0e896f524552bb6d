"""JSON text, written and read one way: the only module that imports :mod:`json`.

Two forms. :func:`dumps` is the canonical one, for payloads: no spaces, non-ASCII
characters kept as they are, NaN and infinities refused (PostgreSQL's ``jsonb`` refuses
them too); payload sizes are measured on it. :func:`dumps_readable` is for people (the
admin, the management command): spaces after separators, optionally indented.

Pure standard library, so the engine may use it too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["JSONDecodeError", "dumps", "dumps_readable", "loads"]

#: Raised by :func:`loads` on malformed text; a subclass of :class:`ValueError`.
JSONDecodeError = json.JSONDecodeError


def dumps(value: Any, *, allow_nan: bool = False) -> str:
    """Canonical JSON text of JSON-ready data: ``{"a":[1,"é"]}``.

    Raises:
        ValueError: ``value`` holds NaN or an infinity and ``allow_nan`` is false.
        TypeError: ``value`` holds something JSON cannot represent.
    """
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=allow_nan)


def dumps_readable(
    value: Any,
    *,
    indent: int | None = None,
    ensure_ascii: bool = False,
    default: Callable[[Any], Any] | None = None,
) -> str:
    """JSON text for reading: ``{"a": [1, "é"]}`` on one line, or indented by ``indent``.

    ``default`` turns what JSON cannot represent into something it can (e.g. ``str``).
    """
    return json.dumps(value, indent=indent, ensure_ascii=ensure_ascii, default=default)


def loads(text: str | bytes | bytearray, *, allow_nan: bool = True) -> Any:
    """The value of JSON text (UTF-8 if bytes).

    Raises:
        JSONDecodeError: the text is not JSON.
        ValueError: the text holds ``NaN``, ``Infinity`` or ``-Infinity`` and
            ``allow_nan`` is false (they are not JSON, though Python writes them).
    """
    if allow_nan:
        return json.loads(text)
    return json.loads(text, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
