"""The testing helpers with Django: after-commit events, ``captureOnCommitCallbacks`` and transaction tests."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
from django.db import transaction
from django.test import TestCase

from django_event_system import Dispatcher, Observer
from django_event_system.testing import fake, record_events
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
