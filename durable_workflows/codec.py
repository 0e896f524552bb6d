"""PAYLOAD_CODEC: a hook that wraps every stored payload, e.g. to encrypt it at rest.

A codec is any object with ``encode(data: bytes) -> bytes`` and ``decode(data: bytes) ->
bytes``; ``DURABLE_WORKFLOWS["PAYLOAD_CODEC"]`` names it by dotted path (a class, made
with no arguments, or an instance)::

    # myapp/codecs.py
    from cryptography.fernet import Fernet

    class FernetCodec:
        def __init__(self) -> None:
            self._fernet = Fernet(settings.PAYLOAD_KEY)

        def encode(self, data: bytes) -> bytes:
            return self._fernet.encrypt(data)

        def decode(self, data: bytes) -> bytes:
            return self._fernet.decrypt(data)

What is wrapped: workflow input, result and memo; activity input, results and heartbeat
details; signal, query and update arguments and update results, in the history and in
the rows. What is not: failures (messages and stack traces), search attributes (they are
queried), and names, ids and times. Each payload is stored as
``{"__dw_codec__": "<base64 of encode(JSON bytes)>"}``; a payload stored before the codec
was set is read as it is, so a codec can be turned on for a live system. Every process
(web, workers, beat) needs the same codec.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Protocol, runtime_checkable

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from . import _json

__all__ = ["PayloadCodec"]

ENVELOPE_KEY = "__dw_codec__"


@runtime_checkable
class PayloadCodec(Protocol):
    """What PAYLOAD_CODEC must provide."""

    def encode(self, data: bytes) -> bytes: ...

    def decode(self, data: bytes) -> bytes: ...


_loaded: dict[str, PayloadCodec] = {}


def configured_codec() -> PayloadCodec | None:
    """The codec ``DURABLE_WORKFLOWS["PAYLOAD_CODEC"]`` names, loaded once; None if unset."""
    setting = (getattr(django_settings, "DURABLE_WORKFLOWS", None) or {}).get("PAYLOAD_CODEC")
    if setting is None:
        return None
    if not isinstance(setting, str):
        return _checked(setting, repr(setting))
    codec = _loaded.get(setting)
    if codec is None:
        try:
            target = import_string(setting)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"DURABLE_WORKFLOWS['PAYLOAD_CODEC'] = {setting!r} cannot be imported: {exc}"
            ) from exc
        codec = _loaded[setting] = _checked(
            target() if isinstance(target, type) else target, setting
        )
    return codec


def _checked(codec: Any, name: str) -> PayloadCodec:
    if not isinstance(codec, PayloadCodec):
        raise ImproperlyConfigured(
            f"DURABLE_WORKFLOWS['PAYLOAD_CODEC'] ({name}) must have encode(bytes) -> bytes "
            "and decode(bytes) -> bytes methods."
        )
    return codec


def encode_payload(value: Any) -> Any:
    """``value`` as it is stored: wrapped by the codec if one is configured."""
    codec = configured_codec()
    if codec is None or value is None or is_encoded(value):
        return value
    # NaN passes, as it does into the JSON Django writes when no codec is set.
    data = _json.dumps(value, allow_nan=True).encode()
    return {ENVELOPE_KEY: base64.b64encode(codec.encode(data)).decode("ascii")}


def decode_payload(value: Any) -> Any:
    """A stored payload as the code sees it; payloads stored unwrapped pass through."""
    if not is_encoded(value):
        return value
    codec = configured_codec()
    if codec is None:
        raise ImproperlyConfigured(
            "A stored payload is encoded, but DURABLE_WORKFLOWS['PAYLOAD_CODEC'] is not set "
            "in this process. Every process (web, workers, beat) needs the same codec."
        )
    try:
        data = codec.decode(base64.b64decode(value[ENVELOPE_KEY], validate=True))
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured(
            f"A stored payload could not be decoded by PAYLOAD_CODEC: {exc}"
        ) from exc
    return _json.loads(data)


def is_encoded(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and ENVELOPE_KEY in value
