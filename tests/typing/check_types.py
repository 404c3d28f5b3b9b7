"""Type-checked only (never run): the public API keeps the types of what users pass to it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from typing_extensions import assert_type

from django_event_system import (
    Dispatcher,
    Event,
    EventDispatcher,
    EventListener,
    EventSubscriber,
    Registration,
    on,
    without_events,
)
from django_event_system.core import QueueCleared, QuietScope


class OrderPlaced(Event):
    order_id: int
    note: str = ""


class OrderShipped(Event):
    tracking: str


class Greeting(Event):
    """The 1.0 README's hand-written ``__init__``."""

    def __init__(self, name: str, value: int) -> None:
        self.name = name
        self.value = value


class LoudGreeting(Greeting, init=False):
    """Adds no field and keeps ``Greeting.__init__``: the form that every checker types so.

    ``init=False`` is for pyright, which follows the dataclass_transform specification: it gives
    every class without an ``__init__`` of its own (or ``init=False``) a generated one, here taking
    no argument, whatever its bases define. At run time, and for mypy, a subclass without fields
    keeps its parent's ``__init__`` either way.
    """


class TaggedGreeting(Greeting):
    """Declares a field: its generated ``__init__`` takes that field alone."""

    tag: str


# Event.Dispatch builds the instance from the class's own signature and returns it.
assert_type(OrderPlaced.Dispatch(order_id=1), OrderPlaced)
assert_type(OrderPlaced.Dispatch(1, "gift"), OrderPlaced)
assert_type(OrderPlaced.dispatch(order_id=1), OrderPlaced)
assert_type(Greeting.Dispatch("name", 1), Greeting)
assert_type(LoudGreeting.Dispatch("name", 1), LoudGreeting)
assert_type(LoudGreeting("name", 1).value, int)
assert_type(TaggedGreeting.Dispatch(tag="new"), TaggedGreeting)
assert_type(OrderPlaced(order_id=2).order_id, int)
assert_type(OrderPlaced.GetEventName(), str)

# Dispatcher.Dispatch returns the Event instance it is given, and None for a name.
placed = OrderPlaced(order_id=3)
assert_type(Dispatcher.Dispatch(placed), OrderPlaced)
assert_type(Dispatcher.Dispatch(placed, "extra", key=1), OrderPlaced)
assert_type(Dispatcher.Dispatch("orders::shipped"), None)
assert_type(Dispatcher.Dispatch("orders::shipped", 1, key="value"), None)


# RegisterHandler and AddListener return a Registration, usable as a context manager.
def on_any(name: str, *args: Any, **kwargs: Any) -> None: ...


assert_type(Dispatcher.RegisterHandler("orders::.*", on_any), Registration)
assert_type(Dispatcher.RegisterHandler(OrderPlaced, on_any, priority=1, once=True), Registration)
assert_type(OrderPlaced.AddListener(on_any), Registration)
with Dispatcher.RegisterHandler("x", on_any) as registration:
    assert_type(registration, Registration)


# listen(EventClass) and listen("pattern") return the function's own type: its parameters' names
# and kinds survive decoration, so a call by keyword type-checks.
@Dispatcher.listen(OrderPlaced)
def send_receipt(event: OrderPlaced) -> None: ...


assert_type(send_receipt(event=OrderPlaced(order_id=1)), None)
assert_type(send_receipt(OrderPlaced(order_id=1)), None)


@Dispatcher.listen(OrderPlaced, priority=5)
def count_order(order: OrderPlaced) -> int:
    return order.order_id


assert_type(count_order(order=OrderPlaced(order_id=1)), int)


@Dispatcher.listen(OrderPlaced, once=True)
def retry_order(event: OrderPlaced, *, attempts: int = 3) -> bool:
    """Optional parameters after the event are allowed, and kept."""
    return attempts > 0


assert_type(retry_order(event=OrderPlaced(order_id=1), attempts=2), bool)


@Dispatcher.listen(OrderPlaced)
def accepts_any_event(event: Event) -> None:
    """A handler for a base class accepts the more specific event."""


assert_type(accepts_any_event(event=OrderShipped(tracking="1Z")), None)


@Dispatcher.listen(OrderPlaced, queued=True)
async def send_receipt_later(event: OrderPlaced) -> str:
    return "sent"


async def use_send_receipt_later() -> None:
    assert_type(await send_receipt_later(event=OrderPlaced(order_id=1)), str)


class CountsOrders:
    def __call__(self, event: OrderPlaced) -> int:
        return event.order_id


assert_type(Dispatcher.listen(OrderPlaced)(CountsOrders())(event=OrderPlaced(order_id=1)), int)


class Mailer:
    def send(self, event: OrderPlaced, *, copy: bool = False) -> str:
        return "sent"


assert_type(Dispatcher.listen(OrderPlaced)(Mailer().send)(event=OrderPlaced(order_id=1), copy=True), str)

# A handler whose one parameter is positional-only (a bound method such as list.append) is typed
# (OrderPlaced) -> R: its own type, the name aside, which no call can use.
received: list[OrderPlaced] = []
assert_type(Dispatcher.listen(OrderPlaced)(received.append), Callable[[OrderPlaced], None])


def audit(name: str, amount: float, /) -> str:
    return name


# Positional-only parameters let assert_type spell the function's exact type.
assert_type(Dispatcher.listen("orders::.*")(audit), Callable[[str, float], str])
assert_type(Dispatcher.listen("orders::.*", priority=1, once=True)(audit), Callable[[str, float], str])


@Dispatcher.listen("orders::.*")
def typed_audit(name: str, *args: Any, amount: float = 0.0, **kwargs: Any) -> str:
    return name


# Keyword names and the return type survive decoration.
assert_type(typed_audit(name="orders::1", amount=2.0), str)
assert_type(typed_audit("orders::1", 1, 2, amount=2.0, extra=None), str)


# EnsureQueueIsCleared keeps the decorated function's type; without a function it is a context manager.
def import_orders(count: int, dry_run: bool, /) -> list[int]:
    return list(range(count))


assert_type(Dispatcher.EnsureQueueIsCleared(import_orders), Callable[[int, bool], list[int]])


@Dispatcher.ensure_queue_is_cleared
def export_orders(count: int, *, dry_run: bool = False) -> list[int]:
    return list(range(count))


assert_type(export_orders(3, dry_run=True), list[int])
assert_type(Dispatcher.EnsureQueueIsCleared(), QueueCleared)
with Dispatcher.EnsureQueueIsCleared():
    pass


@Dispatcher.EnsureQueueIsCleared
async def export_orders_async(count: int) -> list[int]:
    async with Dispatcher.EnsureQueueIsCleared():
        return list(range(count))


async def use_export_orders_async() -> None:
    assert_type(await export_orders_async(3), list[int])


# A dispatcher of one's own has the same API.
local = EventDispatcher(sync=True, pool_size=4, error_policy="raise")
assert_type(local.Dispatch(placed), OrderPlaced)
assert_type(local.dispatch("name"), None)
local.ClearQueue(timeout=1.5)
local.clear_queue()


class Receipts(EventListener):
    listensFor = [OrderPlaced, "orders::.*::refunded"]
    priority = 3

    def handle(self, event: object, *args: Any, **kwargs: Any) -> None: ...


assert_type(Receipts.registrations, tuple[Registration, ...])


# An EventSubscriber's methods keep their types; @on(EventClass) accepts a method of that event
# (or of a base class), @on("pattern") one that takes the name first.
class Billing(EventSubscriber):
    @on(OrderPlaced)
    def charge(self, event: OrderPlaced) -> int:
        return event.order_id

    @on(OrderPlaced, after_commit=True)
    async def mail(self, event: Event) -> None: ...

    @on("orders::.*", priority=5)
    def audit(self, name: str, *args: object) -> str:
        return name


assert_type(Billing().charge(OrderPlaced(order_id=1)), int)
assert_type(Billing().audit("orders::1", 2), str)


@without_events("orders::.*", OrderPlaced)
def quiet_import(count: int) -> list[int]:
    return list(range(count))


assert_type(quiet_import(3), list[int])
with without_events() as quiet:
    assert_type(quiet, QuietScope)
