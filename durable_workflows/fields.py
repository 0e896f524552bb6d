"""JSON columns that hold payloads, passed through PAYLOAD_CODEC on the way in and out.

Doing it in the field keeps the codec out of every reader and writer: the ORM encodes
on save, bulk_create and update(), and decodes on every read, values_list() included.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from .codec import decode_payload, encode_payload

#: The keys of event attributes that hold payloads (input, results, memo).
PAYLOAD_ATTRIBUTES = frozenset({"input", "result", "memo", "details"})


class PayloadField(models.JSONField):
    """A column whose whole value is one payload."""

    def get_prep_value(self, value: Any) -> Any:
        return super().get_prep_value(encode_payload(value))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return decode_payload(super().from_db_value(value, expression, connection))


class EventAttributesField(models.JSONField):
    """An event's attributes: the payloads among them are encoded, the rest stay queryable."""

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, dict):  # a lookup's right-hand side (a key's value) is not
            value = {
                key: encode_payload(item) if key in PAYLOAD_ATTRIBUTES else item
                for key, item in value.items()
            }
        return super().get_prep_value(value)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        value = super().from_db_value(value, expression, connection)
        if isinstance(value, dict):
            return {
                key: decode_payload(item) if key in PAYLOAD_ATTRIBUTES else item
                for key, item in value.items()
            }
        return value
