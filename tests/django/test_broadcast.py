"""Broadcasting to channel-layer groups: what goes out, when (after the commit only), and what is refused."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

import pytest
from channels.layers import channel_layers
from channels.testing.websocket import WebsocketCommunicator
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.test import override_settings

from django_event_system import Dispatcher, Event, EventDispatcher, HandlerErrors, Observer
from django_event_system.channels import EventConsumer
from django_event_system.core import SerializationError
from django_event_system.testing import BroadcastRecorder, assert_broadcast, record_broadcasts

from .testapp.models import Example


class RollBackError(Exception):
    """Raised in atomic() to roll it back."""


IN_PROCESS = {"default": {"BACKEND": "django_event_system.channels.InProcessChannelLayer"}}


# Its own dispatcher: a broadcasting class gives its dispatcher a commit gate for as long as it lives, and
# this module's classes live as long as the test run; the global Dispatcher must stay without one.
BROADCASTING = EventDispatcher()


class OrderShipped(Event):
    Name = "tests::broadcast::order_shipped"
    dispatcher = BROADCASTING

    order_id: int
    total: Decimal

    def broadcast_on(self) -> list[str]:
        return [f"orders.{self.order_id}", "orders"]


@pytest.fixture
def recorder() -> Iterator[BroadcastRecorder]:
    with record_broadcasts() as broadcasts:
        yield broadcasts


def failures(dispatcher: EventDispatcher) -> list[BaseException]:
    """The errors of the handlers run by draining ``dispatcher`` (whose error policy raises)."""
    try:
        dispatcher.ClearQueue(timeout=10)
    except HandlerErrors as errors:
        return list(errors.exceptions)
    return []


def test_an_event_is_broadcast_to_its_groups_with_its_fields(recorder: BroadcastRecorder) -> None:
    """Outside a transaction it goes at once, to each group, with the fields through the JSON codec."""
    OrderShipped.Dispatch(order_id=7, total=Decimal("9.90"))
    [first, second] = recorder.assert_broadcast("orders.7", OrderShipped) + recorder.to("orders")
    assert first.payload == {"order_id": 7, "total": {"$decimal": "9.90"}}
    assert first.message() == {
        "type": "event.message",
        "event": "tests::broadcast::order_shipped",
        "group": "orders.7",
        "payload": {"order_id": 7, "total": {"$decimal": "9.90"}},
    }
    assert second.group == "orders"
    assert_broadcast("orders", "tests::broadcast::order_shipped", payload=first.payload, times=1)


def test_an_event_without_broadcast_on_is_not_broadcast(recorder: BroadcastRecorder) -> None:
    """The base class's broadcast_on() is empty: nothing is registered, nothing goes out."""

    class Quiet(Event):
        order_id: int

    assert not Dispatcher.registry.has_handlers(str(Quiet))
    Quiet.Dispatch(order_id=1)
    recorder.assert_nothing_broadcast()


@pytest.mark.django_db(transaction=True)
def test_a_broadcast_waits_for_the_commit(recorder: BroadcastRecorder) -> None:
    """Dispatched in atomic(), it goes out when the transaction commits; never when it rolls back."""
    with transaction.atomic():
        OrderShipped.Dispatch(order_id=1, total=Decimal(1))
        recorder.assert_nothing_broadcast()
    recorder.assert_broadcast("orders.1", OrderShipped)

    with contextlib.suppress(RollBackError), transaction.atomic():
        OrderShipped.Dispatch(order_id=2, total=Decimal(2))
        raise RollBackError
    recorder.assert_not_broadcast("orders.2")

    with transaction.atomic():
        OrderShipped.Dispatch(order_id=3, total=Decimal(3))
        with contextlib.suppress(RollBackError), transaction.atomic():
            OrderShipped.Dispatch(order_id=4, total=Decimal(4))
            raise RollBackError
    recorder.assert_broadcast("orders.3", OrderShipped)
    recorder.assert_not_broadcast("orders.4")


def test_broadcast_payload_chooses_what_is_sent(recorder: BroadcastRecorder) -> None:
    class Priced(Event):
        order_id: int
        total: Decimal

        def broadcast_on(self) -> list[str]:
            return [f"orders.{self.order_id}"]

        def broadcast_payload(self) -> Mapping[str, object]:
            return {"order": self.order_id, "total": str(self.total), "lines": [{"sku": "a"}]}

    Priced.Dispatch(order_id=5, total=Decimal("1.50"))
    recorder.assert_broadcast("orders.5", Priced, payload={"order": 5, "total": "1.50", "lines": [{"sku": "a"}]})


def test_an_event_class_moved_to_another_dispatcher_broadcasts_there(recorder: BroadcastRecorder) -> None:
    """The registration follows the class's dispatcher."""
    other = EventDispatcher()

    class Moved(Event):
        def broadcast_on(self) -> list[str]:
            return ["moved"]

    Moved.dispatcher = other
    assert not Dispatcher.registry.has_handlers(str(Moved))
    assert other.registry.has_handlers(str(Moved))
    Moved.Dispatch()
    recorder.assert_broadcast("moved", Moved)


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        (
            "orders.7",
            ".Bad.broadcast_on() returned 'orders.7': return a list of group names, such as ['orders.7']",
        ),
        (
            ["orders 7"],
            ".Bad.broadcast_on() returned the group name 'orders 7', which Channels refuses: a group name is a str "
            "of fewer than 100 ASCII letters, digits, hyphens, underscores or periods ('orders.7')",
        ),
        (
            [7],
            ".Bad.broadcast_on() returned the group name 7, which Channels refuses",
        ),
        (["x" * 100], "which Channels refuses"),
    ],
)
def test_bad_group_names_are_refused(groups: object, message: str, recorder: BroadcastRecorder) -> None:
    """What broadcast_on() returns is checked in the delivery greenlet; the error meets the error policy."""
    dispatcher = EventDispatcher(error_policy="raise")

    class Bad(Event):
        def broadcast_on(self) -> Iterable[str]:
            return groups  # type: ignore[return-value]

    Bad.dispatcher = dispatcher
    Bad.Dispatch()
    [error] = failures(dispatcher)
    assert isinstance(error, (TypeError, ValueError))
    assert message in str(error)
    recorder.assert_nothing_broadcast()


def test_a_payload_that_is_not_json_is_refused(recorder: BroadcastRecorder) -> None:
    dispatcher = EventDispatcher(error_policy="raise")

    class Bad(Event):
        def broadcast_on(self) -> list[str]:
            return ["g"]

        def broadcast_payload(self) -> Mapping[str, object]:
            return {"total": Decimal("1.00")}

    Bad.dispatcher = dispatcher
    Bad.Dispatch()
    [error] = failures(dispatcher)
    assert str(error).endswith(  # after the class's qualified name, test_...<locals>.
        ".Bad.broadcast_payload() returned the payload['total'] = Decimal('1.00'), which a broadcast cannot carry: "
        "return JSON values (dicts with str keys, lists, str, int, finite floats, bool, None); encode the others "
        "yourself (str(), or django_event_system.core.integration.encode_value)"
    )


def test_a_field_the_codec_cannot_encode_names_the_way_out(recorder: BroadcastRecorder) -> None:
    dispatcher = EventDispatcher(error_policy="raise")

    class Bad(Event):
        blob: object

        def broadcast_on(self) -> list[str]:
            return ["g"]

    Bad.dispatcher = dispatcher
    Bad.Dispatch(blob=object())
    [error] = failures(dispatcher)
    assert isinstance(error, SerializationError)
    where = "test_a_field_the_codec_cannot_encode_names_the_way_out.<locals>.Bad"
    assert str(error).startswith(f"{where}.blob is a builtins.object, which queued handlers cannot receive")
    assert str(error).endswith(f"; or define {where}.broadcast_payload() to choose what is sent")


@override_settings(CHANNEL_LAYERS={})
def test_without_a_channel_layer_the_error_says_what_to_set() -> None:
    dispatcher = EventDispatcher(error_policy="raise")

    class Lonely(Event):
        def broadcast_on(self) -> list[str]:
            return ["g"]

    Lonely.dispatcher = dispatcher
    Lonely.Dispatch()
    [error] = failures(dispatcher)
    assert isinstance(error, ImproperlyConfigured)
    assert str(error).endswith(
        ".Lonely.broadcast_on() declares groups to broadcast to, but Django has no channel layer: set "
        'CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", ...}}'
    )


# -- Observers ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_observer_broadcasts_created_updated_and_deleted_after_the_commit(recorder: BroadcastRecorder) -> None:
    seen: list[tuple[str, int | None]] = []

    class LiveExamples(Observer[Example]):
        observes = Example

        def broadcast_on(self, action: str, instance: Example, /) -> list[str]:
            seen.append((action, instance.pk))
            return ["examples"] if action != "deleted" else ["examples", "deletions"]

    with transaction.atomic():
        example = Example.objects.create(name="first")
        pk = example.pk
        recorder.assert_nothing_broadcast()
    [created] = recorder.assert_broadcast("examples", re.compile(r"events::db::.*::Example::created"))
    assert created.payload == {
        "id": pk,
        "name": "first",
        "status": "draft",
        "data": {"$dict": {}},
        "notes": "",
        "place_id": None,
    }

    with contextlib.suppress(RollBackError), transaction.atomic():
        example.status = "rolled back"
        example.save()
        raise RollBackError
    recorder.assert_not_broadcast("examples", re.compile(r".*::updated"))

    example.status = "shipped"
    example.save()
    [updated] = recorder.assert_broadcast("examples", re.compile(r".*::Example::updated"))
    assert updated.payload["status"] == "shipped"

    example.delete()
    recorder.assert_broadcast("deletions", re.compile(r".*::Example::deleted"))
    assert [action for action, _ in seen] == ["created", "updated", "deleted"]


@pytest.mark.django_db
def test_an_observer_payload_and_no_groups(
    recorder: BroadcastRecorder, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    """In a test's transaction, the broadcasts go out when the on-commit callbacks are run."""

    class Picky(Observer[Example]):
        observes = Example

        def broadcast_on(self, action: str, instance: Example, /) -> list[str]:
            return [f"examples.{instance.name}"] if action == "created" else []

        def broadcast_payload(self, action: str, instance: Example, /) -> Mapping[str, object]:
            return {"name": instance.name, "action": action}

    with django_capture_on_commit_callbacks(execute=True):
        example = Example.objects.create(name="a")
        example.save()
        recorder.assert_nothing_broadcast()
    [only] = recorder.broadcasts
    assert (only.group, dict(only.payload)) == ("examples.a", {"name": "a", "action": "created"})


def test_an_observer_without_broadcast_on_registers_no_broadcast() -> None:
    class Plain(Observer[Example]):
        observes = Example

        def created(self, event_name: str, instance: Example, /) -> None: ...

    assert [r.pattern.rsplit("::", 1)[-1] for r in Plain.registrations] == ["created"]


# -- the testing helpers' messages --------------------------------------------------------------


def test_assert_broadcast_lists_what_was_broadcast(recorder: BroadcastRecorder) -> None:
    OrderShipped.Dispatch(order_id=7, total=Decimal("9.90"))
    with pytest.raises(AssertionError) as failed:
        recorder.assert_broadcast("orders.8", OrderShipped)
    assert str(failed.value) == (
        "expected 'tests::broadcast::order_shipped' broadcast to 'orders.8'; 2 broadcasts:\n"
        "  'tests::broadcast::order_shipped' to 'orders.7': {'order_id': 7, 'total': {'$decimal': '9.90'}}\n"
        "  'tests::broadcast::order_shipped' to 'orders': {'order_id': 7, 'total': {'$decimal': '9.90'}}"
    )
    with pytest.raises(AssertionError, match=r"^expected 'tests::broadcast::order_shipped' broadcast to 'orders' "):
        recorder.assert_broadcast("orders", OrderShipped, payload={"order_id": 8})
    with pytest.raises(AssertionError, match=r" 2 times, not 1; 2 broadcasts:"):
        recorder.assert_broadcast("orders", OrderShipped, times=2)
    with pytest.raises(AssertionError, match=r"^expected nothing broadcast to 'orders'; 1 broadcast:\n"):
        recorder.assert_not_broadcast("orders")


def test_assert_broadcast_with_nothing_broadcast(recorder: BroadcastRecorder) -> None:
    with pytest.raises(AssertionError) as failed:
        assert_broadcast("orders.1", re.compile("shop::.*"))
    assert str(failed.value) == "expected an event matching 'shop::.*' broadcast to 'orders.1'; nothing was broadcast"


def test_assert_broadcast_without_a_recorder() -> None:
    with pytest.raises(AssertionError) as failed:
        assert_broadcast("orders.1", OrderShipped)
    assert str(failed.value) == (
        "assert_broadcast() found no recorder: record the broadcasts first, with "
        "`with record_broadcasts():` or the `broadcasts` pytest fixture"
    )


def test_the_fixture_records(broadcasts: BroadcastRecorder) -> None:
    OrderShipped.Dispatch(order_id=9, total=Decimal(0))
    broadcasts.assert_broadcast("orders.9", OrderShipped)


# -- through the in-process channel layer to a websocket client --------------------------------


class OpenConsumer(EventConsumer):
    async def can_subscribe(self, group: str) -> bool:
        return group.startswith("orders")


@override_settings(CHANNEL_LAYERS=IN_PROCESS)
def test_a_subscribed_client_receives_the_broadcast() -> None:
    """Dispatched in the client's loop, the event is broadcast from the library's loop, another
    thread: the in-process layer hands it to the loop that receives."""

    async def scenario() -> object:
        client = WebsocketCommunicator(OpenConsumer.as_asgi(), "/ws/events/")
        connected, _ = await client.connect(timeout=5)
        assert connected
        await client.send_json_to({"subscribe": "orders.7"})
        assert await client.receive_json_from(timeout=5) == {"subscribed": "orders.7"}
        OrderShipped.Dispatch(order_id=7, total=Decimal("2.50"))
        OrderShipped.Dispatch(order_id=8, total=Decimal("2.50"))  # another group: not received
        frame = await client.receive_json_from(timeout=10)
        assert await client.receive_nothing(timeout=0.2)
        await client.disconnect()
        return frame

    try:
        frame = asyncio.run(scenario())
    finally:
        channel_layers.backends.clear()
    assert frame == {
        "event": "tests::broadcast::order_shipped",
        "group": "orders.7",
        "payload": {"order_id": 7, "total": {"$decimal": "2.50"}},
    }


@override_settings(CHANNEL_LAYERS=IN_PROCESS)
def test_record_broadcasts_can_send_too() -> None:
    async def scenario(recorder: BroadcastRecorder) -> object:
        client = WebsocketCommunicator(OpenConsumer.as_asgi(), "/ws/events/")
        await client.connect(timeout=5)
        await client.send_json_to({"subscribe": "orders"})
        await client.receive_json_from(timeout=5)
        OrderShipped.Dispatch(order_id=1, total=Decimal(1))
        frame = await client.receive_json_from(timeout=10)
        await client.disconnect()
        return frame

    try:
        with record_broadcasts(send=True) as recorder:
            frame = asyncio.run(scenario(recorder))
            recorder.assert_broadcast("orders", OrderShipped, times=1)
    finally:
        channel_layers.backends.clear()
    assert isinstance(frame, dict)
    assert frame["group"] == "orders"
