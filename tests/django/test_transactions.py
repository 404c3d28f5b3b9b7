"""Tests for ``after_commit``: model events reach after-commit handlers only once the transaction commits.

Each test runs on SQLite and on the real PostgreSQL server (skipped where it does not answer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.db import transaction
from django.test import override_settings

from django_event_system import Dispatcher, Event, EventListener, HandlerErrors, Observer, RegisterSignalsFor
from django_event_system.core import EventDispatcher, InMemoryTransport, using_transport
from django_event_system.testing import fake, record_events

from .databases import DATABASES
from .testapp.models import Example

EXAMPLE = "events::db::tests::django::testapp::models::Example"


def holding_on(alias: str) -> override_settings:
    """Make ``alias`` the database whose transactions after-commit events wait for, by default."""
    return override_settings(DJANGO_EVENT_SYSTEM={"QUEUED": {"DATABASE": alias}})


def after_commit_observer(calls: list[str]) -> type[Observer[Example]]:
    """An after-commit Observer that records ``method:name`` for every action it gets."""

    class Committed(Observer[Example]):
        observes = Example
        after_commit = True

        def creating(self, event_name: str, instance: Example) -> None:
            calls.append(f"creating:{instance.name}")

        def created(self, event_name: str, instance: Example) -> None:
            calls.append(f"created:{instance.name}")

        def updated(self, event_name: str, instance: Example) -> None:
            calls.append(f"updated:{instance.name}")

        def saved(self, event_name: str, instance: Example) -> None:
            calls.append(f"saved:{instance.name}")

        def deleted(self, event_name: str, instance: Example) -> None:
            calls.append(f"deleted:{instance.name}")

    return Committed


@pytest.mark.parametrize("alias", DATABASES)
def test_created_waits_for_the_commit(alias: str, drain: Callable[[], None]) -> None:
    """Inside ``atomic()`` the created event is held back, even through a drain; the commit releases it."""
    calls: list[str] = []
    after_commit_observer(calls)
    with transaction.atomic(using=alias):
        Example.objects.using(alias).create(name="held")
        drain()
        assert calls == ["creating:held"]
    assert calls == ["creating:held"]  # released by the commit, but queued: not run in its stack
    drain()
    assert sorted(calls) == ["created:held", "creating:held", "saved:held"]


@pytest.mark.parametrize("alias", DATABASES)
def test_rollback_drops_the_event(alias: str, drain: Callable[[], None]) -> None:
    """A transaction that rolls back never delivers its created, updated, saved or deleted events."""
    calls: list[str] = []
    example = Example.objects.using(alias).create(name="kept")
    after_commit_observer(calls)

    def change_then_fail() -> None:
        with transaction.atomic(using=alias):
            Example.objects.using(alias).create(name="lost")
            example.name = "renamed"
            example.save(using=alias)
            example.delete()
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError, match=r"roll back"):
        change_then_fail()
    drain()
    assert calls == ["creating:lost"]
    assert list(Example.objects.using(alias).values_list("name", flat=True)) == ["kept"]


@pytest.mark.parametrize("alias", DATABASES)
def test_autocommit_delivers_at_once(alias: str, drain: Callable[[], None]) -> None:
    """Outside a transaction each save commits, so the events are queued right away."""
    calls: list[str] = []
    after_commit_observer(calls)
    example = Example.objects.using(alias).create(name="auto")
    assert Dispatcher.pending_count() > 0
    drain()
    example.name = "auto2"
    example.save(using=alias)
    drain()
    example.delete()
    drain()
    assert calls == [
        "creating:auto",
        "created:auto",
        "saved:auto",
        "updated:auto2",
        "saved:auto2",
        "deleted:auto2",
    ]


@pytest.mark.parametrize("alias", DATABASES)
def test_rolled_back_savepoint_drops_only_its_events(alias: str, drain: Callable[[], None]) -> None:
    """An inner ``atomic()`` that rolls back loses its events; the outer transaction's arrive at commit."""
    calls: list[str] = []
    after_commit_observer(calls)
    with transaction.atomic(using=alias):
        Example.objects.using(alias).create(name="outer")
        try:
            with transaction.atomic(using=alias):
                Example.objects.using(alias).create(name="inner")
                raise ValueError
        except ValueError:
            pass
    drain()
    assert sorted(c for c in calls if not c.startswith("creating")) == ["created:outer", "saved:outer"]


@pytest.mark.parametrize("alias", DATABASES)
def test_other_handlers_of_the_event_are_not_held_back(alias: str, drain: Callable[[], None]) -> None:
    """A handler without ``after_commit`` receives the created event inside the transaction."""
    calls: list[str] = []
    after_commit_observer(calls)
    immediate: list[str] = []
    with Dispatcher.RegisterHandler(f"{EXAMPLE}::created", lambda name, instance: immediate.append(instance.name)):
        with transaction.atomic(using=alias):
            Example.objects.using(alias).create(name="mixed")
            drain()
            assert immediate == ["mixed"]
            assert "created:mixed" not in calls
        drain()
    assert immediate == ["mixed"]
    assert "created:mixed" in calls


@pytest.mark.parametrize("alias", DATABASES)
def test_event_listener_after_commit(alias: str, drain: Callable[[], None]) -> None:
    """An EventListener with ``after_commit = True`` gets model events and other events after the commit only."""
    calls: list[str] = []

    class CommittedListener(EventListener):
        listensFor = [f"{EXAMPLE}::created", "plain::event"]
        after_commit = True

        def handle(self, event: str, *args: object) -> None:
            calls.append(event.rsplit("::", 1)[-1])

    def create_then_fail() -> None:
        with transaction.atomic(using=alias):
            Example.objects.using(alias).create(name="rolled back")
            Dispatcher.Dispatch("plain::event")
            raise RuntimeError("roll back")

    RegisterSignalsFor(Example)
    try:
        with holding_on(alias):
            with transaction.atomic(using=alias):
                Example.objects.using(alias).create(name="listened")
                Dispatcher.Dispatch("plain::event")
                drain()
                assert calls == []
            drain()
            assert sorted(calls) == ["created", "event"]
            with pytest.raises(RuntimeError, match=r"roll back"):
                create_then_fail()
            drain()
        assert sorted(calls) == ["created", "event"]
    finally:
        CommittedListener.unregister()


@pytest.mark.django_db
def test_captured_on_commit_callbacks_deliver(
    drain: Callable[[], None], django_capture_on_commit_callbacks: Callable[..., object]
) -> None:
    """In a test wrapped in a transaction, running the captured on-commit callbacks delivers the event."""
    calls: list[str] = []
    after_commit_observer(calls)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        Example.objects.create(name="captured")
    drain()
    assert "created:captured" in calls


@pytest.mark.django_db(transaction=True)
def test_recorder_sees_a_held_back_event_once(drain: Callable[[], None]) -> None:
    """The testing helpers see a model event once, when it is dispatched, not again at the commit."""
    calls: list[str] = []
    after_commit_observer(calls)
    with record_events() as recorder:
        with transaction.atomic():
            Example.objects.create(name="recorded")
        drain()
    assert [event.name for event in recorder.events].count(f"{EXAMPLE}::created") == 1
    assert "created:recorded" in calls


@pytest.mark.django_db(transaction=True)
def test_faked_event_reaches_no_after_commit_handler(drain: Callable[[], None]) -> None:
    """When a testing helper swallows the event, the after-commit half is not delivered either."""
    calls: list[str] = []
    after_commit_observer(calls)
    with fake(f"{EXAMPLE}::created"):
        Example.objects.create(name="muted")
        drain()
    assert "created:muted" not in calls
    assert "saved:muted" in calls


@pytest.mark.django_db(transaction=True)
def test_sync_mode_runs_after_commit_handlers_at_the_commit() -> None:
    """In sync mode the held-back handlers run inline when the transaction commits."""
    calls: list[str] = []
    after_commit_observer(calls)
    with Dispatcher.sync_mode():
        with transaction.atomic():
            Example.objects.create(name="inline")
            assert calls == ["creating:inline"]
        assert calls == ["creating:inline", "created:inline", "saved:inline"]


class OrderPaid(Event):
    """A custom event, not a model event."""

    order_id: int


@pytest.mark.parametrize("alias", DATABASES)
def test_after_commit_listener_of_a_custom_event_waits_for_the_commit(alias: str, drain: Callable[[], None]) -> None:
    """An ``after_commit`` listener of a custom Event gets it after the commit, and never after a rollback."""
    calls: list[int] = []

    class Receipt(EventListener):
        listensFor = [OrderPaid]
        after_commit = True

        def handle(self, event: OrderPaid) -> None:
            calls.append(event.order_id)

    def pay_then_fail() -> None:
        with transaction.atomic(using=alias):
            OrderPaid.Dispatch(order_id=2)
            raise RuntimeError("roll back")

    try:
        with holding_on(alias):
            with transaction.atomic(using=alias):
                OrderPaid.Dispatch(order_id=1)
                drain()
                assert calls == []
            drain()
            assert calls == [1]
            with pytest.raises(RuntimeError, match=r"roll back"):
                pay_then_fail()
            drain()
        assert calls == [1]
    finally:
        Receipt.unregister()


class Labelled(Event):
    """An event with a label; its subclasses below are after-commit ones."""

    label: str


@pytest.fixture
def shipment() -> Iterator[type[Labelled]]:
    """A fresh after-commit Event class of the global ``Dispatcher``, no longer after-commit after the test."""

    class Shipment(Labelled):
        after_commit = True

    yield Shipment
    Shipment.after_commit = False  # the class may outlive the test: it must not keep Dispatcher gated


@pytest.mark.parametrize("alias", DATABASES)
def test_an_after_commit_event_reaches_every_handler_after_the_commit_only(
    alias: str, drain: Callable[[], None], shipment: type[Labelled]
) -> None:
    """Every handler of an after-commit Event class, whatever registered it, gets it once the transaction commits."""
    calls: list[str] = []

    class Tracker(EventListener):
        listensFor = [shipment]

        def handle(self, event: Labelled) -> None:
            calls.append("listener")

    Dispatcher.listen(shipment)(lambda event: calls.append("listen"))
    Dispatcher.RegisterHandler("tests::django::test_transactions::.*", lambda name, event: calls.append("pattern"))
    Dispatcher.RegisterHandler("plain::now", lambda name: calls.append("plain"))
    try:
        with holding_on(alias), transaction.atomic(using=alias):
            Dispatcher.Dispatch(shipment(label="a"))
            Dispatcher.Dispatch("plain::now")
            drain()
            assert calls == ["plain"], "events of other classes are not held back"
        drain()
        assert sorted(calls) == ["listen", "listener", "pattern", "plain"]
    finally:
        Tracker.unregister()


@pytest.mark.parametrize("alias", DATABASES)
def test_an_after_commit_event_is_dropped_with_its_transaction_or_savepoint(
    alias: str, drain: Callable[[], None], shipment: type[Labelled]
) -> None:
    """A rollback drops the after-commit events dispatched in the transaction; a rolled-back savepoint only its own."""
    labels: list[str] = []
    Dispatcher.listen(shipment)(lambda event: labels.append(event.label))

    def ship_then_fail(label: str) -> None:
        with transaction.atomic(using=alias):
            Dispatcher.Dispatch(shipment(label=label))
            raise RuntimeError("roll back")

    with holding_on(alias):
        with pytest.raises(RuntimeError, match=r"roll back"):
            ship_then_fail("rolled back")
        with transaction.atomic(using=alias):
            Dispatcher.Dispatch(shipment(label="outer"))
            with pytest.raises(RuntimeError, match=r"roll back"):
                ship_then_fail("savepoint")
        drain()
    assert labels == ["outer"]


@pytest.mark.parametrize("alias", DATABASES)
def test_an_after_commit_event_goes_at_once_in_autocommit(
    alias: str, drain: Callable[[], None], shipment: type[Labelled]
) -> None:
    """Outside a transaction an after-commit event is queued at once, like any event."""
    labels: list[str] = []
    Dispatcher.listen(shipment)(lambda event: labels.append(event.label))
    with holding_on(alias):
        Dispatcher.Dispatch(shipment(label="auto"))
    assert Dispatcher.pending_count() == 1
    drain()
    assert labels == ["auto"]


@pytest.mark.parametrize("alias", DATABASES)
def test_after_commit_handlers_of_a_string_event_wait_and_the_others_do_not(
    alias: str, drain: Callable[[], None]
) -> None:
    """``RegisterHandler`` and ``listen`` with ``after_commit=True`` hold only their own share of a string event."""
    calls: list[str] = []
    Dispatcher.RegisterHandler(
        "stock::reserved", lambda name, sku: calls.append(f"registered {sku}"), after_commit=True
    )
    Dispatcher.listen("stock::.*", after_commit=True)(lambda name, sku: calls.append(f"listened {sku}"))
    Dispatcher.RegisterHandler("stock::reserved", lambda name, sku: calls.append(f"now {sku}"))
    with holding_on(alias):
        with transaction.atomic(using=alias):
            Dispatcher.Dispatch("stock::reserved", "A1")
            drain()
            assert calls == ["now A1"]
        drain()
    assert sorted(calls) == ["listened A1", "now A1", "registered A1"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "postgres"])
def test_an_event_class_names_the_database_it_waits_for(drain: Callable[[], None], shipment: type[Labelled]) -> None:
    """``after_commit_using`` makes the event wait for that database's transaction, not the default one's."""
    labels: list[str] = []
    shipment.after_commit_using = "postgres"
    Dispatcher.listen(shipment)(lambda event: labels.append(event.label))
    with transaction.atomic(using="default"):
        Dispatcher.Dispatch(shipment(label="default only"))
        drain()
        assert labels == ["default only"], "no transaction is open on postgres: at once"
    with transaction.atomic(using="postgres"):
        Dispatcher.Dispatch(shipment(label="postgres"))
        drain()
        assert labels == ["default only"]
    drain()
    assert labels == ["default only", "postgres"]


def record_label(event: Labelled) -> None:
    """A queued handler (module level, so that a worker finds it by name)."""


@pytest.mark.parametrize("alias", DATABASES)
def test_the_queued_listener_of_an_after_commit_event_gets_one_message_after_the_commit(
    alias: str, drain: Callable[[], None], shipment: type[Labelled]
) -> None:
    """An after-commit event's queued handler sends nothing before the commit, one message after, none on rollback."""
    # A dispatcher of its own: the queued handlers' hold interceptor, once installed, stays.
    bus = EventDispatcher()
    shipment.dispatcher = bus
    transport = InMemoryTransport()
    bus.listen(shipment, queued=True)(record_label)

    def ship_then_fail() -> None:
        with transaction.atomic(using=alias):
            bus.Dispatch(shipment(label="rolled back"))
            raise RuntimeError("roll back")

    with holding_on(alias), using_transport(transport):
        with transaction.atomic(using=alias):
            event = bus.Dispatch(shipment(label="sent"))
            bus.ClearQueue(timeout=10)
            assert transport.sent == []
        bus.ClearQueue(timeout=10)
        assert [message.event_id for message in transport.sent] == [event.event_id]
        with pytest.raises(RuntimeError, match=r"roll back"):
            ship_then_fail()
        bus.ClearQueue(timeout=10)
    assert len(transport.sent) == 1
    bus.registry.clear()


@pytest.mark.parametrize("alias", DATABASES)
def test_ing_events_are_never_held_for_an_after_commit_listener(alias: str, drain: Callable[[], None]) -> None:
    """An after-commit listener of every model event gets ``creating`` at once and ``created`` after the commit."""
    calls: list[str] = []

    class EveryModelEvent(EventListener):
        listensFor = ["events::db::(.*)", "stock::.*"]
        after_commit = True

        def handle(self, event: str, *args: object) -> None:
            calls.append(event.rsplit("::", 1)[-1])

    RegisterSignalsFor(Example)
    try:
        with holding_on(alias):
            with transaction.atomic(using=alias):
                Example.objects.using(alias).create(name="early")
                drain()
                assert sorted(calls) == ["creating", "saving"]
            drain()
        assert sorted(calls) == ["created", "creating", "saved", "saving"]
    finally:
        EveryModelEvent.unregister()


@pytest.mark.django_db(transaction=True)
def test_sync_mode_raises_an_after_commit_handlers_error_from_the_commit(shipment: type[Labelled]) -> None:
    """In sync mode, under ``"raise"``, a held handler runs at the commit and its error is raised there."""

    def broken(event: Labelled) -> None:
        raise ValueError("label printer offline")

    Dispatcher.listen(shipment)(broken)
    Dispatcher.error_policy = "raise"
    with Dispatcher.sync_mode(), pytest.raises(HandlerErrors) as raised, transaction.atomic():
        Dispatcher.Dispatch(shipment(label="inline"))
    assert [str(error) for error in raised.value.exceptions] == ["label printer offline"]


@pytest.mark.django_db
def test_captured_on_commit_callbacks_release_an_after_commit_event(
    drain: Callable[[], None], django_capture_on_commit_callbacks: Callable[..., object], shipment: type[Labelled]
) -> None:
    """In a test wrapped in a transaction, the event waits in one on-commit callback, which delivers it when run."""
    labels: list[str] = []
    Dispatcher.listen(shipment)(lambda event: labels.append(event.label))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:  # type: ignore[attr-defined]
        Dispatcher.Dispatch(shipment(label="never run"))
    drain()
    assert (labels, len(callbacks)) == ([], 1)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        Dispatcher.Dispatch(shipment(label="captured"))
    drain()
    assert labels == ["captured"]
