"""Type-checked only (never run): each line below must be a type error.

mypy runs with ``warn_unused_ignores``, so if one of these lines stopped being an error, its
``# type: ignore[code]`` would be reported as unused and the check would fail.
"""

from __future__ import annotations

from django_event_system import Dispatcher, Event, EventListener


class OrderPlaced(Event):
    order_id: int
    note: str = ""


class OrderShipped(Event):
    tracking: str


class Greeting(Event):
    def __init__(self, name: str, value: int) -> None:
        self.name = name
        self.value = value


# Event.Dispatch checks the payload against the fields.
OrderPlaced.Dispatch(order_id="7")  # type: ignore[arg-type]
OrderPlaced.Dispatch()  # type: ignore[call-arg]
OrderPlaced.Dispatch(order_id=7, colour="red")  # type: ignore[call-arg]
OrderPlaced.Dispatch(7, "note", "extra")  # type: ignore[call-arg]
OrderPlaced.dispatch(order_id=None)  # type: ignore[arg-type]

# ...and so does the constructor.
OrderPlaced(order_id="7")  # type: ignore[arg-type]
OrderPlaced()  # type: ignore[call-arg]
OrderPlaced(order_id=7, colour="red")  # type: ignore[call-arg]

# A hand-written __init__ is checked too.
Greeting.Dispatch("name")  # type: ignore[call-arg]
Greeting.Dispatch("name", "not an int")  # type: ignore[arg-type]
Greeting(value=1)  # type: ignore[call-arg]

# The return type of Event.Dispatch is the class itself.
shipped: OrderShipped = OrderPlaced.Dispatch(order_id=1)  # type: ignore[assignment]

# A string dispatch returns None, not an event.
nothing: OrderPlaced = Dispatcher.Dispatch("orders::placed")  # type: ignore[assignment]


# A listen(OrderPlaced) handler must accept an OrderPlaced...
@Dispatcher.listen(OrderPlaced)  # type: ignore[arg-type]
def wrong_event(event: OrderShipped) -> None: ...


# ...alone: a second required parameter will never be passed.
@Dispatcher.listen(OrderPlaced)  # type: ignore[arg-type]
def two_parameters(event: OrderPlaced, extra: int) -> None: ...


# The decorated function keeps its signature, so calling it wrongly is caught.
@Dispatcher.listen("orders::.*")
def audit(name: str, amount: float) -> None: ...


audit("orders::1")  # type: ignore[call-arg]


@Dispatcher.EnsureQueueIsCleared
def import_orders(count: int) -> list[int]:
    return []


import_orders("three")  # type: ignore[arg-type]
total: str = import_orders(3)  # type: ignore[assignment]

# Registration options are typed.
Dispatcher.RegisterHandler("x", print, priority="high")  # type: ignore[arg-type]
Dispatcher.RegisterHandler("x", print, after_commit="yes")  # type: ignore[arg-type]
Dispatcher.listen("x", after_commit=1)  # type: ignore[call-overload]


# after_commit is a declared bool, on Event classes and on EventListeners.
class HeldWrongly(Event):
    after_commit = "yes"  # type: ignore[assignment]


class ListensWrongly(EventListener):
    listensFor = ["x"]
    after_commit = 1  # type: ignore[assignment]

    def handle(self, event: str) -> None: ...
