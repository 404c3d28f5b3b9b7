"""Queued handlers of the Tasks framework tests, found by the adapter's autodiscovery."""

from __future__ import annotations

from typing import Any

from django_event_system import Dispatcher, Event
from django_event_system.core import Queued, current_delivery

from .models import Order, Receipt


class OrderPlaced(Event):
    Name = "tasks_tests::order_placed"
    order: Order


class Doomed(Event):
    Name = "tasks_tests::doomed"
    reference: str


def attempt() -> int:
    delivery = current_delivery()
    assert delivery is not None
    return delivery.attempt


@Dispatcher.listen(OrderPlaced, queued=True)
def write_receipt(event: OrderPlaced) -> None:
    """Record the order that the worker loaded again."""
    Receipt.objects.create(kind="receipt", reference=event.order.reference, event_id=event.event_id, attempt=attempt())


def doomed_failed(event: Any, exc: Exception) -> None:
    Receipt.objects.create(kind="failed", reference=event.reference, event_id=event.event_id, attempt=attempt())


@Dispatcher.listen(Doomed, queued=Queued(max_retries=2, retry_backoff=0.2, failed=doomed_failed))
def always_fails(event: Doomed) -> None:
    """Record each try, then fail."""
    Receipt.objects.create(kind="try", reference=event.reference, event_id=event.event_id, attempt=attempt())
    raise RuntimeError("the handler fails every time")
