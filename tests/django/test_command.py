"""Tests for ``manage.py events list`` and ``manage.py events match NAME``."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.dispatch import Signal

from django_event_system import (
    Dispatcher,
    EventListener,
    EventSubscriber,
    Observer,
    RegisterSignalsFor,
    SignalToEvent,
    on,
)
from django_event_system.core import InMemoryTransport, Message, Queued, Transport, using_transport
from django_event_system.core.queued import _sending
from django_event_system.django._outbox import DatabaseOutbox

from .testapp.models import Example, Place

EXAMPLE = "events::db::tests::django::testapp::models::Example"

shipped = Signal()


def run(*args: str) -> str:
    """Run the command and return what it printed."""
    out = StringIO()
    call_command("events", *args, stdout=out, no_color=True)
    return out.getvalue()


def audit(name: str, *args: object) -> None:
    """A plain function handler."""


def test_list_shows_patterns_handlers_options_models_and_signals() -> None:
    """Each pattern is listed with its handlers (module:qualname), priority and options."""

    class Committed(Observer[Example]):
        observes = Example
        after_commit = True
        priority = 5

        def created(self, event_name: str, instance: Example) -> None: ...

    class AllModels(EventListener):
        listensFor = ["events::db::(.*)::created"]

        def handle(self, event: str, instance: object) -> None: ...

    RegisterSignalsFor(Place)
    SignalToEvent(shipped, event="orders::shipped")
    Dispatcher.RegisterHandler("orders::.*", audit, once=True, priority=-1)
    try:
        output = run("list")
    finally:
        AllModels.unregister()
    local = "tests.django.test_command:test_list_shows_patterns_handlers_options_models_and_signals.<locals>"
    assert f"  {EXAMPLE}::created\n      {local}.Committed.created  priority=5  after_commit\n" in output
    assert f"  events::db::(.*)::created\n      {local}.AllModels.handle  priority=0\n" in output
    assert "  orders::.*\n      tests.django.test_command:audit  priority=-1  once\n" in output
    assert f"  testapp.Example  {EXAMPLE}::<action>  ({local}.Committed)  track_changes\n" in output
    assert (
        "  testapp.Place  events::db::tests::django::testapp::models::Place::<action>  (RegisterSignalsFor)" in output
    )
    assert "  tests.django.test_command.shipped -> orders::shipped\n" in output
    assert output.index("Handlers (") < output.index("Models that dispatch") < output.index("Signals mapped")


def test_match_lists_the_handlers_in_the_order_they_run() -> None:
    """``match NAME`` numbers the handlers that NAME reaches, by priority then registration."""
    Dispatcher.RegisterHandler("orders::.*", audit)
    Dispatcher.RegisterHandler("orders::paid", audit, priority=10)
    Dispatcher.RegisterHandler("other::.*", audit)
    output = run("match", "orders::paid")
    assert output == (
        "'orders::paid' reaches 2 handlers, in this order:\n"
        "  1. tests.django.test_command:audit  (pattern 'orders::paid', priority=10)\n"
        "  2. tests.django.test_command:audit  (pattern 'orders::.*', priority=0)\n"
    )


def test_match_without_handlers_says_so() -> None:
    """A name that no pattern matches is reported as such."""
    assert run("match", "nobody::listens") == "No handler receives 'nobody::listens'.\n"


def test_match_needs_a_name() -> None:
    """``match`` without a name is a usage error."""
    with pytest.raises(CommandError, match=r"the following arguments are required: name"):
        call_command("events", "match")


def test_match_rejects_an_empty_name() -> None:
    """An empty name is refused with an example of a name."""
    with pytest.raises(CommandError, match=r"give an event name, e.g. events::db::shop::models::Order::created"):
        call_command("events", "match", "")


def test_subcommand_is_required() -> None:
    """``events`` alone is a usage error naming the subcommands."""
    with pytest.raises(CommandError, match=r"the following arguments are required: \{list,match,relay,outbox,make\}"):
        call_command("events")


def send_receipt(name: str, *args: object) -> None:
    """A queued handler."""


def charge(name: str, *args: object) -> None:
    """An outbox handler."""


@pytest.fixture
def queued_on_dispatcher() -> Iterator[None]:
    """Let the test register queued handlers on the global Dispatcher; take its dispatch check away after."""
    yield
    check = _sending._DispatchCheck._installed.pop(Dispatcher, None)
    if check is not None:
        Dispatcher.interceptors.remove(check.check)


@pytest.mark.usefixtures("queued_on_dispatcher")
def test_list_marks_queued_and_outbox_handlers() -> None:
    """A queued handler says queued (and after_commit, its messages wait for the commit); an outbox one says outbox."""
    Dispatcher.RegisterHandler("shop::paid", send_receipt, queued=True)
    Dispatcher.RegisterHandler("shop::paid", charge, queued=Queued(outbox=True), priority=2)
    output = run("list")
    assert (
        "  shop::paid\n"
        "      tests.django.test_command:charge  priority=2  queued  outbox\n"
        "      tests.django.test_command:send_receipt  priority=0  after_commit  queued\n"
    ) in output


@pytest.mark.usefixtures("queued_on_dispatcher")
def test_list_json_has_a_stable_documented_shape() -> None:
    """``list --json`` prints handlers, models and signals with the documented keys."""
    RegisterSignalsFor(Place)
    SignalToEvent(shipped, event="orders::shipped", sender="web")
    Dispatcher.RegisterHandler("shop::paid", charge, queued=Queued(outbox=True))
    Dispatcher.RegisterHandler("orders::.*", audit, once=True, priority=-1)
    listing = json.loads(run("list", "--json"))
    assert listing["version"] == 1
    assert [h for h in listing["handlers"] if h["pattern"] in ("orders::.*", "shop::paid")] == [
        {
            "pattern": "orders::.*",
            "handler": "tests.django.test_command:audit",
            "priority": -1,
            "once": True,
            "weak": False,
            "after_commit": False,
            "queued": False,
            "outbox": False,
            "inline": False,
        },
        {
            "pattern": "shop::paid",
            "handler": "tests.django.test_command:charge",
            "priority": 0,
            "once": False,
            "weak": False,
            "after_commit": False,
            "queued": True,
            "outbox": True,
            "inline": False,
        },
    ]
    assert {
        "model": "testapp.Place",
        "events": "events::db::tests::django::testapp::models::Place::<action>",
        "observers": [],
        "track_changes": True,
    } in listing["models"]
    assert {"signal": "tests.django.test_command.shipped", "event": "orders::shipped", "sender": "'web'"} in listing[
        "signals"
    ]


@pytest.fixture
def outbox_rows() -> Iterator[InMemoryTransport]:
    """Two committed outbox rows, and an in-memory transport to publish them through."""
    DatabaseOutbox("default", default=True).write(
        [Message('{"n":1}', "id-1", "shop::paid", "shop:charge"), Message('{"n":2}', "id-2", "shop::paid", "shop:mail")]
    )
    memory = InMemoryTransport()
    with using_transport(memory):
        yield memory


@pytest.mark.django_db(transaction=True)
def test_relay_once_publishes_what_is_pending_and_exits(outbox_rows: InMemoryTransport) -> None:
    """``relay --once`` sends every pending row, says so, and leaves them sent."""
    output = run("relay", "--once")
    assert [message.body for message in outbox_rows.sent] == ['{"n":1}', '{"n":2}']
    assert "this database cannot skip locked rows: run one relay." in output
    assert output.endswith("Published 2 message(s); 0 publish(es) failed.\n")
    assert run("outbox").splitlines()[1:4] == ["  pending  0", "  failing  0", "  sent     2 (kept 7.0 days)"]


class Down(Transport):
    def enqueue(self, message: Message, *, delay: float = 0.0, attempt: int = 0) -> None:
        raise ConnectionError("connection refused")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("outbox_rows")
def test_relay_once_fails_when_the_broker_is_down_and_outbox_shows_the_row() -> None:
    """A failed publish makes ``relay --once`` exit with an error; ``outbox`` lists the failing row."""
    with using_transport(Down()), pytest.raises(CommandError, match="the relay could not publish"):
        run("relay", "--once")
    lines = run("outbox").splitlines()
    assert lines[0] == "Outbox of database 'default':"
    assert lines[1].startswith("  pending  2, the oldest written ")
    assert lines[2] == "  failing  1"
    assert lines[4] == "Failing rows:"
    assert " shop::paid -> shop:charge  attempts=1  next try in " in lines[5]
    assert lines[5].endswith("ConnectionError: connection refused")


@pytest.mark.django_db(transaction=True)
def test_relay_without_a_transport_is_refused() -> None:
    """With no transport configured, the relay says what to set."""
    needs = r"set DJANGO_EVENT_SYSTEM\['QUEUED'\]\['TRANSPORT'\]"
    with using_transport(None), pytest.raises(CommandError, match=needs):
        run("relay", "--once")


@pytest.mark.django_db(transaction=True)
def test_relay_stops_at_sigterm_and_restores_the_handler(outbox_rows: InMemoryTransport) -> None:
    """A running relay takes SIGTERM as a request to stop: it returns after its batch and restores the handler."""

    def not_taken(signum: int, frame: object) -> None:
        raise AssertionError("the relay did not take SIGTERM")

    previous = signal.signal(signal.SIGTERM, not_taken)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        output = run("relay", "--interval", "0.05")
        restored = signal.getsignal(signal.SIGTERM)
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, previous)
    assert restored is not_taken
    assert output.endswith("Published 2 message(s); 0 publish(es) failed (stopped by SIGTERM).\n")
    assert len(outbox_rows.sent) == 2


def test_list_marks_a_handler_registered_after_commit() -> None:
    """A function registered with ``after_commit=True`` is listed as after_commit."""

    def notify(name: str) -> None:
        """An after-commit handler."""

    with Dispatcher.RegisterHandler("shop::shipped", notify, after_commit=True):
        output = run("list")
    assert "notify  priority=0  after_commit\n" in output


def test_list_shows_the_subscribers_and_their_methods() -> None:
    """Each EventSubscriber is listed with its methods and what each receives, in text and JSON."""

    class Billing(EventSubscriber):
        @on("orders::paid", priority=5)
        def charge(self, name: str) -> None: ...

        @on("orders::refunded")
        def refund(self, name: str) -> None: ...

    try:
        output = run("list")
        listing = json.loads(run("list", "--json"))
    finally:
        Billing.unregister()
    where = f"{__name__}:test_list_shows_the_subscribers_and_their_methods.<locals>.Billing"
    assert f"  {where}  charge <- orders::paid, refund <- orders::refunded" in output.split("Subscribers:\n", 1)[1]
    assert f"      {where}.charge  priority=5" in output
    assert {
        "subscriber": where,
        "handlers": [
            {"method": "charge", "pattern": "orders::paid"},
            {"method": "refund", "pattern": "orders::refunded"},
        ],
    } in listing["subscribers"]
