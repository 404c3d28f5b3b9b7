"""Tests for ``EventSubscriber`` and ``on``: one class, many events, one method each."""

from __future__ import annotations

import asyncio
import sys
import types
from typing import Any

import pytest

from django_event_system.core import (
    Dispatcher,
    Event,
    EventDispatcher,
    EventSubscriber,
    InMemoryTransport,
    ListenerDefinitionError,
    Queued,
    on,
    using_transport,
)
from django_event_system.core.integration import subscribers

untyped_on: Any = on  # for the calls that the type checkers would refuse


class OrderPlaced(Event):
    order_id: int


class OrderShipped(Event):
    order_id: int


@pytest.fixture
def events(dispatcher: EventDispatcher) -> EventDispatcher:
    """The test's own dispatcher, under a name a subscriber's class body can read."""
    return dispatcher


def test_each_method_handles_what_its_on_names(events: EventDispatcher) -> None:
    """An Event class gives the method the instance; a pattern gives it the name and the arguments."""
    calls: list[tuple[str, Any]] = []

    class Billing(EventSubscriber):
        dispatcher = events

        @on(OrderPlaced)
        def charge(self, event: OrderPlaced) -> None:
            calls.append(("charge", event.order_id))

        @on(OrderShipped)
        def invoice(self, event: OrderShipped) -> None:
            calls.append(("invoice", event.order_id))

        @on("orders::.*", priority=5)
        def audit(self, name: str, *args: object) -> None:
            calls.append(("audit", (name, *args)))

    try:
        events.Dispatch(OrderPlaced(order_id=1))
        events.Dispatch(OrderShipped(order_id=2))
        events.Dispatch("orders::refunded", 3)
        events.ClearQueue(timeout=10)
        assert calls == [("charge", 1), ("invoice", 2), ("audit", ("orders::refunded", 3))]
        assert len(Billing.registrations) == 3
        assert [r.priority for r in Billing.registrations] == [0, 0, 5]
    finally:
        Billing.unregister()
    assert not Billing.registrations


def test_priority_orders_a_subscriber_among_other_handlers(events: EventDispatcher) -> None:
    """``priority`` puts the method before handlers of a lower priority, whatever the order of registration."""
    calls: list[str] = []
    events.RegisterHandler("orders::paid", lambda name: calls.append("plain"))

    class Ledger(EventSubscriber):
        dispatcher = events

        @on("orders::paid", priority=5)
        def first(self, name: str) -> None:
            calls.append("ledger")

    try:
        events.Dispatch("orders::paid")
        events.ClearQueue(timeout=10)
        assert calls == ["ledger", "plain"]
    finally:
        Ledger.unregister()


def test_a_method_may_carry_several_on(events: EventDispatcher) -> None:
    """Each ``@on`` of one method is a registration of its own."""
    calls: list[str] = []

    class Shipping(EventSubscriber):
        dispatcher = events

        @on("orders::shipped")
        @on("orders::delivered")
        def track(self, name: str) -> None:
            calls.append(name)

    try:
        events.Dispatch("orders::delivered")
        events.Dispatch("orders::shipped")
        events.ClearQueue(timeout=10)
        assert calls == ["orders::delivered", "orders::shipped"]
        assert [r.pattern for r in Shipping.registrations] == ["orders::shipped", "orders::delivered"]
    finally:
        Shipping.unregister()


def test_async_methods_are_awaited(events: EventDispatcher) -> None:
    """An ``async def`` method's coroutine is awaited, as any coroutine handler's."""
    calls: list[int] = []

    class Mailer(EventSubscriber):
        dispatcher = events

        @on(OrderPlaced)
        async def send(self, event: OrderPlaced) -> None:
            await asyncio.sleep(0)
            calls.append(event.order_id)

    try:
        events.Dispatch(OrderPlaced(order_id=7))
        events.ClearQueue(timeout=10)
        assert calls == [7]
    finally:
        Mailer.unregister()


def test_abstract_bases_are_not_registered_and_their_methods_are_inherited(events: EventDispatcher) -> None:
    """A base with ``abstract = True`` registers nothing; each concrete subclass registers its methods."""
    calls: list[str] = []

    class Base(EventSubscriber):
        abstract = True
        dispatcher = events

        @on("orders::placed")
        def placed(self, name: str) -> None:
            calls.append(type(self).__name__)

    class Shop(Base):
        pass

    try:
        assert Base.registrations == ()
        events.Dispatch("orders::placed")
        events.ClearQueue(timeout=10)
        assert calls == ["Shop"]
    finally:
        Shop.unregister()


SUBSCRIBER_MODULE = """
from django_event_system.core import EventSubscriber, on
from tests.core.test_subscriber import BUS

calls = []


class Twice(EventSubscriber):
    dispatcher = BUS

    @on("twice::event")
    def handle(self, name):
        calls.append(name)
"""

BUS = EventDispatcher()


def _module(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(SUBSCRIBER_MODULE, f"<{name}>", "exec"), module.__dict__)
    return module


def test_redefinition_in_the_same_module_replaces_and_another_module_adds() -> None:
    """The same class defined again in its module replaces the first; the same name elsewhere is another one."""
    try:
        first = _module("tests.core.subscribers_one")
        second = _module("tests.core.subscribers_one")
        other = _module("tests.core.subscribers_two")
        BUS.Dispatch("twice::event")
        BUS.ClearQueue(timeout=10)
        assert (first.calls, second.calls, other.calls) == ([], ["twice::event"], ["twice::event"])
        listed = [(cls.__module__, cls.__qualname__) for cls in subscribers()]
        assert ("tests.core.subscribers_one", "Twice") in listed
        assert ("tests.core.subscribers_two", "Twice") in listed
        assert len(BUS.registry.registrations_for("twice::event")) == 2
    finally:
        for name in ("tests.core.subscribers_one", "tests.core.subscribers_two"):
            sys.modules.pop(name).Twice.unregister()
    assert BUS.registry.registrations_for("twice::event") == []


def test_queued_methods_run_through_the_transport(events: EventDispatcher) -> None:
    """``queued=`` sends the method's events to a worker, under ``module:qualname.method``."""
    memory = InMemoryTransport()
    with using_transport(memory):
        try:
            QueuedBilling.dispatcher.Dispatch("queued_billing::paid", 4)
            QueuedBilling.dispatcher.ClearQueue(timeout=10)
            assert [message.handler for message in memory.sent] == [f"{__name__}:QueuedBilling.paid"]
            assert queued_calls == []
            memory.work()
            assert queued_calls == [("queued_billing::paid", 4)]
        finally:
            queued_calls.clear()


queued_calls: list[tuple[str, int]] = []
QUEUED_BUS = EventDispatcher()


class QueuedBilling(EventSubscriber):
    dispatcher = QUEUED_BUS

    @on("queued_billing::paid", queued=Queued(max_retries=0))
    def paid(self, name: str, amount: int) -> None:
        queued_calls.append((name, amount))


# -- what is refused --------------------------------------------------------------------------


def test_a_subscriber_without_decorated_methods_is_refused() -> None:
    with pytest.raises(
        ListenerDefinitionError, match=r"Empty has no method decorated with @on\(\.\.\.\); set abstract"
    ):

        class Empty(EventSubscriber):
            def nothing(self) -> None: ...


def test_conditions_are_refused_on_a_subscriber(events: EventDispatcher) -> None:
    with pytest.raises(
        ListenerDefinitionError,
        match=r"Conditional\.m: on\('orders::.\*', when='status', is_now=1\) has conditions, which only an Observer",
    ):

        class Conditional(EventSubscriber):
            dispatcher = events

            @on("orders::.*", when="status", is_now=1)
            def m(self, name: str, *args: object) -> None: ...


def test_subclassing_a_registered_subscriber_is_refused(events: EventDispatcher) -> None:
    class Registered(EventSubscriber):
        dispatcher = events

        @on("x")
        def m(self, name: str) -> None: ...

    try:
        with pytest.raises(
            ListenerDefinitionError,
            match=r"Child subclasses the subscriber \S*Registered, which is registered already: both would",
        ):

            class Child(Registered):
                pass
    finally:
        Registered.unregister()


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: untyped_on(42), TypeError, r"on\(\) takes an Event class or a pattern \(str\), not 42"),
        (lambda: untyped_on(""), TypeError, r"on\(\) takes a non-empty pattern or action name, not ''"),
        (lambda: untyped_on("x", priority="high"), TypeError, r"priority must be an int, not 'high'"),
        (lambda: untyped_on("x", after_commit=1), TypeError, r"after_commit must be True or False, not 1"),
        (
            lambda: untyped_on("x", queued="yes"),
            TypeError,
            r"queued must be True, False or a Queued\(\.\.\.\), not 'yes'",
        ),
        (lambda: untyped_on("updated", was="placed"), TypeError, r"on\('updated'\): was= needs when=<field name>"),
        (
            lambda: on("updated", is_now=1, has_changed=True),
            TypeError,
            r"on\('updated'\): is_now=, has_changed= needs when=<field name>",
        ),
        (lambda: untyped_on("updated", when=""), TypeError, r"when must be a field name \(a non-empty str\), not ''"),
        (lambda: untyped_on("x", has_changed="yes"), TypeError, r"has_changed must be True or False, not 'yes'"),
    ],
)
def test_bad_options_of_on_are_refused(call: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_on_decorates_functions_only() -> None:
    with pytest.raises(TypeError, match=r"on\('x'\) decorates a method \(a def or async def in the class body\)"):
        untyped_on("x")(staticmethod(lambda name: None))


def test_an_async_generator_method_is_refused() -> None:
    async def stream(self: object, name: str) -> Any:
        yield name

    with pytest.raises(Exception, match=r"is an async generator function"):
        on("x")(stream)


def test_an_invalid_pattern_is_refused_when_the_class_is_defined(events: EventDispatcher) -> None:
    with pytest.raises(Exception, match=r"invalid event pattern 'orders::\(': missing \)"):

        class Broken(EventSubscriber):
            dispatcher = events

            @on("orders::(")
            def m(self, name: str) -> None: ...


def test_the_global_dispatcher_is_the_default() -> None:
    assert EventSubscriber.dispatcher is Dispatcher
