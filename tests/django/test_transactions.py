"""Tests for ``after_commit``: model events reach after-commit handlers only once the transaction commits.

Each test runs on SQLite and on the real PostgreSQL server (skipped where it does not answer).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import transaction

from django_event_system import Dispatcher, EventListener, Observer
from django_event_system.testing import fake, record_events

from .testapp.models import Example

EXAMPLE = "events::db::tests::django::testapp::models::Example"

DATABASES = [
    pytest.param("default", marks=pytest.mark.django_db(transaction=True), id="sqlite"),
    pytest.param(
        "postgres",
        marks=[pytest.mark.postgres, pytest.mark.django_db(transaction=True, databases=["default", "postgres"])],
        id="postgres",
    ),
]


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
    """An EventListener with ``after_commit = True`` gets model events after the commit, other events at once."""
    calls: list[str] = []

    class CommittedListener(EventListener):
        listensFor = [f"{EXAMPLE}::created", "plain::event"]
        after_commit = True

        def handle(self, event: str, *args: object) -> None:
            calls.append(event.rsplit("::", 1)[-1])

    from django_event_system import RegisterSignalsFor

    RegisterSignalsFor(Example)
    try:
        with transaction.atomic(using=alias):
            Example.objects.using(alias).create(name="listened")
            Dispatcher.Dispatch("plain::event")
            drain()
            assert calls == ["event"]
        drain()
        assert calls == ["event", "created"]

        def create_then_fail() -> None:
            with transaction.atomic(using=alias):
                Example.objects.using(alias).create(name="rolled back")
                raise RuntimeError("roll back")

        with pytest.raises(RuntimeError, match=r"roll back"):
            create_then_fail()
        drain()
        assert calls == ["event", "created"]
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
