"""The testing helpers with Django: after-commit events, ``captureOnCommitCallbacks`` and transaction tests."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
from django.db import transaction
from django.test import TestCase

from django_event_system import Dispatcher, Event, EventDispatcher, Observer
from django_event_system.testing import fake, muted, record_events
from tests.django.testapp.models import Example

CREATED = "events::db::tests::django::testapp::models::Example::created"

CaptureCallbacks = Callable[..., AbstractContextManager[list[Callable[[], object]]]]


@pytest.fixture
def committed() -> Iterator[list[str]]:
    """The names of the Examples that an after-commit Observer saw created, in order."""
    names: list[str] = []

    class AfterCommitObserver(Observer[Example]):
        observes = Example
        after_commit = True

        def created(self, event_name: str, instance: Example, /) -> None:
            names.append(instance.name)

    yield names
    AfterCommitObserver.unregister()


@pytest.mark.django_db
def test_recorder_sees_the_event_at_save_and_the_observer_runs_on_captured_commit(
    committed: list[str], django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    """Inside the test's transaction the event is recorded once, at save; the observer runs on the captured commit."""
    with record_events() as events:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            Example.objects.create(name="first")
            Dispatcher.ClearQueue()
            assert committed == []  # not committed yet
        Dispatcher.ClearQueue()
    assert len(callbacks) == 1
    assert committed == ["first"]
    [record] = events.assert_dispatched(CREATED, times=1)
    assert record.args[0].name == "first"
    assert record.delivered


@pytest.mark.django_db
def test_without_executing_the_callbacks_the_observer_never_runs(
    committed: list[str], django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    """Captured but not executed, the after-commit half is never delivered; the recorder still saw the event."""
    with record_events() as events, django_capture_on_commit_callbacks(execute=False) as callbacks:
        Example.objects.create(name="held")
    Dispatcher.ClearQueue()
    assert len(callbacks) == 1
    assert committed == []
    events.assert_dispatched(CREATED, times=1)


@pytest.mark.django_db
def test_fake_keeps_model_events_running_after_commit(
    committed: list[str], django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    """Under ``fake()`` model events still reach after-commit observers on commit."""
    with fake() as events, django_capture_on_commit_callbacks(execute=True) as callbacks:
        Example.objects.create(name="kept")
        Dispatcher.Dispatch("faked::event")
    Dispatcher.ClearQueue()
    assert len(callbacks) == 1
    assert committed == ["kept"]
    assert [(r.name, r.delivered) for r in events if r.name in (CREATED, "faked::event")] == [
        (CREATED, True),
        ("faked::event", False),
    ]


@pytest.mark.django_db
def test_faking_a_named_model_event_holds_back_both_halves(
    committed: list[str], django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    """A model event that ``fake`` names is recorded and nothing is scheduled on commit for it."""
    with (
        fake(re.compile(r"events::db::.*::created")) as events,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        Example.objects.create(name="faked")
    Dispatcher.ClearQueue()
    assert callbacks == []
    assert committed == []
    [record] = events.assert_dispatched(CREATED, times=1)
    assert not record.delivered


@pytest.mark.django_db(transaction=True)
def test_transaction_test_delivers_after_a_real_commit_only(committed: list[str]) -> None:
    """In a transaction test the observer runs after a real commit, not after a rollback; both saves are recorded."""
    with record_events() as events:
        with transaction.atomic():
            Example.objects.create(name="committed")
            Dispatcher.ClearQueue()
            assert committed == []
        Dispatcher.ClearQueue()
        assert committed == ["committed"]
        with transaction.atomic():
            Example.objects.create(name="rolled back")
            transaction.set_rollback(True)
        Dispatcher.ClearQueue()
    assert committed == ["committed"]
    assert [r.args[0].name for r in events.dispatched(CREATED)] == ["committed", "rolled back"]


class MockedAfterCommitTests(TestCase):
    """``MocksDispatch`` in Django's ``TestCase`` with after-commit observers."""

    def setUp(self) -> None:
        self.committed: list[str] = []
        committed = self.committed

        class AfterCommitObserver(Observer[Example]):
            observes = Example
            after_commit = True

            def created(self, event_name: str, instance: Example, /) -> None:
                committed.append(instance.name)

        self.addCleanup(AfterCommitObserver.unregister)

    @Dispatcher.MocksDispatch
    def test_expected_model_event_is_not_scheduled_on_commit(self) -> None:
        """An expected model event is recorded; nothing is scheduled on commit, so the observer never runs."""
        Dispatcher.Expect(CREATED)
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            Example.objects.create(name="expected")
        Dispatcher.ClearQueue()
        assert callbacks == []
        assert self.committed == []

    @Dispatcher.MocksDispatch
    def test_model_events_that_are_not_expected_run_on_commit(self) -> None:
        """A model event that is not expected reaches the after-commit observer on the captured commit."""
        Dispatcher.Expect("orders::placed")
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            Example.objects.create(name="delivered")
            Dispatcher.Dispatch("orders::placed")
        Dispatcher.ClearQueue()
        assert len(callbacks) == 1
        assert self.committed == ["delivered"]


class Parcel(Event):
    """An event with a label; the ``parcel`` fixture makes after-commit subclasses of it."""

    label: str


@pytest.fixture
def parcel(dispatcher: EventDispatcher) -> Iterator[type[Parcel]]:
    """An after-commit Event class of a dispatcher of its own, with one handler that records labels."""

    class Shipped(Parcel):
        after_commit = True

    Shipped.dispatcher = dispatcher
    dispatcher.listen(Shipped)(lambda event: None)
    yield Shipped
    Shipped.after_commit = False


def ship(parcel: type[Parcel], label: str) -> Parcel:
    return parcel.dispatcher.Dispatch(parcel(label=label))


@pytest.mark.django_db(transaction=True)
def test_a_held_event_is_recorded_held_then_delivered_at_the_commit(parcel: type[Parcel]) -> None:
    """A record's status is ``"held"`` until the transaction commits, ``"delivered"`` after."""
    with record_events(dispatcher=parcel.dispatcher) as events:
        with transaction.atomic():
            ship(parcel, "in transit")
            [record] = events.assert_dispatched(re.compile(".*Shipped"), status="held")
        assert events.dispatched(re.compile(".*Shipped"), status="delivered") == [record]
        assert events.dispatched(parcel, status="held") == []
        ship(parcel, "autocommit")
    assert [(r.event.label, r.status) for r in events if isinstance(r.event, Parcel)] == [
        ("in transit", "delivered"),
        ("autocommit", "delivered"),
    ]


@pytest.mark.parametrize(
    "kept",
    [
        pytest.param("delivered", marks=pytest.mark.django_db(transaction=True), id="real-transactions"),
        pytest.param("held", marks=pytest.mark.django_db, id="inside-the-test-transaction"),
    ],
)
def test_a_rolled_back_event_is_recorded_discarded(parcel: type[Parcel], kept: str) -> None:
    """A rolled-back transaction (a savepoint, in a test's own) discards its events; ``assert_discarded`` finds them."""
    with record_events(dispatcher=parcel.dispatcher) as events:
        with transaction.atomic():
            ship(parcel, "lost")
            transaction.set_rollback(True)
        ship(parcel, "kept")
    [lost] = events.assert_discarded(parcel, times=1)
    assert lost.label == "lost"
    assert [event.label for event in events.discarded(parcel)] == ["lost"]
    assert [(r.event.label, r.status) for r in events if isinstance(r.event, Parcel)] == [
        ("lost", "discarded"),
        ("kept", kept),
    ]


@pytest.mark.django_db(transaction=True)
def test_assert_discarded_fails_naming_what_became_of_the_event(parcel: type[Parcel]) -> None:
    """When the event was committed, ``assert_discarded`` fails and says how the dispatches stand."""
    with record_events(dispatcher=parcel.dispatcher) as events, transaction.atomic():
        ship(parcel, "committed")
    with pytest.raises(
        AssertionError,
        match=r"Shipped \('.*'\) was discarded 0 times, expected at least once "
        r"\(dispatched 1 time: 1 delivered\)\.",
    ):
        events.assert_discarded(parcel)


@pytest.mark.django_db
@pytest.mark.parametrize("helper", ["fake", "muted"])
def test_a_faked_or_muted_after_commit_event_schedules_nothing(
    parcel: type[Parcel], helper: str, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    """Faked or muted, an after-commit event is recorded ``withheld`` and nothing waits for the commit."""
    faking = fake(parcel, dispatcher=parcel.dispatcher) if helper == "fake" else muted(dispatcher=parcel.dispatcher)
    with faking as events, django_capture_on_commit_callbacks(execute=True) as callbacks:
        ship(parcel, "faked")
    assert callbacks == []
    assert [record.status for record in events] == ["withheld"]


class MockedAfterCommitEventTests(TestCase):
    """``Expect`` of an after-commit Event class in Django's ``TestCase``."""

    @Dispatcher.MocksDispatch
    def test_an_expected_after_commit_event_is_not_scheduled_on_commit(self) -> None:
        """An expected after-commit event is recorded, and no on-commit callback is left for it."""
        received: list[str] = []

        class Closed(Parcel):
            after_commit = True

        self.addCleanup(setattr, Closed, "after_commit", False)
        Dispatcher.listen(Closed)(lambda event: received.append(event.label))
        Dispatcher.Expect(Closed)
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            Closed.Dispatch(label="expected")
        assert callbacks == []
        assert received == []
