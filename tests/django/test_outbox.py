"""Tests for the outbox: rows written in the dispatching transaction, the relay, and handling once."""

from __future__ import annotations

import datetime
import json
import logging
import threading
import types
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections, transaction
from django.test import override_settings
from django.utils import timezone

from django_event_system.core import (
    Event,
    EventDispatcher,
    EventListener,
    InMemoryTransport,
    ListenerDefinitionError,
    Message,
    Outcome,
    Queued,
    Transport,
    process_message,
    using_transport,
)
from django_event_system.core.integration import current_outbox
from django_event_system.django import Observer, RegisterSignalsFor, model_event_name
from django_event_system.django._outbox import DatabaseOutbox, Relay, outbox_stats
from django_event_system.models import OutboxMessage, ProcessedMessage
from django_event_system.testing import fake
from tests.django.testapp.models import Example
from tests.helpers import registrations_cancelled

bus = EventDispatcher()
listener_bus = EventDispatcher()


class Shipped(Event):
    Name = "outbox_tests::shipped"
    dispatcher = bus
    example: Example


handled: list[str] = []
failures_left: list[int] = [0]


def record_shipped(event: Shipped) -> None:
    """Write a row, as a handler does, then fail if a test asked for it (the row goes with the failure)."""
    Example.objects.create(name=f"effect of {event.example.name}")
    handled.append(event.example.name)
    if failures_left[0]:
        failures_left[0] -= 1
        raise RuntimeError("the handler fails this time")


def record_named(name: str, value: int) -> None:
    handled.append(f"{name} {value}")


def record_plain(name: str, value: int) -> None:
    handled.append(f"plain {value}")


def record_created(name: str, instance: Example) -> None:
    handled.append(f"created {instance.name}")


@pytest.fixture
def memory() -> Iterator[InMemoryTransport]:
    """An in-memory transport, and outbox handlers on a dispatcher of the test's own."""
    handled.clear()
    failures_left[0] = 0
    transport = InMemoryTransport()
    with registrations_cancelled(bus):
        bus.listen(Shipped, queued=Queued(outbox=True, max_retries=1, retry_backoff=0))(record_shipped)
        bus.RegisterHandler("outbox_tests::named", record_named, queued=Queued(outbox=True))
        bus.RegisterHandler("outbox_tests::plain", record_plain, queued=True)
        with using_transport(transport):
            yield transport
    bus.ClearQueue()


def rows() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.order_by("id"))


@pytest.mark.django_db(transaction=True)
def test_the_row_is_written_in_the_transaction_and_nothing_is_sent(memory: InMemoryTransport) -> None:
    """Inside atomic() the row exists at once; the commit keeps it; nothing reaches the transport."""
    with transaction.atomic():
        example = Example.objects.create(name="parcel")
        event = Shipped.Dispatch(example)
        assert [(row.event_id, row.handler) for row in rows()] == [(event.event_id, f"{__name__}:record_shipped")]
        bus.ClearQueue()
    bus.ClearQueue()
    assert memory.sent == []
    [row] = rows()
    assert row.sent_at is None
    assert json.loads(row.body)["outbox"] is True


@pytest.mark.django_db(transaction=True)
def test_a_rollback_leaves_no_row(memory: InMemoryTransport) -> None:
    """The row goes with the transaction that rolls back, and nothing is sent."""

    def work() -> None:
        with transaction.atomic():
            Shipped.Dispatch(Example.objects.create(name="lost"))
            bus.Dispatch("outbox_tests::named", 1)
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError, match="abort"):
        work()
    bus.ClearQueue()
    assert rows() == []
    assert memory.sent == []


@pytest.mark.django_db(transaction=True)
def test_a_handler_that_does_not_use_the_outbox_is_sent_as_before(memory: InMemoryTransport) -> None:
    """Queued(outbox=False) (the default here): sent at commit, no row, handled without a record."""
    with transaction.atomic():
        bus.Dispatch("outbox_tests::plain", 3)
    bus.ClearQueue()
    assert rows() == []
    [message] = memory.sent
    assert "outbox" not in json.loads(message.body)
    assert [result.outcome for result in memory.work()] == [Outcome.DONE]
    assert ProcessedMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_relay_publishes_each_committed_row_once(memory: InMemoryTransport) -> None:
    """relay.run(once=True) sends the pending rows, marks them sent, and sends nothing on the next run."""
    example = Example.objects.create(name="first")
    with transaction.atomic():
        Shipped.Dispatch(example)
        bus.Dispatch("outbox_tests::named", 2)
    bus.ClearQueue()
    relay = Relay(memory)
    result = relay.run(once=True)
    assert (result.published, result.failed) == (2, 0)
    assert [message.body for message in memory.sent] == [row.body for row in rows()]
    assert all(row.sent_at is not None for row in rows())
    assert relay.run(once=True).published == 0
    assert len(memory.sent) == 2
    assert [result.outcome for result in memory.work()] == [Outcome.DONE, Outcome.DONE]
    assert handled == ["first", "outbox_tests::named 2"]


@pytest.mark.django_db(transaction=True)
def test_a_message_delivered_twice_runs_its_handler_once(
    memory: InMemoryTransport, caplog: pytest.LogCaptureFixture
) -> None:
    """The second delivery finds the record written with the handler's rows, and is skipped at INFO."""
    event = Shipped.Dispatch(Example.objects.create(name="twice"))
    bus.ClearQueue()
    Relay(memory).run(once=True)
    [message] = memory.sent
    assert process_message(message.body).outcome is Outcome.DONE
    with caplog.at_level(logging.INFO, logger="django_event_system.queued"):
        assert process_message(message.body).outcome is Outcome.DUPLICATE
    assert handled == ["twice"]
    assert Example.objects.filter(name="effect of twice").count() == 1
    assert list(ProcessedMessage.objects.values_list("event_id", "handler")) == [
        (event.event_id, f"{__name__}:record_shipped")
    ]
    assert (
        f"skipped a duplicate of event 'outbox_tests::shipped' (id {event.event_id}) for the queued handler "
        f"{__name__}:record_shipped: it was handled already"
    ) in caplog.messages


@pytest.mark.django_db(transaction=True)
def test_a_failed_try_leaves_no_record_so_the_retry_runs(memory: InMemoryTransport) -> None:
    """The record is rolled back with the failing handler's rows: the retry runs it, and then counts."""
    failures_left[0] = 1
    Shipped.Dispatch(Example.objects.create(name="retried"))
    bus.ClearQueue()
    Relay(memory).run(once=True)
    assert [result.outcome for result in memory.work()] == [Outcome.RETRY, Outcome.DONE]
    assert handled == ["retried", "retried"]
    assert Example.objects.filter(name="effect of retried").count() == 1
    assert ProcessedMessage.objects.count() == 1
    assert process_message(memory.sent[0].body).outcome is Outcome.DUPLICATE


@pytest.mark.django_db(transaction=True)
def test_the_outbox_setting_makes_every_queued_handler_use_it(memory: InMemoryTransport) -> None:
    """OUTBOX = True applies to handlers that do not say; Queued(outbox=False) still opts out."""
    opted_out = bus.RegisterHandler("outbox_tests::opted_out", record_plain, queued=Queued(outbox=False, key="out"))
    try:
        with override_settings(DJANGO_EVENT_SYSTEM={"QUEUED": {"OUTBOX": True}}):
            bus.Dispatch("outbox_tests::plain", 4)
            bus.Dispatch("outbox_tests::opted_out", 5)
            bus.ClearQueue()
            assert [row.handler for row in rows()] == [f"{__name__}:record_plain"]
            assert [message.handler for message in memory.sent] == ["out"]
        outbox = current_outbox()
        assert isinstance(outbox, DatabaseOutbox)
        assert outbox.default is False
    finally:
        opted_out.cancel()


@pytest.mark.django_db(transaction=True)
def test_model_events_are_written_when_the_row_is_saved(memory: InMemoryTransport) -> None:
    """A queued handler of a model's created event: the row is written by the save, in its transaction."""
    created = model_event_name(Example, "created")
    registration = bus.RegisterHandler(created, record_created, queued=Queued(outbox=True))
    RegisterSignalsFor(Example, dispatcher=bus)  # released by the fixture of tests/django
    try:
        with transaction.atomic():
            Example.objects.create(name="saved")
            assert [row.event_name for row in rows()] == [created]
        bus.ClearQueue()
        assert memory.sent == []
        Relay(memory).run(once=True)
        memory.work()
        assert handled == ["created saved"]
    finally:
        registration.cancel()


class OutboxListener(EventListener):
    """A queued listener that says outbox = True."""

    listensFor = ["outbox_tests::listener"]
    dispatcher = listener_bus
    queued = True
    outbox = True

    def handle(self, event: str, value: int) -> None:
        handled.append(f"listener {value}")


@pytest.mark.django_db(transaction=True)
def test_an_event_listener_says_outbox_true(memory: InMemoryTransport) -> None:
    """outbox = True on a queued EventListener writes its messages to the outbox."""
    listener_bus.Dispatch("outbox_tests::listener", 1)
    listener_bus.ClearQueue()
    assert [row.handler for row in rows()] == [f"{__name__}:OutboxListener"]
    assert memory.sent == []


def test_an_outbox_option_that_is_not_a_bool_is_refused() -> None:
    """outbox must be True, False or None, on Queued and on a listener."""
    with pytest.raises(ValueError, match="outbox must be True, False or None, not 'yes'"):
        Queued(outbox="yes")  # type: ignore[arg-type]
    with pytest.raises(ListenerDefinitionError, match="Bad: outbox must be True, False or None, not 1"):

        class Bad(EventListener):
            listensFor = ["outbox_tests::bad"]
            dispatcher = listener_bus
            queued = True
            outbox = 1  # type: ignore[assignment]

            def handle(self, event: str) -> None: ...


@pytest.mark.django_db(transaction=True)
def test_an_event_held_back_by_a_testing_helper_writes_no_row(memory: InMemoryTransport) -> None:
    """fake() keeps the event from its listeners: nothing of it is written to the outbox."""
    with fake("outbox_tests::named", dispatcher=bus) as events:
        bus.Dispatch("outbox_tests::named", 6)
    events.assert_dispatched("outbox_tests::named")
    assert rows() == []


class Refusing(Transport):
    """A transport whose broker is down."""

    def __init__(self) -> None:
        self.tries = 0

    def enqueue(self, message: Message, *, delay: float = 0.0, attempt: int = 0) -> None:
        self.tries += 1
        raise ConnectionError("the broker does not answer")


@pytest.mark.django_db(transaction=True)
def test_a_failed_publish_is_retried_after_its_backoff(memory: InMemoryTransport) -> None:
    """The row records the attempt, the error and the next try; the relay waits for it, then sends it."""
    bus.Dispatch("outbox_tests::named", 7)
    bus.Dispatch("outbox_tests::named", 8)
    bus.ClearQueue()
    refusing = Refusing()
    before = timezone.now()
    result = Relay(refusing, retry_backoff=30, retry_backoff_max=40).run(once=True)
    assert (result.published, result.failed, refusing.tries) == (0, 1, 1), "the batch stops at the failure"
    first, second = rows()
    assert (first.attempts, first.last_error, first.sent_at) == (1, "ConnectionError: the broker does not answer", None)
    seconds = datetime.timedelta(seconds=1)
    assert before + 29 * seconds < first.available_at < timezone.now() + 31 * seconds
    assert second.attempts == 0
    stats = outbox_stats()
    assert (stats.pending, stats.failing, stats.sent) == (2, 1, 0)
    assert [failure[:4] for failure in stats.failures] == [(first.pk, "outbox_tests::named", first.handler, 1)]

    Relay(refusing, retry_backoff=30, retry_backoff_max=40).run(once=True)
    first.refresh_from_db()
    assert first.attempts == 1, "not due yet: the relay tried the other row"
    OutboxMessage.objects.filter(pk=first.pk).update(available_at=timezone.now() - datetime.timedelta(seconds=1))
    Relay(refusing, retry_backoff=30, retry_backoff_max=40).run(once=True)
    first.refresh_from_db()
    assert first.attempts == 2
    assert first.available_at > timezone.now() + datetime.timedelta(seconds=39), "doubled, up to the maximum"

    OutboxMessage.objects.update(available_at=timezone.now())
    assert Relay(memory).run(once=True).published == 2
    assert outbox_stats().pending == 0


@pytest.mark.django_db(transaction=True)
def test_old_sent_rows_and_records_are_deleted(memory: InMemoryTransport) -> None:
    """The relay deletes sent rows and records older than keep_sent, never a pending row."""
    for value in range(3):
        bus.Dispatch("outbox_tests::named", value)
    bus.ClearQueue()
    relay = Relay(memory, keep_sent=60)
    relay.run(once=True)
    memory.work()
    bus.Dispatch("outbox_tests::named", 9)
    bus.ClearQueue()
    old = timezone.now() - datetime.timedelta(seconds=61)
    first_two = [row.pk for row in rows()[:2]]
    OutboxMessage.objects.filter(pk__in=first_two).update(sent_at=old)
    OutboxMessage.objects.filter(sent_at__isnull=True).update(created_at=old)
    ProcessedMessage.objects.filter(pk=ProcessedMessage.objects.order_by("id")[0].pk).update(processed_at=old)
    assert relay.purge() == (2, 1)
    assert [row.sent_at is None for row in rows()] == [False, True]
    assert ProcessedMessage.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_run_stops_between_batches_when_asked(memory: InMemoryTransport) -> None:
    """A running relay finishes the batch in hand, then returns once should_stop() is true."""
    for value in range(5):
        bus.Dispatch("outbox_tests::named", value)
    bus.ClearQueue()
    batches: list[int] = []
    relay = Relay(memory, batch=2)
    original = relay.publish_batch

    def counted(**options: Any) -> Any:
        result = original(**options)
        batches.append(result.published)
        return result

    relay.publish_batch = counted  # type: ignore[method-assign]
    result = relay.run(interval=0.01, should_stop=lambda: len(batches) == 2)
    assert (batches, result.published) == ([2, 2], 4)
    assert outbox_stats().pending == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "postgres"])
def test_on_postgresql_a_relay_skips_the_rows_another_relay_holds() -> None:
    """A batch locked by another relay's transaction is skipped, not waited for nor sent twice."""
    outbox = DatabaseOutbox("postgres", default=True)
    outbox.write([Message(f'{{"n":{n}}}', f"id-{n}", "pg::event", "pg:handler") for n in range(4)])
    relay = Relay(InMemoryTransport(), using="postgres", batch=2)
    assert relay.locks_rows
    held = threading.Event()
    release = threading.Event()

    def other_relay() -> None:
        try:
            with transaction.atomic(using="postgres"):
                list(OutboxMessage.objects.using("postgres").order_by("id").select_for_update(skip_locked=True)[:2])
                held.set()
                release.wait(10)
        finally:
            connections["postgres"].close()

    thread = threading.Thread(target=other_relay)
    thread.start()
    try:
        assert held.wait(10)
        assert relay.publish_batch().published == 2
        assert relay.publish_batch().published == 0, "the first two rows are held by the other transaction"
    finally:
        release.set()
        thread.join(10)
    transport = relay.transport
    assert isinstance(transport, InMemoryTransport)
    assert [json.loads(message.body)["n"] for message in transport.sent] == [2, 3]
    assert relay.publish_batch().published == 2


def observed_created(self: Observer[Example], event_name: str, instance: Example, /) -> None:
    handled.append(f"observed {instance.name}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("memory")
def test_a_queued_observer_says_outbox_true() -> None:
    """outbox = True on a queued Observer writes its created() message to the outbox."""
    namespace = {
        "observes": Example,
        "dispatcher": bus,
        "queued": True,
        "outbox": True,
        "created": observed_created,
        "__module__": __name__,
        "__qualname__": "OutboxObserver",
    }
    observer: type[Observer[Example]] = types.new_class(
        "OutboxObserver", (Observer[Example],), {}, lambda ns: ns.update(namespace)
    )
    try:
        with transaction.atomic():
            Example.objects.create(name="observed")
            assert [row.handler for row in rows()] == [f"{__name__}:OutboxObserver.created"]
    finally:
        observer.unregister()
