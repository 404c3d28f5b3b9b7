"""Tests for ``fake_transport()``, ``FakeTransport`` and the ``queued_messages`` fixture."""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from typing import Any

import pytest

from django_event_system.core import (
    Event,
    EventDispatcher,
    HandlerErrors,
    HeldMessages,
    Message,
    Outcome,
    Queued,
    Transport,
    current_delivery,
    current_transport,
    set_hold_provider,
    using_transport,
)
from django_event_system.testing import FakeTransport, QueuedMessage, fake_transport
from tests.helpers import installed

pytest_plugins = ["pytester"]

calls: list[tuple[Any, ...]] = []
RECEIPT = "tests.testing.test_transport:send_receipt"


class OrderPlaced(Event):
    Name = "fake_transport::order_placed"
    order_id: int
    total: decimal.Decimal


def send_receipt(event: OrderPlaced) -> None:
    calls.append(("receipt", event.order_id, event.event_id))


def audit(name: str, *args: Any, **kwargs: Any) -> None:
    delivery = current_delivery()
    calls.append(("audit", name, args, kwargs, delivery.attempt if delivery else None))


def always_fails(event: OrderPlaced) -> None:
    calls.append(("fails", event.order_id))
    raise ConnectionError("the mail server is down")


def gave_up(event: Any, exc: Exception) -> None:
    calls.append(("gave up", event.order_id, str(exc)))


def places_follow_up(event: OrderPlaced) -> None:
    calls.append(("follow up", event.order_id))
    event.dispatcher.Dispatch("fake_transport::follow_up", event.order_id)


class Broker(Transport):
    """Stands for a real broker: records what reaches it."""

    name = "broker"

    def __init__(self) -> None:
        self.received: list[Message] = []

    def enqueue(self, message: Message, *, delay: float = 0.0, attempt: int = 0) -> None:
        self.received.append(message)


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    calls.clear()
    yield
    calls.clear()


@pytest.fixture
def broker() -> Iterator[Broker]:
    """The transport configured outside the fake: nothing may reach it."""
    real = Broker()
    with using_transport(real):
        yield real


@pytest.fixture
def shop(dispatcher: EventDispatcher, monkeypatch: pytest.MonkeyPatch) -> EventDispatcher:
    """The test's dispatcher, with a queued receipt handler and a queued pattern handler."""
    monkeypatch.setattr(OrderPlaced, "dispatcher", dispatcher)
    dispatcher.listen(OrderPlaced, queued=True)(send_receipt)
    dispatcher.RegisterHandler("fake_transport::paid::.*", audit, queued=True)
    return dispatcher


def test_messages_are_captured_with_their_handler_name_and_decoded_event(shop: EventDispatcher, broker: Broker) -> None:
    """Each message names its handler and event, and decodes to a revived copy of the Event; none reaches the broker."""
    with fake_transport() as queued:
        event = OrderPlaced.Dispatch(order_id=7, total=decimal.Decimal("9.90"))
        [message] = queued.messages
    assert (message.handler, message.event_name, message.event_id) == (RECEIPT, str(OrderPlaced), event.event_id)
    revived = message.event
    assert isinstance(revived, OrderPlaced)
    assert revived is not event
    assert (revived.order_id, revived.total, revived.event_id) == (7, decimal.Decimal("9.90"), event.event_id)
    assert (message.args, message.kwargs) == ((), {})
    assert repr(message) == f"<QueuedMessage 'fake_transport::order_placed' for {RECEIPT} (id {event.event_id})>"
    assert broker.received == []
    assert current_transport() is broker, "the transport configured before comes back"


def test_a_string_event_decodes_to_its_arguments(shop: EventDispatcher, broker: Broker) -> None:
    """A string event's message has no Event, and the arguments a worker would pass."""
    with fake_transport() as queued:
        shop.Dispatch("fake_transport::paid::card", 7, amount=decimal.Decimal("1.5"))
    [message] = queued.messages
    assert (message.event, message.args, message.kwargs) == (None, (7,), {"amount": decimal.Decimal("1.5")})
    assert broker.received == []


def test_run_handles_each_message_once_through_the_worker_path(shop: EventDispatcher) -> None:
    """``run()`` calls the handlers through process_message and returns the results; a second run has nothing left."""
    with fake_transport() as queued:
        event = OrderPlaced.Dispatch(order_id=7, total=decimal.Decimal(1))
        shop.Dispatch("fake_transport::paid::card", 7)
        results = queued.run()
        assert queued.run() == []
    assert [result.outcome for result in results] == [Outcome.DONE, Outcome.DONE]
    assert [result.event_id for result in results] == [event.event_id, queued.messages[1].event_id]
    assert calls == [("receipt", 7, event.event_id), ("audit", "fake_transport::paid::card", (7,), {}, 0)]
    assert len(queued.messages) == 2, "messages that ran are still listed"


def test_run_retries_and_calls_failed_as_a_worker_does(
    dispatcher: EventDispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing handler is retried at once, up to its limit, then its failed hook runs; the message is listed once."""
    monkeypatch.setattr(OrderPlaced, "dispatcher", dispatcher)
    dispatcher.listen(OrderPlaced, queued=Queued(max_retries=1, retry_backoff=30, failed=gave_up))(always_fails)
    with fake_transport() as queued:
        OrderPlaced.Dispatch(order_id=3, total=decimal.Decimal(1))
        results = queued.run()
    assert [result.outcome for result in results] == [Outcome.RETRY, Outcome.FAILED]
    assert queued.delays == [30]
    assert calls == [("fails", 3), ("fails", 3), ("gave up", 3, "the mail server is down")]
    assert len(queued.messages) == 1


def test_messages_that_handlers_send_while_running_run_too(
    dispatcher: EventDispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A queued handler that dispatches an event with a queued handler: ``run()`` handles both."""
    monkeypatch.setattr(OrderPlaced, "dispatcher", dispatcher)
    dispatcher.listen(OrderPlaced, queued=True)(places_follow_up)
    dispatcher.RegisterHandler("fake_transport::follow_up", audit, queued=True)
    with fake_transport() as queued:
        OrderPlaced.Dispatch(order_id=5, total=decimal.Decimal(1))
        results = queued.run()
    assert [result.outcome for result in results] == [Outcome.DONE, Outcome.DONE]
    assert calls == [("follow up", 5), ("audit", "fake_transport::follow_up", (5,), {}, 0)]
    assert [message.event_name for message in queued.messages] == [str(OrderPlaced), "fake_transport::follow_up"]


def test_clear_forgets_every_message_and_none_of_them_runs(shop: EventDispatcher) -> None:
    """After ``clear()``, no message is listed or run, including one dispatched just before."""
    with fake_transport() as queued:
        shop.Dispatch("fake_transport::paid::card", 1)
        queued.clear()
        assert queued.messages == []
        assert queued.run() == []
        shop.Dispatch("fake_transport::paid::cash", 2)
        assert [message.args for message in queued.messages] == [(2,)]
    assert calls == []


def test_leaving_the_block_sends_what_it_dispatched_to_the_fake(shop: EventDispatcher, broker: Broker) -> None:
    """Events of the block not yet handled when it ends still send to the fake, never to the broker."""
    with fake_transport() as queued:
        shop.Dispatch("fake_transport::paid::card", 1)
    assert broker.received == []
    assert len(queued.sent) == 1
    shop.Dispatch("fake_transport::paid::card", 2)
    shop.ClearQueue()
    assert len(broker.received) == 1, "after the block, the configured transport is used again"


def test_an_error_in_the_block_is_not_hidden_by_its_leftover_events(shop: EventDispatcher, broker: Broker) -> None:
    """When the block raises, failing handlers of its leftover events do not replace its error."""
    shop.error_policy = "raise"

    def broken(name: str) -> None:
        raise RuntimeError("leftover")

    def failing_block() -> None:
        with fake_transport():
            shop.Dispatch("fake_transport::leftover")
            raise ValueError("the test's own error")

    shop.RegisterHandler("fake_transport::leftover", broken)
    with pytest.raises(ValueError, match="the test's own error"):
        failing_block()
    assert current_transport() is broker


def test_leftover_handler_errors_are_raised_when_the_block_ends(shop: EventDispatcher) -> None:
    """Without an error of its own, the block's end raises what its leftover events' handlers raised."""
    shop.error_policy = "raise"

    def broken(name: str) -> None:
        raise RuntimeError("leftover")

    shop.RegisterHandler("fake_transport::leftover", broken)
    with pytest.raises(HandlerErrors) as caught, fake_transport():
        shop.Dispatch("fake_transport::leftover")
    assert caught.group_contains(RuntimeError, match="leftover")


def test_held_messages_reach_the_fake_when_released(shop: EventDispatcher, broker: Broker) -> None:
    """Messages held for a transaction are listed only once it releases them."""
    held = HeldMessages()
    with installed(set_hold_provider, lambda name: held), fake_transport() as queued:
        OrderPlaced.Dispatch(order_id=9, total=decimal.Decimal(1))
        assert queued.messages == []
        held.release()
        assert [message.handler for message in queued.messages] == [RECEIPT]
    assert broker.received == []


def test_the_fake_transport_is_a_transport_that_settings_can_name() -> None:
    """Built with no argument, as a ``TRANSPORT`` setting builds it, it is a Transport named "fake"."""
    transport = FakeTransport()
    assert isinstance(transport, Transport)
    assert repr(transport) == "<FakeTransport 'fake'>"
    assert transport.messages == []


def test_a_queued_message_is_a_value() -> None:
    """Two records of the same message are equal, so lists of them compare as expected."""
    message = Message("{}", "id-1", "fake_transport::x", RECEIPT)
    assert QueuedMessage(message) == QueuedMessage(message)


INNER_TEST = """
from django_event_system.core import EventDispatcher
from django_event_system.testing import FakeTransport

bus = EventDispatcher()
seen = []


@bus.listen("orders::.*", queued=True)
def audit(name, *args):
    seen.append(args)


def test_captured(queued_messages: FakeTransport) -> None:
    bus.Dispatch("orders::paid", 7)
    assert [message.args for message in queued_messages.messages] == [(7,)]
    queued_messages.run()
    assert seen == [(7,)]


def test_each_test_starts_empty(queued_messages: FakeTransport) -> None:
    assert queued_messages.messages == []
"""


def test_the_fixture_gives_each_test_a_fresh_fake(pytester: pytest.Pytester) -> None:
    """``queued_messages`` comes from the plugin, captures the test's messages and starts empty in each test."""
    pytester.makepyfile(test_inner=INNER_TEST)
    result = pytester.runpytest("-p", "no:randomly", "-p", "no:django", "-W", "error")
    result.assert_outcomes(passed=2)


DJANGO_SETTINGS = """
SECRET_KEY = "inner-tests-only"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django_event_system"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
"""

DJANGO_TESTS = """
import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import TestCase

from django_event_system import Dispatcher, Event
from django_event_system.core import Outcome
from django_event_system.testing import FakeTransport, fake_transport

seen = []


class GroupNamed(Event):
    group: Group


@Dispatcher.listen(GroupNamed, queued=True)
def on_named(event: GroupNamed) -> None:
    seen.append(event.group.name)


@pytest.mark.django_db
def test_held_until_the_captured_commit(queued_messages: FakeTransport, django_capture_on_commit_callbacks) -> None:
    group = Group.objects.create(name="staff")
    with django_capture_on_commit_callbacks(execute=True):
        GroupNamed.Dispatch(group=group)
        assert queued_messages.messages == []
    [message] = queued_messages.messages
    assert message.event.group == group
    assert [result.outcome for result in queued_messages.run()] == [Outcome.DONE]
    assert seen[-1] == "staff"


@pytest.mark.django_db(transaction=True)
def test_sent_on_the_real_commit(queued_messages: FakeTransport) -> None:
    with transaction.atomic():
        GroupNamed.Dispatch(group=Group.objects.create(name="ops"))
        assert queued_messages.messages == []
    assert len(queued_messages.messages) == 1


@pytest.mark.django_db
def test_never_sent_when_the_commit_callbacks_do_not_run(queued_messages: FakeTransport) -> None:
    GroupNamed.Dispatch(group=Group.objects.create(name="rolled back"))
    assert queued_messages.messages == []


class GroupTests(TestCase):
    def test_in_a_test_case(self) -> None:
        group = Group.objects.create(name="admins")
        with fake_transport() as queued:
            with self.captureOnCommitCallbacks(execute=True):
                GroupNamed.Dispatch(group=group)
            [message] = queued.messages
            assert message.event.group.name == "admins"
"""


def test_the_fixture_and_the_helper_follow_django_commits(pytester: pytest.Pytester) -> None:
    """Under pytest-django, messages held for the test's transaction are listed once the commit callbacks run."""
    pytester.makepyfile(inner_settings=DJANGO_SETTINGS)
    pytester.makepyfile(test_inner=DJANGO_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "--ds=inner_settings", "-W", "error", timeout=120)
    result.assert_outcomes(passed=4)
