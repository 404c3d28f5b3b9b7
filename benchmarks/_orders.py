"""The event and payload that the queued benchmarks send: one Event class, one payload of each kind."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

from django_event_system import Event


class OrderPlaced(Event):
    """The event both sides carry; each benchmark points ``dispatcher`` at a dispatcher of its own."""

    Name = "bench::order_placed"
    order_id: int
    total: decimal.Decimal
    placed_at: datetime.datetime
    customer: str
    items: list[int]


def payload(n: int) -> dict[str, Any]:
    """An int, a Decimal, a datetime, a str and a list: the same fields as :class:`OrderPlaced`."""
    return {
        "order_id": n,
        "total": decimal.Decimal("99.90"),
        "placed_at": datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc),
        "customer": "customer@example.com",
        "items": [1, 2, 3, 4],
    }
