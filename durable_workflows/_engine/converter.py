"""The one payload converter: Python values <-> JSON-ready data, guided by type hints.

Encoding needs no hints: dataclasses, pydantic models, datetimes, dates, times,
timedeltas, decimals, UUIDs, enums, tuples and sets become plain JSON. Decoding
uses the hint of the parameter or return value the data is meant for, so a
``datetime`` parameter receives a ``datetime`` again. Without a hint the plain
JSON value is returned. Never pickle.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import inspect
import types
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from .. import _json
from ..exceptions import InvalidArgumentError, PayloadError

DEFAULT_MAX_PAYLOAD_BYTES = 2 * 1024 * 1024


def to_json(value: Any) -> Any:
    """Turn ``value`` into JSON-ready data, or raise :class:`PayloadError`."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise PayloadError(f"{value!r} cannot be stored: JSON has no NaN or infinity.")
        return value
    if isinstance(value, enum.Enum):
        return to_json(value.value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):  # pydantic v2 model
        return model_dump(mode="json")
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise PayloadError(
                    f"Dictionary key {key!r} cannot be stored: JSON keys must be strings."
                )
            out[str(key) if not isinstance(key, str) else key] = to_json(item)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(item) for item in value]
    raise PayloadError(
        f"Object of type {type(value).__name__} cannot be stored: payloads are JSON. "
        "Pass JSON types, dataclasses, pydantic models, datetimes, decimals or UUIDs."
    )


def from_json(data: Any, hint: Any) -> Any:
    """Rebuild a value of type ``hint`` from JSON-ready ``data``."""
    if hint is None or hint is Any or hint is inspect.Parameter.empty or data is None:
        return data
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return from_json(data, typing.get_args(hint)[0])
    if origin is typing.Union or origin is types.UnionType:
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        for option in options:
            try:
                return from_json(data, option)
            except (TypeError, ValueError, KeyError):
                continue
        return data
    if origin is typing.Literal:
        return data
    if origin in (list, Sequence, set, frozenset, tuple):
        args = typing.get_args(hint)
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(from_json(item, args[0]) for item in data)
            if args:
                return tuple(from_json(item, a) for item, a in zip(data, args, strict=False))
            return tuple(data)
        item_hint = args[0] if args else None
        items = [from_json(item, item_hint) for item in data]
        return items if origin in (list, Sequence) else origin(items)
    if origin in (dict, Mapping):
        args = typing.get_args(hint)
        key_hint, value_hint = args if len(args) == 2 else (None, None)
        return {from_json(k, key_hint): from_json(v, value_hint) for k, v in data.items()}
    if not isinstance(hint, type):
        return data
    if hint is bool or hint is str:
        return data
    if hint is int:
        return int(data) if isinstance(data, (int, str)) and not isinstance(data, bool) else data
    if hint is float:
        return float(data) if isinstance(data, (int, float)) else data
    if issubclass(hint, enum.Enum):
        return hint(data)
    if issubclass(hint, dt.datetime):
        return dt.datetime.fromisoformat(data)
    if issubclass(hint, dt.date):
        return dt.date.fromisoformat(data)
    if issubclass(hint, dt.time):
        return dt.time.fromisoformat(data)
    if issubclass(hint, dt.timedelta):
        return dt.timedelta(seconds=data)
    if issubclass(hint, Decimal):
        return Decimal(str(data))
    if issubclass(hint, uuid.UUID):
        return uuid.UUID(str(data))
    if dataclasses.is_dataclass(hint):
        field_hints = typing.get_type_hints(hint)
        kwargs = {
            f.name: from_json(data[f.name], field_hints.get(f.name))
            for f in dataclasses.fields(hint)
            if f.name in data and f.init
        }
        return hint(**kwargs)
    model_validate = getattr(hint, "model_validate", None)
    if callable(model_validate):
        return model_validate(data)
    return data


def dumps(data: Any) -> str:
    """Canonical JSON text of JSON-ready data (used for size checks and export)."""
    return _json.dumps(data)


def check_size(data: Any, max_bytes: int, what: str) -> None:
    size = len(dumps(data).encode())
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

    def encode_args(self, args: Sequence[Any], max_bytes: int) -> list[Any]:
        self.check_arity(args)
        encoded = [to_json(a) for a in args]
        check_size(encoded, max_bytes, f"The arguments of {self.name}")
        return encoded

    def decode_args(self, payloads: Sequence[Any]) -> list[Any]:
        self.check_arity(payloads)
        params = [
            p for p in self.parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        out = []
        for index, data in enumerate(payloads):
            hint = self.hints.get(params[index].name) if index < len(params) else None
            out.append(from_json(data, hint))
        return out

    def decode_result(self, data: Any) -> Any:
        return from_json(data, self.return_hint)
