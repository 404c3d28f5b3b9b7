"""What the toolbar's page does in the screenshot: a shop places an order.

An Event class with handlers that return, raise, wait for the commit and dispatch a cascade; a
queued-looking audit of every order event; and an event that nobody receives.
"""

from __future__ import annotations

from decimal import Decimal

import gevent
from django.db import transaction

from django_event_system import Dispatcher, Event


class OrderPlaced(Event):
    Name = "shop::order_placed"
    order_id: int
    total: Decimal


@Dispatcher.listen(OrderPlaced, priority=10)
def reserve_stock(event: OrderPlaced) -> None:
    """Returns at once."""


@Dispatcher.listen(OrderPlaced, priority=5)
def charge_card(event: OrderPlaced) -> None:
    """Waits on the payment provider (a few milliseconds), then says the payment was captured."""
    gevent.sleep(0.012)
    Dispatcher.Dispatch("payments::captured", order_id=event.order_id, amount=str(event.total))


@Dispatcher.listen(OrderPlaced)
def notify_warehouse(event: OrderPlaced) -> None:
    """The warehouse is down."""
    raise ConnectionError("warehouse.example:443 refused the connection")


@Dispatcher.listen(OrderPlaced, after_commit=True)
def send_receipt(event: OrderPlaced) -> None:
    """Sends the receipt once the order is committed."""
    gevent.sleep(0.004)


@Dispatcher.listen("payments::.*")
def ledger(name: str, **kwargs: object) -> None:
    """Writes the payment to the ledger."""
    gevent.sleep(0.002)


def place_order() -> None:
    """The page's work: the order placed in a transaction, and a page view nobody listens to."""
    with transaction.atomic():
        OrderPlaced.Dispatch(order_id=1042, total=Decimal("59.90"))
    Dispatcher.Dispatch("analytics::page_viewed", path="/checkout/")
