"""A core-only tour of django-event-system: no Django settings, no monkey-patching.

Run it with ``scripts/demo core`` (or ``python examples/core_demo.py``).
"""

from __future__ import annotations

import time

import gevent

from django_event_system import Dispatcher, Event, EventListener


class OrderPlaced(Event):
    """An event with a typed payload: ``OrderPlaced.Dispatch(order_id=..., total=...)``."""

    order_id: int
    total: float


class OrderShipped(Event):
    Name = "orders::shipped"

    order_id: int


class AuditLog(EventListener):
    """Receives every event under ``orders::`` and every OrderPlaced."""

    listensFor = [OrderPlaced, "orders::.*"]

    def handle(self, event: object, *args: object, **kwargs: object) -> None:
        print(f"  [audit]    {event!s:<40} args={args} kwargs={kwargs}")


@Dispatcher.listen(OrderPlaced, priority=10)
def reserve_stock(event: OrderPlaced) -> None:
    print(f"  [stock]    reserving items for order {event.order_id}")
    OrderShipped.Dispatch(order_id=event.order_id)  # a cascade: drained by the same ClearQueue


@Dispatcher.listen(OrderPlaced)
def send_receipt(event: OrderPlaced) -> None:
    gevent.sleep(0.2)  # cooperative I/O, e.g. an HTTP call to a mail service
    print(f"  [mail]     receipt for order {event.order_id} sent ({event.total:.2f} EUR)")


def on_string_event(name: str, *args: object, **kwargs: object) -> None:
    print(f"  [string]   {name} args={args} kwargs={kwargs}")


def main() -> None:
    Dispatcher.RegisterHandler(r"orders::\d+::refunded", on_string_event)

    print("1. Dispatch returns at once; nothing has run yet:")
    started = time.perf_counter()
    for order_id in range(1, 4):
        OrderPlaced.Dispatch(order_id=order_id, total=9.5 * order_id)
    Dispatcher.Dispatch("orders::2::refunded", amount=19.0)
    elapsed_ms = 1000 * (time.perf_counter() - started)
    print(f"  dispatched 4 events in {elapsed_ms:.2f} ms; queued: {Dispatcher.pending_count()}")

    print("2. ClearQueue() handles them, and what they dispatched; the three 0.2 s mails overlap:")
    started = time.perf_counter()
    Dispatcher.ClearQueue()
    print(f"  drained in {time.perf_counter() - started:.2f} s")

    print("3. Events still queued when the script ends are handled before it exits:")
    Dispatcher.Dispatch("orders::3::refunded", amount=28.5)


if __name__ == "__main__":
    main()
