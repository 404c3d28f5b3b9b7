"""Tests for EventListener: registration at class definition, calling conventions and definition errors."""

from __future__ import annotations

import abc
from typing import Any
from unittest import mock

import pytest

from django_event_system.core import (
    Dispatcher,
    Event,
    EventDispatcher,
    EventListener,
    InvalidPatternError,
    ListenerDefinitionError,
)


class OrderPlaced(Event):
    order_id: int


class OrderCancelled(Event):
    Name = "orders::cancelled"


Call = tuple[tuple[Any, ...], dict[str, Any]]


@pytest.fixture
def events(dispatcher: EventDispatcher) -> EventDispatcher:
    """The test's own dispatcher, under a name a listener's class body can read (``dispatcher = events``)."""
    return dispatcher


# -- registration and calling conventions --------------------------------------------------------


def test_listener_receives_the_event_alone_for_event_classes(events: EventDispatcher) -> None:
    """For a dispatched Event, ``handle`` receives the instance alone."""
    calls: list[Call] = []

    class OnOrder(EventListener):
        listensFor = [OrderPlaced]
        dispatcher = events

        def handle(self, *args: Any, **kwargs: Any) -> None:
            calls.append((args, kwargs))

    placed = events.Dispatch(OrderPlaced(order_id=1))
    events.ClearQueue()
    assert calls == [((placed,), {})]


def test_a_listener_parameterised_by_its_event_class_receives_the_event(events: EventDispatcher) -> None:
    """``EventListener[OrderPlaced]`` is a base like any: registered at definition, given the instance."""
    received: list[OrderPlaced] = []

    class SendReceipt(EventListener[OrderPlaced]):
        listensFor = [OrderPlaced]
        dispatcher = events

        def handle(self, event: OrderPlaced) -> None:
            received.append(event)

    placed = events.Dispatch(OrderPlaced(order_id=2))
    events.ClearQueue()
    assert received == [placed]
    assert [registration.pattern for registration in SendReceipt.registrations] == [OrderPlaced.__event_name__]


def test_an_abstract_parameterised_base_passes_its_event_class_on(events: EventDispatcher) -> None:
    """A concrete subclass of an abstract ``EventListener[OrderPlaced]`` is typed and registered."""
    received: list[int] = []

    class ReceiptBase(EventListener[OrderPlaced]):
        abstract = True
        listensFor = [OrderPlaced]
        dispatcher = events

    class SendReceipt(ReceiptBase):
        def handle(self, event: OrderPlaced) -> None:
            received.append(event.order_id)

    assert ReceiptBase.registrations == ()
    events.Dispatch(OrderPlaced(order_id=3))
    events.ClearQueue()
    assert received == [3]
    assert len(SendReceipt.registrations) == 1


def test_a_parameterised_listener_cannot_listen_for_patterns(events: EventDispatcher) -> None:
    """Its ``handle`` takes the event; a pattern's handlers receive a name, so the pattern is refused."""
    with pytest.raises(
        ListenerDefinitionError,
        match=r"Mixed is an EventListener\[OrderPlaced\], whose handle takes the event: it cannot listen for "
        r"the patterns \['orders::.\*'\]",
    ):

        class Mixed(EventListener[OrderPlaced]):
            listensFor = [OrderPlaced, "orders::.*"]
            dispatcher = events

            def handle(self, event: OrderPlaced) -> None: ...

    assert len(events.registry) == 0


def test_listener_receives_name_and_arguments_for_patterns(events: EventDispatcher) -> None:
    """For a dispatched name, ``handle`` receives ``(name, *args, **kwargs)``."""
    calls: list[Call] = []

    class OnRefund(EventListener):
        listensFor = [r"orders::\d+::refunded"]
        dispatcher = events

        def handle(self, *args: Any, **kwargs: Any) -> None:
            calls.append((args, kwargs))

    events.Dispatch("orders::7::refunded", 19.5, currency="EUR")
    events.Dispatch("orders::x::refunded")
    events.ClearQueue()
    assert calls == [(("orders::7::refunded", 19.5), {"currency": "EUR"})]


def test_listener_with_mixed_targets(events: EventDispatcher) -> None:
    """A listener lists Event classes and patterns together and receives each kind in its convention."""
    calls: list[Call] = []

    class Mixed(EventListener):
        listensFor = [OrderPlaced, OrderCancelled, "orders::.*::refunded"]
        dispatcher = events

        def handle(self, *args: Any, **kwargs: Any) -> None:
            calls.append((args, kwargs))

    placed = events.Dispatch(OrderPlaced(order_id=1))
    cancelled = events.Dispatch(OrderCancelled())
    events.Dispatch("orders::1::refunded")
    events.ClearQueue()
    assert calls == [((placed,), {}), ((cancelled,), {}), (("orders::1::refunded",), {})]


def test_spec_example_on_the_global_dispatcher() -> None:
    """The docs' catch-all listener (``listensFor = ['.*']``) works on the global ``Dispatcher``."""
    seen: list[tuple[object, tuple[Any, ...]]] = []

    class ExampleEventListener(EventListener):
        listensFor = [".*"]

        def handle(self, event: object, *args: Any, **kwargs: Any) -> None:
            seen.append((event, args))

    try:
        Dispatcher.Dispatch("spec::listener::example", 1)
        Dispatcher.ClearQueue()
    finally:
        ExampleEventListener.unregister()
    assert ("spec::listener::example", (1,)) in seen


def test_listener_is_registered_once_at_class_definition(events: EventDispatcher) -> None:
    """Defining the class registers one handler per ``listensFor`` entry, and an event reaches ``handle`` once."""
    calls: list[Call] = []

    class Once(EventListener):
        listensFor = [OrderPlaced, "orders::.*"]
        dispatcher = events

        def handle(self, *args: Any, **kwargs: Any) -> None:
            calls.append((args, kwargs))

    assert len(events.registry) == 2
    assert [registration.active for registration in Once.registrations] == [True, True]
    events.Dispatch("orders::anything")
    events.ClearQueue()
    assert len(calls) == 1


def test_handle_is_looked_up_at_call_time(events: EventDispatcher) -> None:
    """``mock.patch.object(Listener, "handle")`` replaces what the registered listener calls."""

    class Patchable(EventListener):
        listensFor = [OrderPlaced]
        dispatcher = events

        def handle(self, event: OrderPlaced) -> None:
            raise AssertionError("the patched handle should run instead")

    with mock.patch.object(Patchable, "handle") as handle:
        placed = events.Dispatch(OrderPlaced(order_id=2))
        events.ClearQueue()
    handle.assert_called_once_with(placed)


def test_priority_orders_listeners(events: EventDispatcher) -> None:
    """A listener with a higher ``priority`` runs before the others."""
    order: list[str] = []

    class Late(EventListener):
        listensFor = [OrderPlaced]
        dispatcher = events

        def handle(self, event: OrderPlaced) -> None:
            order.append("late")

    class Early(EventListener):
        listensFor = [OrderPlaced]
        dispatcher = events
        priority = 10

        def handle(self, event: OrderPlaced) -> None:
            order.append("early")

    events.Dispatch(OrderPlaced(order_id=1))
    events.ClearQueue()
    assert order == ["early", "late"]
    assert [registration.priority for registration in Early.registrations] == [10]


def test_unregister_stops_delivery(events: EventDispatcher) -> None:
    """After ``unregister()`` the listener receives nothing and its registrations are inactive."""
    calls: list[Call] = []

    class Gone(EventListener):
        listensFor = [OrderPlaced, "x"]
        dispatcher = events

        def handle(self, *args: Any, **kwargs: Any) -> None:
            calls.append((args, kwargs))

    Gone.unregister()
    events.Dispatch(OrderPlaced(order_id=1))
    events.Dispatch("x")
    events.ClearQueue()
    assert calls == []
    assert len(events.registry) == 0
    assert not any(registration.active for registration in Gone.registrations)


def test_stop_propagation_from_a_listener(events: EventDispatcher) -> None:
    """A listener that stops propagation keeps lower-priority listeners from the event."""
    order: list[str] = []

    class Gate(EventListener):
        listensFor = [OrderPlaced]
        dispatcher = events
        priority = 1

        def handle(self, event: OrderPlaced) -> None:
            order.append("gate")
            event.stop_propagation()

    class After(EventListener):
        listensFor = [OrderPlaced]
        dispatcher = events

        def handle(self, event: OrderPlaced) -> None:
            order.append("after")

    events.Dispatch(OrderPlaced(order_id=1))
    events.ClearQueue()
    assert order == ["gate"]


def test_failing_listener_is_logged_as_its_handle(events: EventDispatcher, caplog: pytest.LogCaptureFixture) -> None:
    """A listener's exception is logged under ``module:Class.handle``."""

    class Faulty(EventListener):
        listensFor = ["faulty"]
        dispatcher = events

        def handle(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("faulty listener")

    events.Dispatch("faulty")
    events.ClearQueue()
    assert [record.getMessage() for record in caplog.records] == [
        f"handler {__name__}:test_failing_listener_is_logged_as_its_handle.<locals>.Faulty.handle "
        "failed while handling event 'faulty'"
    ]


# -- abstract bases ------------------------------------------------------------------------------


def test_abstract_flag_base_is_not_registered(events: EventDispatcher) -> None:
    """A base with ``abstract = True`` is not registered; its concrete subclass is."""
    calls: list[str] = []

    class Base(EventListener):
        abstract = True
        dispatcher = events

        def handle(self, *args: Any, **kwargs: Any) -> None:
            calls.append(type(self).__name__)

    assert Base.registrations == ()
    assert len(events.registry) == 0

    class Concrete(Base):
        listensFor = ["evt"]

    assert not Concrete.abstract
    events.Dispatch("evt")
    events.ClearQueue()
    assert calls == ["Concrete"]


def test_abstract_method_base_is_not_registered(events: EventDispatcher) -> None:
    """A base with an ``abc.abstractmethod`` is not registered, even with ``listensFor``; its subclass is."""
    calls: list[str] = []

    class Base(EventListener):
        listensFor = ["evt"]
        dispatcher = events

        @abc.abstractmethod
        def describe(self) -> str: ...

        def handle(self, *args: Any, **kwargs: Any) -> None:
            calls.append(self.describe())

    assert Base.registrations == ()
    assert len(events.registry) == 0

    class Concrete(Base):
        listensFor = ["evt"]

        def describe(self) -> str:
            return "concrete"

    events.Dispatch("evt")
    events.ClearQueue()
    assert calls == ["concrete"]


# -- definition errors ---------------------------------------------------------------------------


def test_missing_listens_for_is_rejected(events: EventDispatcher) -> None:
    """A concrete listener without ``listensFor`` raises ListenerDefinitionError with a hint."""
    with pytest.raises(
        ListenerDefinitionError,
        match=r"NoTargets.listensFor must be defined with at least one event \(an Event class or a pattern string\); "
        r"set abstract = True on a base class",
    ):

        class NoTargets(EventListener):
            dispatcher = events

            def handle(self, *args: Any, **kwargs: Any) -> None: ...


def test_empty_listens_for_is_rejected(events: EventDispatcher) -> None:
    """``listensFor = []`` raises ListenerDefinitionError."""
    with pytest.raises(ListenerDefinitionError, match=r"Empty.listensFor must be defined with at least one event"):

        class Empty(EventListener):
            listensFor = []
            dispatcher = events

            def handle(self, *args: Any, **kwargs: Any) -> None: ...


def test_str_listens_for_is_rejected(events: EventDispatcher) -> None:
    """``listensFor = "pattern"`` (a str, not a list) raises ListenerDefinitionError."""
    with pytest.raises(
        ListenerDefinitionError,
        match=r"Stringy.listensFor must be a list of Event classes and pattern strings, not 'orders::.\*'",
    ):

        class Stringy(EventListener):
            listensFor = "orders::.*"  # a str is a sequence of strings to the type checkers
            dispatcher = events

            def handle(self, *args: Any, **kwargs: Any) -> None: ...


def test_bad_listens_for_entry_is_rejected(events: EventDispatcher) -> None:
    """An entry that is neither a str nor an Event class raises ListenerDefinitionError naming it."""
    with pytest.raises(
        ListenerDefinitionError, match=r"BadEntry.listensFor entries must be Event classes or pattern strings, not 42"
    ):

        class BadEntry(EventListener):
            listensFor = ["ok", 42]  # type: ignore[list-item]
            dispatcher = events

            def handle(self, *args: Any, **kwargs: Any) -> None: ...

    assert len(events.registry) == 0


def test_non_event_class_entry_is_rejected(events: EventDispatcher) -> None:
    """A class that is not an Event subclass in ``listensFor`` raises ListenerDefinitionError."""
    with pytest.raises(
        ListenerDefinitionError, match=r"entries must be Event classes or pattern strings, not <class 'int'>"
    ):

        class WrongClass(EventListener):
            listensFor = [int]  # type: ignore[list-item]
            dispatcher = events

            def handle(self, *args: Any, **kwargs: Any) -> None: ...


def test_missing_handle_is_rejected(events: EventDispatcher) -> None:
    """A concrete listener without ``handle`` raises ListenerDefinitionError."""
    with pytest.raises(
        ListenerDefinitionError, match=r"NoHandle must define handle\(self, event, \*args, \*\*kwargs\)"
    ):

        class NoHandle(EventListener):
            listensFor = ["evt"]
            dispatcher = events

    assert len(events.registry) == 0


def test_invalid_pattern_in_listens_for_registers_nothing(events: EventDispatcher) -> None:
    """``listensFor = ["ok", "("]`` raises InvalidPatternError at class definition and leaves no handler behind."""
    with pytest.raises(InvalidPatternError, match=r"invalid event pattern '\(': missing \), unterminated subpattern"):

        class BadPattern(EventListener):
            listensFor = ["ok", "("]
            dispatcher = events

            def handle(self, *args: Any, **kwargs: Any) -> None: ...

    assert len(events.registry) == 0


# -- inherited listensFor and names dispatched with Event arguments ------------------------------


def test_listens_for_is_inherited_from_an_abstract_base(events: EventDispatcher) -> None:
    """A concrete listener takes ``listensFor`` from an abstract base that declares it."""
    calls: list[object] = []

    class Base(EventListener):
        abstract = True
        listensFor = [OrderPlaced]
        dispatcher = events

        def handle(self, event: OrderPlaced) -> None:
            calls.append((type(self).__name__, event.order_id))

    class Concrete(Base):
        pass

    events.Dispatch(OrderPlaced(order_id=3))
    events.ClearQueue()
    assert Base.registrations == ()
    assert len(Concrete.registrations) == 1
    assert calls == [("Concrete", 3)]


def test_listens_for_is_not_inherited_from_a_concrete_listener(events: EventDispatcher) -> None:
    """A subclass of a concrete listener must declare its own ``listensFor``: both would get every event."""

    class First(EventListener):
        listensFor = [OrderPlaced]
        dispatcher = events

        def handle(self, event: OrderPlaced) -> None:
            pass

    with pytest.raises(ListenerDefinitionError, match=r"Second\.listensFor must be defined with at least one event"):

        class Second(First):
            pass


def test_a_name_dispatched_with_an_event_argument_keeps_the_name(events: EventDispatcher) -> None:
    """``Dispatch("audit", event)`` reaches ``handle`` as ``(name, event)``: only an Event dispatch drops the name."""
    calls: list[tuple[object, ...]] = []

    class Audit(EventListener):
        listensFor = ["audit", OrderPlaced]
        dispatcher = events

        def handle(self, *args: object) -> None:
            calls.append(args)

    placed = OrderPlaced(order_id=9)
    events.Dispatch("audit", placed)
    events.Dispatch(placed)
    events.ClearQueue()
    assert calls == [("audit", placed), (placed,)]


@pytest.mark.parametrize(
    ("attribute", "option"),
    [
        ("after_comit", "after_commit"),
        ("listens_for", "listensFor"),
        ("prority", "priority"),
        ("max_retires", "max_retries"),
    ],
)
def test_a_misspelt_option_is_refused_at_class_definition(attribute: str, option: str) -> None:
    """An attribute named nearly like an option would be silently ignored: the class is refused, naming the option."""
    namespace: dict[str, object] = {"listensFor": ["listener::typo"], attribute: True, "handle": lambda self, *a: None}
    with pytest.raises(
        ListenerDefinitionError, match=rf"Typo\.{attribute} is not an EventListener option: did you mean {option}\?"
    ):
        type("Typo", (EventListener,), namespace)


def test_attributes_unlike_any_option_are_the_listener_s_own() -> None:
    """A listener's own data attributes (not near any option name) are left alone."""

    class OwnAttributes(EventListener):
        listensFor = ["listener::own"]
        template = "receipt.txt"
        recipients = ("ops@example.com",)

        def handle(self, *args: object, **kwargs: object) -> None: ...

    try:
        assert OwnAttributes.template == "receipt.txt"
    finally:
        OwnAttributes.unregister()
