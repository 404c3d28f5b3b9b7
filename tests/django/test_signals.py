"""Tests for ``RegisterSignalsFor`` and ``SignalToEvent``."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in
from django.dispatch import Signal
from django.test import Client

from django_event_system import (
    Dispatcher,
    Event,
    EventDispatcher,
    EventListener,
    Observer,
    RegisterSignalsFor,
    SignalToEvent,
)

from .testapp.models import AbstractThing, Example, Place

EXAMPLE = "events::db::tests::django::testapp::models::Example"

order_paid = Signal()


class OrderPaid(Event):
    """Built from the signal's keyword arguments."""

    order_id: int
    sender: object


class PaidWithDefaults(Event):
    Name = "orders::paid::defaults"

    order_id: int
    currency: str = "EUR"


class NeedsMore(Event):
    order_id: int
    customer: str


class Anything(Event):
    Name = "orders::anything"

    def __init__(self, **kwargs: object) -> None:
        self.kwargs = kwargs


# -- RegisterSignalsFor ------------------------------------------------------------------


@pytest.mark.django_db
def test_register_signals_for_returns_the_event_names() -> None:
    """It returns the event name of each action."""
    names = RegisterSignalsFor(Example)
    assert names == {
        action: f"{EXAMPLE}::{action}"
        for action in (
            *("creating", "created", "updating", "updated", "saving", "saved", "deleting", "deleted"),
            *("bulk_created", "bulk_updated", "queryset_updated", "m2m_added", "m2m_removed", "m2m_cleared"),
        )
    }


@pytest.mark.django_db
def test_register_signals_for_dispatches_the_model_events(
    drain: Callable[[], None], received: list[tuple[str, object]]
) -> None:
    """Without an Observer, the model's saves and deletes dispatch its events with the instance."""
    RegisterSignalsFor(Example)
    example = Example.objects.create(name="mapped")
    example.delete()
    drain()
    assert [name.rsplit("::", 1)[1] for name, _ in received] == [
        "creating",
        "saving",
        "created",
        "saved",
        "deleting",
        "deleted",
    ]
    assert all(instance is example for _, instance in received)


@pytest.mark.django_db
def test_unregistered_models_dispatch_nothing(drain: Callable[[], None], received: list[tuple[str, object]]) -> None:
    """A model that is neither observed nor registered dispatches no event (as in 1.0)."""
    Place.objects.create(name="quiet")
    drain()
    assert received == []


@pytest.mark.django_db
def test_register_signals_for_twice_never_doubles(
    drain: Callable[[], None], received: list[tuple[str, object]]
) -> None:
    """Calling it twice, and observing the model too, still dispatches each event once."""
    RegisterSignalsFor(Example)
    RegisterSignalsFor(Example)

    class AlsoObserved(Observer[Example]):
        observes = Example

        def created(self, event_name: str, instance: Example) -> None: ...

    Example.objects.create(name="once")
    drain()
    assert [name.rsplit("::", 1)[1] for name, _ in received].count("created") == 1
    assert len(received) == 4


@pytest.mark.django_db
def test_register_signals_for_on_another_dispatcher(drain: Callable[[], None]) -> None:
    """``dispatcher=`` sends the model's events to that dispatcher as well."""
    other = EventDispatcher()
    seen: list[str] = []
    other.RegisterHandler(f"{EXAMPLE}::created", lambda name, instance: seen.append(instance.name))
    RegisterSignalsFor(Example, dispatcher=other)
    Example.objects.create(name="other")
    other.ClearQueue(timeout=10)
    assert seen == ["other"]


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (Example(name="instance"), r"RegisterSignalsFor\(\) takes a concrete model class: <Example: instance> is not"),
        ("testapp.Example", r"RegisterSignalsFor\(\) takes a concrete model class: 'testapp.Example' is not a Django"),
        (AbstractThing, r"RegisterSignalsFor\(\) takes a concrete model class: AbstractThing is an abstract model"),
    ],
    ids=["instance", "string", "abstract"],
)
def test_register_signals_for_refuses_what_is_not_a_concrete_model(model: object, message: str) -> None:
    """Anything but a concrete model class is a TypeError naming the value."""
    with pytest.raises(TypeError, match=message):
        RegisterSignalsFor(model)  # type: ignore[arg-type]


def test_register_signals_for_refuses_a_bad_dispatcher() -> None:
    """The dispatcher must be an EventDispatcher."""
    with pytest.raises(TypeError, match=r"dispatcher must be an EventDispatcher, not 'global'"):
        RegisterSignalsFor(Example, dispatcher="global")  # type: ignore[arg-type]


# -- SignalToEvent -------------------------------------------------------------------------


def test_event_name_handlers_receive_the_sender_and_kwargs(drain: Callable[[], None]) -> None:
    """With ``event="name"``, handlers are called as ``(name, sender, **kwargs)``, ``signal`` included."""
    calls: list[tuple[str, tuple[object, ...], dict[str, object]]] = []
    SignalToEvent(order_paid, event="orders::paid")
    with Dispatcher.RegisterHandler("orders::paid", lambda name, *a, **k: calls.append((name, a, k))):
        order_paid.send(sender="shop", order_id=7)
        assert calls == []
        drain()
    assert calls == [("orders::paid", ("shop",), {"signal": order_paid, "order_id": 7})]


def test_event_class_is_built_from_the_signal_arguments(drain: Callable[[], None]) -> None:
    """With an Event class, an instance is built from the arguments its ``__init__`` accepts."""
    received: list[OrderPaid] = []
    SignalToEvent(order_paid, event=OrderPaid)
    registration = Dispatcher.RegisterHandler(OrderPaid, lambda name, event: received.append(event))
    try:
        order_paid.send(sender="shop", order_id=7, extra="ignored")
        drain()
    finally:
        registration.cancel()
    [event] = received
    assert isinstance(event, OrderPaid)
    assert (event.order_id, event.sender) == (7, "shop")


def test_event_class_with_defaults_and_kwargs(drain: Callable[[], None]) -> None:
    """Defaults fill what the signal does not send; an ``__init__`` with ``**kwargs`` gets everything."""
    built: list[Event] = []
    SignalToEvent(order_paid, event=PaidWithDefaults)
    SignalToEvent(order_paid, event=Anything)
    with (
        Dispatcher.RegisterHandler(PaidWithDefaults, lambda name, event: built.append(event)),
        Dispatcher.RegisterHandler(Anything, lambda name, event: built.append(event)),
    ):
        order_paid.send(sender=None, order_id=3)
        drain()
    defaults, anything = sorted(built, key=lambda e: type(e).__name__ != "PaidWithDefaults")
    assert isinstance(defaults, PaidWithDefaults)
    assert (defaults.order_id, defaults.currency) == (3, "EUR")
    assert isinstance(anything, Anything)
    assert anything.kwargs == {"sender": None, "signal": order_paid, "order_id": 3}


def test_event_listener_of_a_mapped_event_class_gets_the_instance(drain: Callable[[], None]) -> None:
    """An EventListener of the Event class receives the built instance alone."""
    seen: list[object] = []

    class OnPaid(EventListener):
        listensFor = [OrderPaid]

        def handle(self, event: OrderPaid) -> None:
            seen.append(event)

    SignalToEvent(order_paid, event=OrderPaid)
    try:
        order_paid.send(sender="shop", order_id=9)
        drain()
    finally:
        OnPaid.unregister()
    assert [type(e) for e in seen] == [OrderPaid]


def test_event_class_missing_arguments_is_a_type_error() -> None:
    """An Event class that needs more than the signal sends fails in ``send``, naming what is missing."""
    SignalToEvent(order_paid, event=NeedsMore)
    with pytest.raises(
        TypeError,
        match=r"NeedsMore cannot be built from the signal: it needs customer, and the signal sends order_id, "
        r"sender, signal",
    ):
        order_paid.send(sender=None, order_id=1)


def test_sender_filters(drain: Callable[[], None]) -> None:
    """With ``sender``, only that sender's signals become events."""
    calls: list[object] = []
    SignalToEvent(order_paid, event="orders::paid::by", sender="web")
    with Dispatcher.RegisterHandler("orders::paid::by", lambda name, sender, **k: calls.append(sender)):
        order_paid.send(sender="web", order_id=1)
        order_paid.send(sender="batch", order_id=2)
        drain()
    assert calls == ["web"]


def test_hook_returning_a_name(drain: Callable[[], None]) -> None:
    """The hook gets ``(sender, **kwargs)``; a returned name is dispatched with the sender and kwargs."""
    hook_calls: list[tuple[object, dict[str, object]]] = []

    def hook(*args: object, **kwargs: object) -> str:
        hook_calls.append((args, kwargs))
        if args[0] == 1:
            return "event::when::1"
        return "event::when::none"

    calls: list[tuple[str, object]] = []
    SignalToEvent(order_paid, hook=hook)
    with Dispatcher.RegisterHandler("event::when::.*", lambda name, sender, **k: calls.append((name, sender))):
        order_paid.send(sender=1)
        order_paid.send(sender=2)
        drain()
    assert calls == [("event::when::1", 1), ("event::when::none", 2)]
    assert hook_calls == [((1,), {"signal": order_paid}), ((2,), {"signal": order_paid})]


def test_hook_returning_an_instance_or_a_class(drain: Callable[[], None]) -> None:
    """A returned Event instance is dispatched as is; a returned Event class is built from the signal."""
    built: list[Event] = []

    def hook(sender: object, **kwargs: object) -> Event | type[Event]:
        if sender == "ready":
            return PaidWithDefaults(order_id=1, currency="USD")
        return PaidWithDefaults

    SignalToEvent(order_paid, hook=hook)
    with Dispatcher.RegisterHandler(PaidWithDefaults, lambda name, event: built.append(event)):
        order_paid.send(sender="ready")
        order_paid.send(sender="build", order_id=2)
        drain()
    assert [(type(e).__name__, e.order_id, e.currency) for e in built] == [  # type: ignore[attr-defined]
        ("PaidWithDefaults", 1, "USD"),
        ("PaidWithDefaults", 2, "EUR"),
    ]


@pytest.mark.parametrize("returned", [None, 42, Dispatcher, ["event"]], ids=["None", "int", "object", "list"])
def test_hook_returning_anything_else_is_a_type_error(returned: object) -> None:
    """A hook that returns neither a name nor an Event fails, naming the hook and the value."""

    def bad_hook(sender: object, **kwargs: object) -> object:
        return returned

    SignalToEvent(order_paid, hook=bad_hook)  # type: ignore[arg-type]
    with pytest.raises(
        TypeError,
        match=r"the hook tests\.django\.test_signals:test_hook_returning_anything_else_is_a_type_error\.<locals>\."
        r"bad_hook given to SignalToEvent\(\) must return an event name, an Event instance or an Event class, "
        rf"not {re.escape(repr(returned))}",
    ):
        order_paid.send(sender=None)


def test_neither_event_nor_hook_is_a_type_error() -> None:
    """``SignalToEvent(signal)`` alone is a TypeError."""
    with pytest.raises(TypeError, match=r"SignalToEvent\(\) needs an event \(a name or an Event class\) or a hook"):
        SignalToEvent(order_paid)


def test_event_and_hook_together_is_a_type_error() -> None:
    """Both ``event`` and ``hook`` is a TypeError."""
    with pytest.raises(TypeError, match=r"SignalToEvent\(\) takes an event or a hook, not both"):
        SignalToEvent(order_paid, event="x", hook=lambda sender, **k: "x")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"event": 42}, TypeError, r"takes an event name \(str\) or an Event class as event, not 42"),
        ({"event": OrderPaid(order_id=1, sender=None)}, TypeError, r"or an Event class as event, not OrderPaid\("),
        ({"event": ""}, ValueError, r"SignalToEvent\(\) was given an empty event name"),
        (
            {"hook": "not callable"},
            TypeError,
            r"the hook given to SignalToEvent\(\) must be callable, not 'not callable'",
        ),
        ({"event": "x", "dispatcher": None}, TypeError, r"dispatcher must be an EventDispatcher, not None"),
    ],
    ids=["int", "instance", "empty", "hook", "dispatcher"],
)
def test_bad_arguments(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    """Each bad argument is refused when mapping, with a message naming it."""
    with pytest.raises(error, match=message):
        SignalToEvent(order_paid, **kwargs)  # type: ignore[arg-type]


def test_signal_must_be_a_signal() -> None:
    """Something that is not a Signal is refused."""
    with pytest.raises(TypeError, match=r"SignalToEvent\(\) takes a django.dispatch.Signal, not 'post_save'"):
        SignalToEvent("post_save", event="x")  # type: ignore[arg-type]


def test_same_mapping_twice_is_connected_once(drain: Callable[[], None]) -> None:
    """The same call twice returns the same mapping and dispatches once per signal."""
    calls: list[str] = []
    first = SignalToEvent(order_paid, event="orders::paid::once")
    second = SignalToEvent(order_paid, event="orders::paid::once")
    assert first is second
    with Dispatcher.RegisterHandler("orders::paid::once", lambda name, *a, **k: calls.append(name)):
        order_paid.send(sender=None)
        drain()
    assert calls == ["orders::paid::once"]


def test_disconnect_stops_the_mapping(drain: Callable[[], None]) -> None:
    """After ``disconnect()`` (or its ``with`` block) the signal no longer becomes an event."""
    calls: list[str] = []
    with (
        Dispatcher.RegisterHandler("orders::paid::stop", lambda name, *a, **k: calls.append(name)),
        SignalToEvent(order_paid, event="orders::paid::stop") as mapping,
    ):
        order_paid.send(sender=None)
    assert not mapping.connected
    order_paid.send(sender=None)
    drain()
    assert calls == []  # the handler was cancelled before the drain, too
    assert repr(mapping) == "<SignalMapping tests.django.test_signals.order_paid -> orders::paid::stop disconnected>"


@pytest.mark.django_db
def test_user_logged_in_to_event(drain: Callable[[], None], client: Client) -> None:
    """The docs' example: Django's ``user_logged_in`` becomes an event with the user."""
    logins: list[str] = []
    SignalToEvent(user_logged_in, event="auth::logged_in")
    user = User.objects.create_user("ada", password="secret")
    with Dispatcher.RegisterHandler("auth::logged_in", lambda name, sender, **k: logins.append(k["user"].username)):
        client.force_login(user)
        drain()
    assert logins == ["ada"]
