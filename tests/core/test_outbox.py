"""Tests for the outbox seam of the core: messages written at dispatch, and run once by the worker."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator

import pytest

from django_event_system.core import (
    Delivery,
    EnqueueError,
    Event,
    EventDispatcher,
    HandlerErrors,
    InMemoryTransport,
    Message,
    Outcome,
    Queued,
    SerializationError,
    process_message,
    using_transport,
)
from django_event_system.core.integration import set_delivery_guard, set_outbox
from tests.helpers import installed

handled: list[str] = []


class Packed(Event):
    Name = "core_outbox::packed"
    parcel: str


def on_packed(event: Packed) -> None:
    handled.append(event.parcel)


def on_named(name: str, value: object) -> None:
    handled.append(f"{name} {value}")


class ListOutbox:
    """An outbox that keeps its messages in a list."""

    def __init__(self, *, default: bool = False) -> None:
        self.default = default
        self.messages: list[Message] = []

    def write(self, messages: list[Message]) -> None:
        self.messages.extend(messages)


class SetGuard:
    """A delivery guard that remembers the (event id, handler) pairs it ran."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()
        self.asked: list[Delivery] = []

    def __call__(self, delivery: Delivery, run: Callable[[], None]) -> bool:
        self.asked.append(delivery)
        key = (delivery.event_id, delivery.handler)
        if key in self.seen:
            return False
        run()
        self.seen.add(key)
        return True


@pytest.fixture(autouse=True)
def _nothing_handled_yet() -> None:
    handled.clear()


@pytest.fixture
def outbox() -> Iterator[ListOutbox]:
    """A list outbox installed for the test (the previous one comes back after)."""
    with installed(set_outbox, ListOutbox()) as mine:
        yield mine


@pytest.fixture
def guard() -> Iterator[SetGuard]:
    with installed(set_delivery_guard, SetGuard()) as mine:
        yield mine


def test_outbox_messages_are_written_at_dispatch_and_never_sent(
    dispatcher: EventDispatcher, outbox: ListOutbox
) -> None:
    """The message is written in Dispatch, before any handler ran; the transport gets nothing."""
    dispatcher.listen(Packed, queued=Queued(outbox=True))(on_packed)
    transport = InMemoryTransport()
    with using_transport(transport):
        event = dispatcher.Dispatch(Packed("p-1"))
        assert [(message.event_id, message.handler) for message in outbox.messages] == [
            (event.event_id, f"{__name__}:on_packed")
        ]
        dispatcher.ClearQueue()
    assert transport.sent == []
    body = json.loads(outbox.messages[0].body)
    assert body["outbox"] is True
    assert body["event"]["fields"] == {"parcel": "p-1"}


def test_the_outbox_default_applies_to_handlers_that_do_not_say(
    dispatcher: EventDispatcher, outbox: ListOutbox
) -> None:
    """Queued(outbox=None) follows the outbox's default; outbox=False is sent through the transport."""
    dispatcher.RegisterHandler("core_outbox::named", on_named, queued=True)
    dispatcher.RegisterHandler("core_outbox::named", on_packed, queued=Queued(outbox=False, key="sent"))
    transport = InMemoryTransport()
    with using_transport(transport):
        dispatcher.Dispatch("core_outbox::named", 1)
        dispatcher.ClearQueue()
        assert (outbox.messages, [m.handler for m in transport.sent]) == ([], [f"{__name__}:on_named", "sent"])
        outbox.default = True
        dispatcher.Dispatch("core_outbox::named", 2)
        dispatcher.ClearQueue()
    assert [message.handler for message in outbox.messages] == [f"{__name__}:on_named"]
    assert [message.handler for message in transport.sent] == [f"{__name__}:on_named", "sent", "sent"]


def test_a_payload_that_cannot_travel_is_refused_at_dispatch(dispatcher: EventDispatcher, outbox: ListOutbox) -> None:
    """The message is encoded in Dispatch, so SerializationError reaches the caller and nothing is written."""
    dispatcher.RegisterHandler("core_outbox::named", on_named, queued=Queued(outbox=True))
    with pytest.raises(SerializationError):
        dispatcher.Dispatch("core_outbox::named", object())
    assert outbox.messages == []


def test_an_outbox_handler_without_an_outbox_fails_loudly(dispatcher: EventDispatcher) -> None:
    """With no outbox installed, an outbox handler's message is an enqueue error, never dropped silently."""
    dispatcher.RegisterHandler("core_outbox::named", on_named, queued=Queued(outbox=True))
    dispatcher.error_policy = "raise"
    transport = InMemoryTransport()
    with installed(set_outbox, None), using_transport(transport):
        dispatcher.Dispatch("core_outbox::named", 3)
        with pytest.raises(HandlerErrors) as raised:
            dispatcher.ClearQueue()
    assert transport.sent == []
    [error] = raised.value.exceptions
    assert isinstance(error, EnqueueError)
    assert "uses the outbox, but no outbox is installed" in str(error)


def test_the_worker_runs_an_outbox_message_once(
    dispatcher: EventDispatcher, outbox: ListOutbox, guard: SetGuard, caplog: pytest.LogCaptureFixture
) -> None:
    """The guard sees outbox messages: a second delivery is DUPLICATE, logged at INFO, and runs nothing."""
    dispatcher.listen(Packed, queued=Queued(outbox=True))(on_packed)
    dispatcher.Dispatch(Packed("p-2"))
    [message] = outbox.messages
    assert process_message(message.body).outcome is Outcome.DONE
    with caplog.at_level(logging.INFO, logger="django_event_system.queued"):
        result = process_message(message.body)
    assert (result.outcome, result.event_id) == (Outcome.DUPLICATE, message.event_id)
    assert handled == ["p-2"]
    assert [delivery.outbox for delivery in guard.asked] == [True, True]
    assert "skipped a duplicate of event 'core_outbox::packed'" in caplog.text


def test_messages_that_are_not_from_the_outbox_never_meet_the_guard(
    dispatcher: EventDispatcher, guard: SetGuard
) -> None:
    """A plain queued message runs every time it comes, as before."""
    dispatcher.listen(Packed, queued=Queued(outbox=False))(on_packed)
    with using_transport(InMemoryTransport()) as transport:
        dispatcher.Dispatch(Packed("p-3"))
        dispatcher.ClearQueue()
    assert isinstance(transport, InMemoryTransport)
    [message] = transport.sent
    assert [process_message(message.body).outcome for _ in range(2)] == [Outcome.DONE, Outcome.DONE]
    assert guard.asked == []
    assert handled == ["p-3", "p-3"]


def test_without_a_guard_an_outbox_message_runs_with_a_warning(
    dispatcher: EventDispatcher, outbox: ListOutbox, caplog: pytest.LogCaptureFixture
) -> None:
    """No delivery guard installed: the handler runs (at least once beats never), and a warning says so."""
    dispatcher.listen(Packed, queued=Queued(outbox=True))(on_packed)
    dispatcher.Dispatch(Packed("p-4"))
    with installed(set_delivery_guard, None):
        assert process_message(outbox.messages[0].body).outcome is Outcome.DONE
    assert handled == ["p-4"]
    assert "is handled without a check for duplicates" in caplog.text


@pytest.mark.parametrize("mark", [False, 1, "yes", None])
def test_an_outbox_mark_other_than_true_is_refused(
    dispatcher: EventDispatcher, outbox: ListOutbox, mark: object, caplog: pytest.LogCaptureFixture
) -> None:
    """Only "outbox": true marks an outbox message; anything else is a forged message."""
    dispatcher.listen(Packed, queued=Queued(outbox=True))(on_packed)
    dispatcher.Dispatch(Packed("p-5"))
    envelope = json.loads(outbox.messages[0].body)
    envelope["outbox"] = mark
    assert process_message(json.dumps(envelope)).outcome is Outcome.REJECTED
    assert handled == []
