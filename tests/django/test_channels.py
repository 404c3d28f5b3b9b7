"""EventConsumer: subscriptions, the authorization hook, its error frames; broadcasts over channels-redis on the
real Redis; and the package without Channels installed."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from channels.layers import channel_layers, get_channel_layer
from channels.testing.websocket import WebsocketCommunicator
from django.test import override_settings

from django_event_system import Event, EventDispatcher
from django_event_system.channels import ERROR_CODES, EventConsumer
from tests.scripts import run_script

IN_PROCESS = {"default": {"BACKEND": "django_event_system.channels.InProcessChannelLayer"}}


class CustomerConsumer(EventConsumer):
    """Lets a connection follow its own customer's group only."""

    max_subscriptions = 2

    async def can_subscribe(self, group: str) -> bool:
        user = self.user
        return user is not None and group.startswith(f"customers.{user}")


BROADCASTING = EventDispatcher()  # not the global Dispatcher, which must stay without a commit gate


class InvoicePaid(Event):
    Name = "tests::channels::invoice_paid"
    dispatcher = BROADCASTING

    customer: str
    amount: Decimal

    def broadcast_on(self) -> list[str]:
        return [f"customers.{self.customer}"]


@pytest.fixture
def fresh_layers() -> Iterator[None]:
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def as_user(user: object) -> Any:
    """A CustomerConsumer application whose scope's user is ``user`` (as AuthMiddlewareStack would set it)."""
    application: Any = CustomerConsumer.as_asgi()

    async def with_user(scope: Any, receive: Any, send: Any) -> None:
        await application({**scope, "user": user}, receive, send)

    return with_user


def talk(scenario: Callable[[WebsocketCommunicator], Awaitable[Any]], user: object = "alice") -> Any:
    """Run ``scenario`` with a client connected to a CustomerConsumer whose scope's user is ``user``."""

    async def main() -> Any:
        client = WebsocketCommunicator(as_user(user), "/ws/events/")
        connected, _ = await client.connect(timeout=5)
        assert connected
        try:
            return await scenario(client)
        finally:
            await client.disconnect()

    return asyncio.run(main())


async def exchange(client: WebsocketCommunicator, frame: object) -> Any:
    await client.send_json_to(frame)
    return await client.receive_json_from(timeout=5)


@override_settings(CHANNEL_LAYERS=IN_PROCESS)
def test_subscribe_and_unsubscribe(fresh_layers: None) -> None:
    async def scenario(client: WebsocketCommunicator) -> list[Any]:
        answers = [
            await exchange(client, {"subscribe": "customers.alice"}),
            await exchange(client, {"subscribe": "customers.alice"}),  # again: still subscribed once
        ]
        layer = get_channel_layer()
        assert layer is not None
        await layer.group_send(
            "customers.alice", {"type": "event.message", "event": "e", "group": "customers.alice", "payload": {"n": 1}}
        )
        answers.append(await client.receive_json_from(timeout=5))
        answers.append(await exchange(client, {"unsubscribe": "customers.alice"}))
        await layer.group_send(
            "customers.alice", {"type": "event.message", "event": "e", "group": "customers.alice", "payload": {}}
        )
        assert await client.receive_nothing(timeout=0.2)
        return answers

    assert talk(scenario) == [
        {"subscribed": "customers.alice"},
        {"subscribed": "customers.alice"},
        {"event": "e", "group": "customers.alice", "payload": {"n": 1}},
        {"unsubscribed": "customers.alice"},
    ]


GROUP_NAME_RULE = (
    "Group name must be a valid unicode string with length < 100 containing only ASCII alphanumerics, "
    "hyphens, underscores, or periods."
)
ONE_KEY = 'a frame is a JSON object with one key, such as {"subscribe": "orders.7"}; got '


@pytest.mark.parametrize(
    ("frame", "error", "message"),
    [
        (
            {"publish": "customers.alice"},
            "unknown-command",
            'unknown command \'publish\': send {"subscribe": GROUP} or {"unsubscribe": GROUP}',
        ),
        (["subscribe", "customers.alice"], "bad-frame", ONE_KEY + "['subscribe', 'customers.alice']"),
        ({"subscribe": "a", "unsubscribe": "b"}, "bad-frame", ONE_KEY + "{'subscribe': 'a', 'unsubscribe': 'b'}"),
        (
            {"subscribe": "customers alice"},
            "invalid-group",
            "'customers alice' is not a group name Channels accepts: " + GROUP_NAME_RULE,
        ),
        ({"subscribe": 7}, "invalid-group", "7 is not a group name Channels accepts: " + GROUP_NAME_RULE),
        ({"subscribe": "customers.bob"}, "denied", "not allowed to subscribe to 'customers.bob'"),
        (
            {"unsubscribe": "customers.alice"},
            "not-subscribed",
            "cannot unsubscribe from 'customers.alice': not subscribed to it",
        ),
    ],
)
@override_settings(CHANNEL_LAYERS=IN_PROCESS)
def test_bad_frames_get_error_frames(frame: object, error: str, message: str, fresh_layers: None) -> None:
    """Each bad frame gets an error frame saying what was wrong; the connection stays open and usable."""

    async def scenario(client: WebsocketCommunicator) -> list[Any]:
        return [await exchange(client, frame), await exchange(client, {"subscribe": "customers.alice"})]

    answer, after = talk(scenario)
    assert error in ERROR_CODES
    assert answer["error"] == error
    assert answer["message"] == message
    assert after == {"subscribed": "customers.alice"}


@override_settings(CHANNEL_LAYERS=IN_PROCESS)
def test_text_that_is_not_json_and_binary_frames(fresh_layers: None) -> None:
    async def scenario(client: WebsocketCommunicator) -> list[Any]:
        await client.send_to(text_data="subscribe orders")
        first = await client.receive_json_from(timeout=5)
        await client.send_to(bytes_data=b'{"subscribe": "customers.alice"}')
        return [first, await client.receive_json_from(timeout=5)]

    assert talk(scenario) == [
        {"error": "not-json", "message": 'the frame \'subscribe orders\' is not JSON: send {"subscribe": "orders.7"}'},
        {
            "error": "not-json",
            "message": 'send text frames of JSON, such as {"subscribe": "orders.7"}, not binary ones',
        },
    ]


@override_settings(CHANNEL_LAYERS=IN_PROCESS)
def test_a_connection_subscribes_to_max_subscriptions_groups_at_most(fresh_layers: None) -> None:
    async def scenario(client: WebsocketCommunicator) -> Any:
        await exchange(client, {"subscribe": "customers.alice.1"})
        await exchange(client, {"subscribe": "customers.alice.2"})
        return await exchange(client, {"subscribe": "customers.alice.3"})

    assert talk(scenario) == {
        "error": "too-many-subscriptions",
        "message": "cannot subscribe to 'customers.alice.3': this connection is subscribed to 2 groups already, "
        "the most it may (max_subscriptions); unsubscribe from one first",
    }


@override_settings(CHANNEL_LAYERS=IN_PROCESS)
def test_the_default_hook_denies_everything(fresh_layers: None) -> None:
    async def main() -> Any:
        client = WebsocketCommunicator(EventConsumer.as_asgi(), "/ws/events/")
        await client.connect(timeout=5)
        answer = await exchange(client, {"subscribe": "orders.7"})
        await client.disconnect()
        return answer

    assert asyncio.run(main()) == {"error": "denied", "message": "not allowed to subscribe to 'orders.7'"}


@override_settings(CHANNEL_LAYERS={})
def test_without_a_channel_layer_subscribing_says_so(fresh_layers: None) -> None:
    async def scenario(client: WebsocketCommunicator) -> Any:
        return await exchange(client, {"subscribe": "customers.alice"})

    assert talk(scenario) == {
        "error": "no-channel-layer",
        "message": "this server has no channel layer (CHANNEL_LAYERS): nothing is broadcast",
    }


# -- channels-redis, on the real Redis ------------------------------------------------------------


def redis_layers() -> dict[str, Any]:
    """CHANNEL_LAYERS on the Redis of 127.0.0.1:6379, under a prefix of this run's own; skip without it
    (fail under CI=true)."""
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        reason = "Redis does not answer on 127.0.0.1:6379"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}, and CI=true requires it", pytrace=False)
        pytest.skip(reason)
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:6379/14"], "prefix": f"des-test-{uuid.uuid4().hex[:12]}"},
        }
    }


def sync_view(customer: str, amount: Decimal) -> None:
    InvoicePaid.Dispatch(customer=customer, amount=amount)
    BROADCASTING.ClearQueue(timeout=10)


async def flush_redis() -> None:
    """Remove this run's keys (under its prefix), and close the layer's connections, each on its own loop:
    this one's, and the library's, where the broadcasts were sent from."""
    layer: Any = get_channel_layer()
    for index in range(layer.ring_size):
        await layer.connection(index).eval(
            "for _, key in ipairs(redis.call('keys', ARGV[1])) do redis.call('del', key) end", 0, layer.prefix + "*"
        )
    here = asyncio.get_running_loop()
    for loop, loop_layer in list(layer._layers.items()):  # channels-redis keeps one pool a loop
        if loop is here:
            await loop_layer.flush()
        else:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(loop_layer.flush(), loop))
    layer._layers.clear()


def test_broadcasts_reach_clients_through_redis(fresh_layers: None) -> None:
    """Two clients of two customers: each receives its own customer's events, from sync code and from the loop."""
    with override_settings(CHANNEL_LAYERS=redis_layers()):

        async def main() -> list[Any]:
            alice = WebsocketCommunicator(as_user("alice"), "/ws/events/")
            bob = WebsocketCommunicator(as_user("bob"), "/ws/events/")
            try:
                for client, name in ((alice, "alice"), (bob, "bob")):
                    assert (await client.connect(timeout=5))[0]
                    assert await exchange(client, {"subscribe": f"customers.{name}"}) == {
                        "subscribed": f"customers.{name}"
                    }
                # From sync code in another thread (a sync view, drained when its request ends), and
                # from this loop (an async view).
                await asyncio.to_thread(sync_view, "alice", Decimal("12.50"))
                InvoicePaid.Dispatch(customer="bob", amount=Decimal("3.00"))
                frames = [await alice.receive_json_from(timeout=10), await bob.receive_json_from(timeout=10)]
                assert await alice.receive_nothing(timeout=0.2)
                return frames
            finally:
                await alice.disconnect()
                await bob.disconnect()
                await flush_redis()

        frames = asyncio.run(main())
    event = "tests::channels::invoice_paid"
    assert frames == [
        {"event": event, "group": "customers.alice", "payload": {"customer": "alice", "amount": {"$decimal": "12.50"}}},
        {"event": event, "group": "customers.bob", "payload": {"customer": "bob", "amount": {"$decimal": "3.00"}}},
    ]


# -- without Channels -----------------------------------------------------------------------------

WITHOUT_CHANNELS = """
import sys


class NoChannels:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("channels", "channels_redis", "daphne"):
            raise ImportError(f"No module named {name!r} (blocked)")
        return None


sys.meta_path.insert(0, NoChannels())

import django
from django.conf import settings

import django_event_system
from django_event_system import Event, EventDispatcher

settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django_event_system"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
)
django.setup()

from django_event_system.testing import record_broadcasts


class Ping(Event):
    def broadcast_on(self):
        return ["pings"]


with record_broadcasts() as broadcasts:
    Ping.Dispatch()
    broadcasts.assert_broadcast("pings", Ping)

try:
    import django_event_system.channels
except ImportError as exc:
    print(exc)
print(sorted(name for name in sys.modules if name.split(".")[0] in ("channels", "channels_redis")))
"""


def test_the_package_works_without_channels(tmp_path: Path) -> None:
    """The core, the Django adapter and the testing helpers import without Channels; broadcasts are still
    recorded; only django_event_system.channels needs it, and says how to get it."""
    out = run_script(WITHOUT_CHANNELS, tmp_path, timeout=60, allow_tracebacks=False)
    assert out.splitlines() == [
        'django_event_system.channels needs Django Channels: pip install "django-event-system[channels]"',
        "[]",
    ]


def test_sending_without_channels_says_how_to_get_it(tmp_path: Path) -> None:
    recorded = (
        'with record_broadcasts() as broadcasts:\n    Ping.Dispatch()\n    broadcasts.assert_broadcast("pings", Ping)\n'
    )
    assert recorded in WITHOUT_CHANNELS
    code = WITHOUT_CHANNELS.replace(
        recorded,
        "from django_event_system import Dispatcher\nDispatcher.error_policy = 'raise'\nPing.Dispatch()\n"
        "try:\n    Dispatcher.ClearQueue()\nexcept Exception as exc:\n    print(exc.exceptions[0])\n",
    )
    out = run_script(code, tmp_path, timeout=60, allow_tracebacks=False)
    assert out.splitlines()[0] == (
        "Ping.broadcast_on() declares groups to broadcast to, and broadcasting needs Django Channels: "
        'pip install "django-event-system[channels]"'
    )


def test_the_contracts_keep_channels_out_of_the_core(tmp_path: Path) -> None:
    """A core module importing Channels breaks the core's contract; the adapter importing the consumer
    breaks the layers (and closes a cycle, since the consumer imports the adapter)."""
    from tests.test_architecture import PACKAGE, ROOT, lint_imports

    copy = tmp_path / "src" / "django_event_system"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (copy / "core" / "_names.py").open("a") as names:
        names.write("\nimport channels.layers  # a core module importing Channels\n")
    with (copy / "django" / "_settings.py").open("a") as adapter:
        adapter.write("\nfrom .. import channels  # the adapter reaching up to the consumer\n")
    result = lint_imports(tmp_path, tmp_path / "src")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 kept, 3 broken" in result.stdout  # the panel's and the private modules' contracts hold
    assert re.search(r"django_event_system\.core\._names -> channels\b", result.stdout)
    assert re.search(r"django_event_system\.django\._settings -> django_event_system\.channels\b", result.stdout)
