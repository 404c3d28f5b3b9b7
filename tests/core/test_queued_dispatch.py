"""Tests for what queued handlers need at dispatch time: a payload that travels, checked in the caller's stack."""

from __future__ import annotations

import decimal
import json
from collections.abc import Iterator
from typing import Any

import pytest

from django_event_system.core import (
    Event,
    EventDispatcher,
    HandlerErrors,
    HeldMessages,
    InMemoryTransport,
    SerializationError,
    register_value_codec,
    set_hold_provider,
    using_transport,
)
from django_event_system.core.queued._serialization import JSON
from tests.helpers import installed

RECEIPT = "tests.core.test_queued_dispatch:send_receipt"
AUDIT = "tests.core.test_queued_dispatch:audit"
ALLOWED = (
    "which queued handlers cannot receive: pass str, int, float, bool, None, Decimal, datetime, date, time, "
    "timedelta, UUID, lists, tuples and dicts of those, registered Event instances or model instances"
)


class Tagged(Event):
    Name = "dispatch_check::tagged"
    order_id: int
    tags: Any


class Unregistered(Event):
    Name = "dispatch_check::unregistered"


def send_receipt(event: Tagged) -> None:
    """A queued handler of Tagged (it never runs here: messages are only sent)."""


def audit(name: str, *args: Any, **kwargs: Any) -> None:
    """A queued pattern handler (it never runs here: messages are only sent)."""


class Counted:
    """An encodable value whose codec counts how often it was encoded."""

    encoded = 0


class CountingCodec:
    tag = "counted"

    def can_encode(self, value: object) -> bool:
        return isinstance(value, Counted)

    def encode(self, value: Any) -> JSON:
        Counted.encoded += 1
        return Counted.encoded

    def decode(self, data: JSON) -> object:
        return Counted()


@pytest.fixture
def transport() -> Iterator[InMemoryTransport]:
    """An in-memory transport, configured for the test only."""
    memory = InMemoryTransport()
    with using_transport(memory):
        yield memory


@pytest.fixture
def counted() -> Iterator[type[Counted]]:
    """The Counted type, its codec registered and its count at zero."""
    Counted.encoded = 0
    remove = register_value_codec(CountingCodec())
    yield Counted
    remove()


@pytest.fixture
def queued(dispatcher: EventDispatcher) -> EventDispatcher:
    """The test's dispatcher, with a queued handler of Tagged and a queued pattern handler."""
    dispatcher.listen(Tagged, queued=True)(send_receipt)
    dispatcher.RegisterHandler("dispatch_check::audit::.*", audit, queued=True)
    return dispatcher


def test_an_event_that_cannot_travel_is_refused_by_dispatch_naming_the_field(
    queued: EventDispatcher, transport: InMemoryTransport
) -> None:
    """Dispatch raises SerializationError naming the event, its queued handler and the field; nothing runs."""
    ran: list[object] = []
    queued.listen(Tagged)(ran.append)
    with pytest.raises(SerializationError) as caught:
        queued.Dispatch(Tagged(7, {"a", "b"}))
    assert str(caught.value) == (
        f"event 'dispatch_check::tagged' was not dispatched: it has the queued handler {RECEIPT}, "
        f"and event.tags is a builtins.set, {ALLOWED}"
    )
    queued.ClearQueue()
    assert ran == []
    assert transport.sent == []


def test_event_class_dispatch_raises_in_the_caller(
    queued: EventDispatcher, transport: InMemoryTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``EventClass.Dispatch(...)`` raises the same error, from the line that dispatched."""
    monkeypatch.setattr(Tagged, "dispatcher", queued)
    with pytest.raises(SerializationError, match=r"and event\.tags\[0\] is a builtins\.object, which"):
        Tagged.Dispatch(order_id=7, tags=[object()])
    queued.ClearQueue()
    assert transport.sent == []


def test_a_string_event_names_the_argument_and_every_queued_handler(
    queued: EventDispatcher, transport: InMemoryTransport
) -> None:
    """A string event's arguments are checked too; the message lists each queued handler once."""
    queued.RegisterHandler("dispatch_check::audit::paid", send_receipt, queued=True)
    queued.RegisterHandler("dispatch_check::.*::paid", audit, queued=True)
    with pytest.raises(SerializationError) as caught:
        queued.Dispatch("dispatch_check::audit::paid", 7, note=frozenset())
    assert str(caught.value).startswith(
        f"event 'dispatch_check::audit::paid' was not dispatched: it has the queued handlers {AUDIT}, {RECEIPT}, "
        "and kwargs['note'] is a builtins.frozenset, which"
    )
    with pytest.raises(SerializationError, match=r"and args\[1\] is a builtins\.set, which"):
        queued.Dispatch("dispatch_check::audit::paid", 7, {1})
    queued.ClearQueue()
    assert transport.sent == []


def test_an_unregistered_event_class_is_refused_at_dispatch(
    queued: EventDispatcher, transport: InMemoryTransport
) -> None:
    """An Event that no worker could revive fails at dispatch, saying how to register it."""
    with pytest.raises(SerializationError, match=r"call register_event_class\(Unregistered\)"):
        queued.Dispatch("dispatch_check::audit::carried", Unregistered())
    queued.ClearQueue()
    assert transport.sent == []


def test_in_sync_mode_no_handler_of_a_refused_event_runs(queued: EventDispatcher, transport: InMemoryTransport) -> None:
    """Even where handlers run inline, a refused event reaches none of them."""
    ran: list[object] = []
    queued.RegisterHandler(Tagged, lambda name, event: ran.append(event), priority=10)
    queued.sync = True
    with pytest.raises(SerializationError):
        queued.Dispatch(Tagged(1, {1}))
    assert ran == []
    assert transport.sent == []


def test_a_refused_event_is_neither_intercepted_nor_held(queued: EventDispatcher, transport: InMemoryTransport) -> None:
    """Interceptors (the testing helpers) never see a refused event, and no transaction is asked to hold it."""
    asked: list[str] = []
    seen: list[str] = []

    def provider(name: str) -> HeldMessages | None:
        asked.append(name)
        return HeldMessages()

    def spy(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], event: Event | None) -> bool:
        seen.append(name)
        return False

    interception = queued.intercept(spy)
    try:
        with installed(set_hold_provider, provider), pytest.raises(SerializationError):
            queued.Dispatch(Tagged(1, {1}))
    finally:
        interception.cancel()
    assert (seen, asked) == ([], [])


def test_a_refused_event_in_a_handler_fails_that_handler(queued: EventDispatcher, transport: InMemoryTransport) -> None:
    """Dispatched by a handler, the refused event is that handler's error, under the error policy."""
    queued.error_policy = "raise"
    queued.RegisterHandler("dispatch_check::start", lambda name: queued.Dispatch(Tagged(1, {1})))
    queued.Dispatch("dispatch_check::start")
    with pytest.raises(HandlerErrors) as caught:
        queued.ClearQueue()
    assert caught.group_contains(SerializationError, match="event 'dispatch_check::tagged' was not dispatched")
    assert transport.sent == []


def test_events_without_queued_handlers_are_not_encoded(
    queued: EventDispatcher, transport: InMemoryTransport, counted: type[Counted]
) -> None:
    """An event with no queued handler is not encoded, whatever it carries, on any dispatcher."""
    received: list[tuple[Any, ...]] = []
    queued.RegisterHandler("dispatch_check::local", lambda name, *args: received.append(args))
    plain = EventDispatcher()
    plain.RegisterHandler("dispatch_check::local", lambda name, *args: received.append(args))
    queued.Dispatch("dispatch_check::local", {1}, Counted())
    plain.Dispatch("dispatch_check::local", {2}, Counted())
    queued.ClearQueue()
    plain.ClearQueue()
    assert [args[0] for args in received] == [{1}, {2}]
    assert counted.encoded == 0
    assert transport.sent == []


def test_a_queued_handler_registered_later_is_checked_at_the_next_dispatch(
    dispatcher: EventDispatcher, transport: InMemoryTransport
) -> None:
    """The dispatch-time check follows the registry: a name seen without queued handlers is checked once it has one."""
    dispatcher.RegisterHandler("dispatch_check::other", audit, queued=True)
    dispatcher.Dispatch("dispatch_check::audit::late", {1})
    dispatcher.RegisterHandler("dispatch_check::audit::.*", audit, queued=True)
    with pytest.raises(SerializationError, match="event 'dispatch_check::audit::late' was not dispatched"):
        dispatcher.Dispatch("dispatch_check::audit::late", {1})
    dispatcher.ClearQueue()
    assert transport.sent == []


def test_the_event_travels_as_it_was_dispatched_encoded_once(
    queued: EventDispatcher, transport: InMemoryTransport, counted: type[Counted]
) -> None:
    """The Event is encoded once, at dispatch, for all its queued handlers; later changes do not travel."""
    queued.RegisterHandler("dispatch_check::tag.*", audit, queued=True)
    event = queued.Dispatch(Tagged(7, [Counted()]))
    event.order_id = 8
    queued.ClearQueue()
    assert [message.handler for message in transport.sent] == [RECEIPT, AUDIT]
    assert counted.encoded == 1
    bodies = [json.loads(message.body) for message in transport.sent]
    assert [body["event"]["fields"] for body in bodies] == [{"order_id": 7, "tags": [{"$counted": 1}]}] * 2
    assert {body["id"] for body in bodies} == {event.event_id}


def test_each_dispatch_of_one_instance_sends_what_it_held_then(
    queued: EventDispatcher, transport: InMemoryTransport
) -> None:
    """Dispatched again after a change, the same instance sends its new fields, under its one id."""
    event = Tagged(7, decimal.Decimal("1.5"))
    queued.Dispatch(event)
    queued.ClearQueue()
    event.tags = "changed"
    queued.Dispatch(event)
    queued.ClearQueue()
    bodies = [json.loads(message.body) for message in transport.sent]
    assert [body["event"]["fields"]["tags"] for body in bodies] == [{"$decimal": "1.5"}, "changed"]
    assert bodies[0]["id"] == bodies[1]["id"] == event.event_id


def test_a_dispatcher_without_queued_handlers_keeps_its_fast_path(queued: EventDispatcher) -> None:
    """Only a dispatcher that has queued handlers checks its dispatches; the others intercept nothing."""
    plain = EventDispatcher()
    plain.RegisterHandler("dispatch_check::local", audit)
    assert plain._interceptors == ()
    assert len(queued._interceptors) == 1
    queued.RegisterHandler("dispatch_check::more", send_receipt, queued=True)
    assert len(queued._interceptors) == 1, "installed once, however many queued handlers"
