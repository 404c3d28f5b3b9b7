"""The Order's observers, found at start-up by the event system's autodiscovery."""

from __future__ import annotations

from collections.abc import Mapping

from django_event_system import Observer

from .console import say
from .models import Order


class OrderObserver(Observer[Order]):
    """Reacts to the Order's model events; the methods run in worker greenlets, never in the view."""

    observes = Order

    def created(self, event_name: str, order: Order) -> None:
        say("observer", f"{order} created ({event_name})")

    def updated(self, event_name: str, order: Order) -> None:
        changed = ", ".join(
            f"{field} {change.old!r} -> {change.new!r}" for field, change in self.changes(order).items()
        )
        say("observer", f"{order} updated: {changed}")


class OrderLedger(Observer[Order]):
    """``after_commit``: only sees saves whose transaction committed (the view uses atomic())."""

    observes = Order
    after_commit = True

    def saved(self, event_name: str, order: Order) -> None:
        say("ledger", f"{order} committed, total {order.total} EUR")


class LiveOrders(Observer[Order]):
    """Broadcasts each order to the ``orders`` group when it is placed and when it changes, once the
    transaction commits: the live orders page (``/live/``) shows them as they happen."""

    observes = Order

    def broadcast_on(self, action: str, order: Order, /) -> list[str]:
        return ["orders"] if action in ("created", "updated") else []

    def broadcast_payload(self, action: str, order: Order, /) -> Mapping[str, object]:
        return {
            "order": order.pk,
            "item": order.item,
            "quantity": order.quantity,
            "status": order.status,
            "total": str(order.total),
        }
