"""The one payload converter: Python values <-> JSON-ready data, guided by type hints.

Encoding needs no hints: dataclasses, pydantic models, datetimes, dates, times,
timedeltas, decimals, UUIDs, enums, tuples and sets become plain JSON. Decoding
uses the hint of the parameter or return value the data is meant for, so a
``datetime`` parameter receives a ``datetime`` again. Without a hint the plain
JSON value is returned. Never pickle.

Two ways to decode. Replay is lenient: a history written by older code decodes as it
always did. Arguments entering the system (start, signal, query, update) are first
checked with ``strict=True``: a value that does not fit its hint (``"abc"`` or ``1.5``
for an ``int``, ``1`` for a ``str``, ``None`` for a parameter that does not admit it)
is refused, so it never reaches a history.

A payload is also refused when it cannot be stored: nested deeper than
``max_depth`` (or containing itself), holding NUL characters or lone surrogates in a
string (PostgreSQL's ``jsonb`` refuses both), or larger than ``max_bytes`` as JSON.
Depth is checked without recursion, before any recursive work.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import inspect
import itertools
import re
import types
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from .. import _json
from ..exceptions import InvalidArgumentError, PayloadError

DEFAULT_MAX_PAYLOAD_BYTES = 2 * 1024 * 1024
#: How deeply lists, dicts and dataclasses may nest in one payload (``[]`` is 1 level).
DEFAULT_MAX_PAYLOAD_DEPTH = 64

_SCALARS = (str, int, float, bool, type(None), bytes)


def _children(value: Any) -> Any:
    """What a value holds that conversion will visit, or None for a leaf."""
    if isinstance(value, _SCALARS):
        return None
    if isinstance(value, Mapping):
        return value.values()
    if isinstance(value, (list, tuple, set, frozenset)):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [getattr(value, f.name) for f in dataclasses.fields(value)]
    return None  # datetimes, enums, pydantic models (which check their own nesting), ...


def _depth_error(what: str, max_depth: int) -> PayloadError:
    return PayloadError(
        f"{what} is nested more than {max_depth} levels deep (lists, dicts and objects "
        "inside each other; setting DURABLE_WORKFLOWS['MAX_PAYLOAD_DEPTH'])."
    )


def check_depth(value: Any, max_depth: int, what: str = "The value") -> None:
    """Refuse a value nested deeper than ``max_depth``, or containing itself.

    Iterative, so a deep or cyclic value gives :class:`PayloadError`, never RecursionError.
    Works on Python values (lists, tuples, sets, mappings, dataclasses) and on JSON data.
    """
    exit_marker = object()
    on_path: set[int] = set()
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if node is exit_marker:
            on_path.discard(depth)  # here ``depth`` carries the id of the node left
            continue
        children = _children(node)
        if children is None:
            continue
        if id(node) in on_path:
            raise PayloadError(
                f"{what} contains itself (a list, dict or object that refers to one of "
                "its containers): JSON cannot represent a cycle."
            )
        if depth + 1 > max_depth:
            raise _depth_error(what, max_depth)
        on_path.add(id(node))
        stack.append((exit_marker, id(node)))
        stack.extend((child, depth + 1) for child in children)


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def text_depth(text: str) -> int:
    """How deeply the arrays and objects of JSON text nest (``[]`` is 1), without parsing it.

    Linear and iterative (regular expressions, then a running sum), so it can guard a
    parser from input nested deeper than its recursion allows. Text that is not JSON
    gives some number; parsing it fails anyway.
    """
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(itertools.accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0)


# An escaped NUL in canonical JSON text: ``\u0000`` after an even number of backslashes.
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def to_json(
    value: Any, *, max_depth: int = DEFAULT_MAX_PAYLOAD_DEPTH, what: str = "The value"
) -> Any:
    """Turn ``value`` into JSON-ready data, or raise :class:`PayloadError`.

    The nesting (and the absence of cycles) is checked first, without recursion, so the
    conversion itself never recurses more than ``max_depth`` levels.
    """
    check_depth(value, max_depth, what)
    return _to_json(value)


def _to_json(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise PayloadError(f"{value!r} cannot be stored: JSON has no NaN or infinity.")
        return value
    if isinstance(value, enum.Enum):
        return _to_json(value.value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):  # pydantic v2 model
        try:
            return model_dump(mode="json")
        except ValueError as exc:  # pydantic: a cycle, an unserializable field
            raise PayloadError(f"{type(value).__name__} cannot be stored: {exc}") from exc
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise PayloadError(
                    f"Dictionary key {key!r} cannot be stored: JSON keys must be strings."
                )
            out[str(key) if not isinstance(key, str) else key] = _to_json(item)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_to_json(item) for item in value]
    raise PayloadError(
        f"Object of type {type(value).__name__} cannot be stored: payloads are JSON. "
        "Pass JSON types, dataclasses, pydantic models, datetimes, decimals or UUIDs."
    )


#: What a failed decode raises; a caller trying the options of a Union catches these.
DECODE_ERRORS = (TypeError, ValueError, KeyError, ArithmeticError)


def _describe(data: Any) -> str:
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}.get(
        type(data), "an array" if isinstance(data, list) else "an object"
    )
    text = repr(data)
    return f"{kind} {text if len(text) <= 40 else text[:37] + '...'}"


def _hint_name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")


def _refuse(data: Any, hint: Any) -> TypeError:
    return TypeError(f"expected {_hint_name(hint)}, got {_describe(data)}")


def admits_none(hint: Any) -> bool:
    """Whether ``None`` is a value of ``hint`` (``Optional[...]``, ``Any``, no hint, ...)."""
    if hint in (None, type(None), Any, object, inspect.Parameter.empty):
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return admits_none(typing.get_args(hint)[0])
    if origin is typing.Union or origin is types.UnionType:
        return any(admits_none(a) for a in typing.get_args(hint))
    if origin is typing.Literal:
        return None in typing.get_args(hint)
    # A TypeVar, a string left unresolved, a protocol ...: nothing to check against.
    return origin is None and not isinstance(hint, type)


def from_json(data: Any, hint: Any, *, strict: bool = False) -> Any:
    """Rebuild a value of type ``hint`` from JSON-ready ``data``.

    Lenient by default (replay): data that does not fit is passed on as it is. With
    ``strict``, it raises TypeError or ValueError instead: ``int`` takes integers (and
    floats without a fraction), not booleans or strings; ``float`` takes integers and
    floats; ``str`` and ``bool`` take only themselves; containers and dataclasses take
    JSON arrays and objects whose items fit; ``None`` only where the hint admits it.
    """
    if hint is None or hint is Any or hint is inspect.Parameter.empty:
        return data
    if data is None:
        if strict and not admits_none(hint):
            raise _refuse(data, hint)
        return data
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return from_json(data, typing.get_args(hint)[0], strict=strict)
    if origin is typing.Union or origin is types.UnionType:
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if strict and type(data) in options:  # an exact JSON scalar type: no conversion
            return data
        for option in options:
            try:
                return from_json(data, option, strict=strict)
            except DECODE_ERRORS:
                continue
        if strict:
            raise _refuse(data, hint)
        return data
    if origin is typing.Literal:
        allowed = typing.get_args(hint)
        if strict and not any(type(data) is type(a) and data == a for a in allowed):
            raise ValueError(f"expected one of {', '.join(map(repr, allowed))}, got {data!r}")
        return data
    if origin in (list, Sequence, set, frozenset, tuple):
        if strict and not isinstance(data, list):
            raise _refuse(data, hint)
        args = typing.get_args(hint)
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(from_json(item, args[0], strict=strict) for item in data)
            if args:
                if strict and len(data) != len(args):
                    raise ValueError(f"expected {len(args)} items, got {len(data)}")
                return tuple(
                    from_json(item, a, strict=strict) for item, a in zip(data, args, strict=False)
                )
            return tuple(data)
        item_hint = args[0] if args else None
        items = [from_json(item, item_hint, strict=strict) for item in data]
        return items if origin in (list, Sequence) else origin(items)
    if origin in (dict, Mapping):
        if strict and not isinstance(data, dict):
            raise _refuse(data, hint)
        args = typing.get_args(hint)
        key_hint, value_hint = args if len(args) == 2 else (None, None)
        # JSON keys are strings: "1" is the key 1 of a dict[int, ...], so keys decode leniently
        # (a key that cannot become the key type still raises).
        return {
            from_json(k, key_hint): from_json(v, value_hint, strict=strict) for k, v in data.items()
        }
    if not isinstance(hint, type):
        return data
    if hint is bool or hint is str:
        if strict and type(data) is not hint:
            raise _refuse(data, hint)
        return data
    if hint is int:
        return _to_int(data, strict)
    if hint is float:
        if isinstance(data, (int, float)) and not (strict and isinstance(data, bool)):
            return float(data)
        if strict:
            raise _refuse(data, hint)
        return data
    if issubclass(hint, enum.Enum):
        return hint(data)
    if strict and issubclass(hint, (dt.date, dt.time, uuid.UUID)) and not isinstance(data, str):
        raise _refuse(data, hint)
    if issubclass(hint, dt.datetime):
        return dt.datetime.fromisoformat(data)
    if issubclass(hint, dt.date):
        return dt.date.fromisoformat(data)
    if issubclass(hint, dt.time):
        return dt.time.fromisoformat(data)
    if strict and issubclass(hint, (dt.timedelta, Decimal)):
        if isinstance(data, bool) or not isinstance(data, (int, float, str)):
            raise _refuse(data, hint)
        if isinstance(data, str) and not issubclass(hint, Decimal):
            raise _refuse(data, hint)
    if issubclass(hint, dt.timedelta):
        return dt.timedelta(seconds=data)
    if issubclass(hint, Decimal):
        return Decimal(str(data))
    if issubclass(hint, uuid.UUID):
        return uuid.UUID(str(data))
    if dataclasses.is_dataclass(hint):
        return _dataclass_from_json(data, hint, strict)
    model_validate = getattr(hint, "model_validate", None)
    if callable(model_validate):
        return model_validate(data)
    if strict and issubclass(hint, (list, tuple, set, frozenset, dict)):
        expected = dict if issubclass(hint, dict) else list
        if not isinstance(data, expected):
            raise _refuse(data, hint)
    return data


def _dataclass_from_json(data: Any, cls: Any, strict: bool) -> Any:
    if strict and not isinstance(data, dict):
        raise _refuse(data, cls)
    field_hints = typing.get_type_hints(cls)
    kwargs = {
        f.name: from_json(data[f.name], field_hints.get(f.name), strict=strict)
        for f in dataclasses.fields(cls)
        if f.name in data and f.init
    }
    return cls(**kwargs)


def _to_int(data: Any, strict: bool) -> Any:
    if isinstance(data, bool):
        if strict:
            raise _refuse(data, int)
        return data
    if isinstance(data, int):
        return data
    if isinstance(data, float) and data.is_integer():
        return int(data)  # 2.0, as JSON written by some clients spells 2
    if strict:
        raise _refuse(data, int)
    return int(data) if isinstance(data, str) else data


def dumps(data: Any) -> str:
    """Canonical JSON text of JSON-ready data (used for size checks and export)."""
    return _json.dumps(data)


def check_size(data: Any, max_bytes: int, what: str) -> None:
    """Refuse JSON-ready data that cannot be stored, with :class:`PayloadError`.

    PostgreSQL's ``jsonb`` holds no NUL character and no lone surrogate; the canonical
    JSON text must fit in ``max_bytes`` (UTF-8).
    """
    text = dumps(data)
    if _ESCAPED_NUL.search(text):
        raise PayloadError(
            f"{what}: a string holds a NUL (\\u0000) character, which PostgreSQL cannot store."
        )
    try:
        size = len(text.encode())
    except UnicodeEncodeError:
        raise PayloadError(
            f"{what}: a string holds an unpaired surrogate (\\ud800-\\udfff), which is not "
            "valid Unicode text."
        ) from None
    if size > max_bytes:
        raise PayloadError(
            f"{what} is {size:,} bytes as JSON, over the limit of {max_bytes:,} bytes "
            "(setting DURABLE_WORKFLOWS['MAX_PAYLOAD_BYTES']). Store large data elsewhere "
            "(a file, a model row) and pass a reference."
        )


@dataclasses.dataclass(frozen=True)
class Signature:
    """The parameter and return hints of a callable, resolved once."""

    name: str
    parameters: tuple[inspect.Parameter, ...]
    hints: dict[str, Any]
    return_hint: Any

    @classmethod
    def of(cls, fn: Callable[..., Any], *, skip_self: bool = False) -> Signature:
        sig = inspect.signature(fn)
        params = tuple(sig.parameters.values())
        if skip_self:
            params = params[1:]
        try:
            hints = typing.get_type_hints(fn)
        except Exception:  # unresolvable forward references: fall back to raw JSON
            hints = {}
        return cls(
            name=getattr(fn, "__qualname__", repr(fn)),
            parameters=params,
            hints=hints,
            return_hint=hints.get("return"),
        )

    def argument(self, name: str, args: Sequence[Any]) -> Any:
        """The value passed for parameter ``name`` in a positional call with ``args`` (its
        default when not passed)."""
        for index, parameter in enumerate(self.parameters):
            if parameter.name == name:
                if index < len(args):
                    return args[index]
                return None if parameter.default is parameter.empty else parameter.default
        raise KeyError(name)

    def check_arity(self, args: Sequence[Any]) -> None:
        """Raise :class:`InvalidArgumentError` unless ``args`` fit the positional parameters."""
        positional = [
            p for p in self.parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        if any(p.kind is p.VAR_POSITIONAL for p in self.parameters):
            maximum = None
        else:
            maximum = len(positional)
        required = len([p for p in positional if p.default is p.empty])
        if len(args) < required or (maximum is not None and len(args) > maximum):
            expected = (
                f"{required}"
                if required == maximum
                else f"{required} to {maximum}"
                if maximum is not None
                else f"at least {required}"
            )
            names = ", ".join(p.name for p in positional) or "none"
            raise InvalidArgumentError(
                f"{self.name} takes {expected} argument(s) ({names}), got {len(args)}."
            )

    def encode_args(
        self,
        args: Sequence[Any],
        max_bytes: int,
        *,
        max_depth: int = DEFAULT_MAX_PAYLOAD_DEPTH,
    ) -> list[Any]:
        """The arguments as JSON-ready payloads, each no deeper than ``max_depth``.

        Raises:
            InvalidArgumentError: the wrong number of arguments.
            PayloadError: an argument cannot be stored (see :func:`to_json`, :func:`check_size`).
        """
        self.check_arity(args)
        encoded = [
            to_json(a, max_depth=max_depth, what=f"Argument {i} of {self.name}")
            for i, a in enumerate(args, 1)
        ]
        check_size(encoded, max_bytes, f"The arguments of {self.name}")
        return encoded

    def decode_args(self, payloads: Sequence[Any], *, strict: bool = False) -> list[Any]:
        """The arguments rebuilt by the parameters' hints.

        With ``strict`` (arguments entering the system, not replay), an argument that does
        not fit its hint raises ValueError naming the parameter.
        """
        self.check_arity(payloads)
        params = [
            p for p in self.parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        out = []
        for index, data in enumerate(payloads):
            param = params[index] if index < len(params) else None
            hint = self.hints.get(param.name) if param is not None else None
            if not strict:
                out.append(from_json(data, hint))
                continue
            if data is None and param is not None and param.default is None:
                out.append(None)  # ``x: str = None``: None is what the default is
                continue
            try:
                out.append(from_json(data, hint, strict=True))
            except DECODE_ERRORS as exc:
                name = param.name if param is not None else f"argument {index + 1}"
                raise ValueError(f"{name}: {exc}") from exc
        return out

    def decode_result(self, data: Any) -> Any:
        return from_json(data, self.return_hint)
