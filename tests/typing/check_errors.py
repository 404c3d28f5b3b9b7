"""Type-checked only (never run): each line below must be a type error.

mypy runs with ``warn_unused_ignores``, so if one of these lines stopped being an error, its
``# type: ignore[code]`` would be reported as unused and the check would fail.
"""

from __future__ import annotations

import django_event_system
from django_event_system import Dispatcher, Event, EventListener, EventSubscriber, on, without_events


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
OrderPlaced.Dispatch(order_id="7")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
OrderPlaced.Dispatch()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
OrderPlaced.Dispatch(order_id=7, colour="red")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
OrderPlaced.Dispatch(7, "note", "extra")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
OrderPlaced.dispatch(order_id=None)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]

# ...and so does the constructor.
OrderPlaced(order_id="7")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
OrderPlaced()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
OrderPlaced(order_id=7, colour="red")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]

# A hand-written __init__ is checked too, and so is the one a subclass keeps with init=False.
Greeting.Dispatch("name")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
Greeting.Dispatch("name", "not an int")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
Greeting(value=1)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


class LoudGreeting(Greeting, init=False):
    pass


LoudGreeting.Dispatch("name", "not an int")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]

# The return type of Event.Dispatch is the class itself.
shipped: OrderShipped = OrderPlaced.Dispatch(order_id=1)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]

# A string dispatch returns None, not an event.
nothing: OrderPlaced = Dispatcher.Dispatch("orders::placed")  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]


# A listen(OrderPlaced) handler must accept an OrderPlaced (pyright reports it three times: no
# overload of the decorator fits, the argument does not fit the last one, and the decorated
# function is left undecorated)...
@Dispatcher.listen(OrderPlaced)  # type: ignore[arg-type]  # pyright: ignore[reportCallIssue, reportArgumentType, reportUntypedFunctionDecorator]
def wrong_event(event: OrderShipped) -> None: ...


class RefundIssued(OrderPlaced):
    amount: int = 0


# ...not only one of its subclasses...
@Dispatcher.listen(OrderPlaced)  # type: ignore[arg-type]  # pyright: ignore[reportCallIssue, reportArgumentType, reportUntypedFunctionDecorator]
def refunds_only(event: RefundIssued) -> None: ...


# ...alone: a second required parameter will never be passed...
@Dispatcher.listen(OrderPlaced)  # type: ignore[arg-type]  # pyright: ignore[reportCallIssue, reportArgumentType, reportUntypedFunctionDecorator]
def two_parameters(event: OrderPlaced, extra: int) -> None: ...


# ...and it must take one.
@Dispatcher.listen(OrderPlaced)  # type: ignore[arg-type]  # pyright: ignore[reportCallIssue, reportArgumentType, reportUntypedFunctionDecorator]
def no_parameter() -> None: ...


# The decorated function keeps its own signature: its parameter's name and type.
@Dispatcher.listen(OrderPlaced)
def send_receipt(event: OrderPlaced) -> None: ...


send_receipt(order=OrderPlaced(order_id=1))  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
send_receipt(event=OrderShipped(tracking="1Z"))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
receipt_sent: int = send_receipt(OrderPlaced(order_id=1))  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]


# The decorated function keeps its signature, so calling it wrongly is caught.
@Dispatcher.listen("orders::.*")
def audit(name: str, amount: float) -> None: ...


audit("orders::1")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


@Dispatcher.EnsureQueueIsCleared
def import_orders(count: int) -> list[int]:
    return []


import_orders("three")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
total: str = import_orders(3)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]

# Registration options are typed.
Dispatcher.RegisterHandler("x", print, priority="high")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
Dispatcher.RegisterHandler("x", print, after_commit="yes")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
Dispatcher.listen("x", after_commit=1)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]


# after_commit is a declared bool, on Event classes and on EventListeners.
class HeldWrongly(Event):
    after_commit = "yes"  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]


class ListensWrongly(EventListener):
    listensFor = ["x"]
    after_commit = 1  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]

    def handle(self, event: str) -> None: ...


# A pattern's handler receives the name first: a function of an Event is refused.
@Dispatcher.listen("orders::.*")  # type: ignore[type-var]  # pyright: ignore[reportArgumentType, reportUntypedFunctionDecorator]
def event_first(event: OrderPlaced) -> None: ...


# AddListener's handler is called as handler(name, event).
def only_the_event(event: OrderPlaced) -> None: ...


OrderPlaced.AddListener(only_the_event)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def another_event(name: str, event: OrderShipped) -> None: ...


OrderPlaced.AddListener(another_event)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


# EventListener[OrderPlaced]: handle takes an OrderPlaced...
class ReceiptForShipment(EventListener[OrderPlaced]):
    listensFor = [OrderPlaced]

    def handle(self, event: OrderShipped) -> None: ...  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]


# ...and listensFor lists OrderPlaced and its subclasses only.
class ReceiptListensWrongly(EventListener[OrderPlaced]):
    listensFor = [OrderShipped]  # type: ignore[list-item]  # pyright: ignore[reportAssignmentType]

    def handle(self, event: OrderPlaced) -> None: ...


# Without a parameter, listensFor still holds Event classes and patterns only.
class ListensForAClass(EventListener):
    listensFor = [int]  # type: ignore[list-item]  # pyright: ignore[reportAssignmentType]

    def handle(self, event: object) -> None: ...


# A misspelt name of the lazily loaded Django adapter is an error, not Any.
django_event_system.Obsrver  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]


# An EventSubscriber method's parameter is checked against the Event class of its @on...
class Billing(EventSubscriber):
    @on(OrderPlaced)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    def wrong_event(self, event: OrderShipped) -> None: ...

    # ...and a pattern's method receives the name (a str) first.
    @on("orders::.*")  # type: ignore[type-var]  # pyright: ignore[reportArgumentType, reportUntypedFunctionDecorator]
    def wrong_name(self, name: int, *args: object) -> None: ...


# without_events decorates functions and keeps their type.
@without_events("orders::.*")
def quiet_import(count: int) -> list[int]:
    return []


quiet_import("three")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
