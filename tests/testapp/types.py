"""Typed payloads: the converter must hand these back as the same types."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass
class Line:
    sku: str
    price: Decimal
    quantity: int


@dataclass
class Order:
    order_id: uuid.UUID
    placed_at: datetime
    lines: list[Line] = field(default_factory=list)


@dataclass
class Receipt:
    order_id: uuid.UUID
    total: Decimal
    placed_at: datetime
