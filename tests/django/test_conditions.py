"""Tests for ``@on`` on Observer methods: actions by decorator, conditions on fields, and what is refused."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.test import override_settings

from django_event_system import Dispatcher, Event, Observer, on
from django_event_system.core import EventDispatcher, InMemoryTransport, using_transport
from django_event_system.testing import assert_listening

from .databases import DATABASES
from .testapp.models import Example

EXAMPLE = "events::db::tests::django::testapp::models::Example"


def status_observer(calls: list[str], *, after_commit: bool = False) -> type[Observer[Example]]:
    """An Observer whose methods each record their name when their conditions hold."""

    class StatusObserver(Observer[Example]):
        observes = Example

        @on("updated", when="status", was="placed", is_now="shipped")
        def shipped(self, event_name: str, example: Example) -> None:
            calls.append(f"shipped {example.name}")

        @on("updated", when="status", changes_to="cancelled", after_commit=after_commit)
        def cancelled(self, event_name: str, example: Example) -> None:
            calls.append(f"cancelled {example.name}")

        @on("updated", when="status")
        def status_changed(self, event_name: str, example: Example) -> None:
            calls.append(f"status {example.name}")

        @on("updated", when="notes", has_changed=False)
        def notes_kept(self, event_name: str, example: Example) -> None:
            calls.append(f"notes kept {example.name}")

        @on("created", when="status", is_now="placed")
        def placed_at_once(self, event_name: str, example: Example) -> None:
            calls.append(f"created placed {example.name}")

        def updated(self, event_name: str, example: Example) -> None:
            calls.append(f"updated {example.name}")

    return StatusObserver


@pytest.mark.parametrize("alias", DATABASES)
def test_conditions_choose_the_methods_that_run(alias: str, drain: Callable[[], None]) -> None:
    """Each method runs when all of its conditions hold; a method named after an action runs as ever."""
    calls: list[str] = []
    status_observer(calls)
    order = Example.objects.using(alias).create(name="o", status="placed")
    drain()
    assert calls == ["created placed o"]
    calls.clear()
    order.status = "shipped"
    order.save(using=alias)
    drain()
    assert sorted(calls) == ["notes kept o", "shipped o", "status o", "updated o"]
    calls.clear()
    order.status = "cancelled"
    order.notes = "late"
    order.save(using=alias)
    drain()
    assert sorted(calls) == ["cancelled o", "status o", "updated o"], "was='placed' no longer holds"
    calls.clear()
    order.name = "renamed"
    order.save(using=alias)
    drain()
    assert sorted(calls) == ["notes kept renamed", "updated renamed"]


@pytest.mark.parametrize("alias", DATABASES)
def test_a_field_not_in_update_fields_did_not_change(alias: str, drain: Callable[[], None]) -> None:
    calls: list[str] = []
    status_observer(calls)
    order = Example.objects.using(alias).create(name="o", status="placed")
    drain()
    calls.clear()
    order.status = "shipped"
    order.save(using=alias, update_fields=["name"])
    drain()
    assert sorted(calls) == ["notes kept o", "updated o"]
    order.save(using=alias, update_fields=["status"])
    drain()
    assert "shipped o" in calls


@pytest.mark.parametrize("alias", DATABASES)
def test_an_after_commit_condition_is_the_save_s_whatever_the_instance_does_before_the_commit(
    alias: str, drain: Callable[[], None]
) -> None:
    """The condition reads the changes taken when each save dispatched: saving again, or changing the instance
    in memory, before the commit does not change it."""
    calls: list[str] = []
    status_observer(calls, after_commit=True)
    order = Example.objects.using(alias).create(name="o", status="placed")
    drain()
    calls.clear()
    with override_settings(DJANGO_EVENT_SYSTEM={"QUEUED": {"DATABASE": alias}}), transaction.atomic(using=alias):
        order.status = "cancelled"
        order.save(using=alias)
        order.notes = "saved again"
        order.save(using=alias)  # its changes are the notes alone
        order.status = "placed"  # changed again, in memory, before the commit
        drain()
        assert "cancelled o" not in calls, "after_commit: not before the commit"
    drain()
    assert calls.count("cancelled o") == 1


def test_several_on_on_one_method_and_priorities(db: None, drain: Callable[[], None]) -> None:
    """Each ``@on`` of a method registers it once more; ``priority`` orders them among the event's handlers."""
    calls: list[str] = []
    Dispatcher.RegisterHandler(f"{EXAMPLE}::created", lambda name, instance: calls.append("plain"))

    class Several(Observer[Example]):
        observes = Example

        @on("created", priority=10)
        @on("deleted")
        def touched(self, event_name: str, example: Example) -> None:
            calls.append(event_name.rsplit("::", 1)[-1])

    example = Example.objects.create(name="x")
    example.delete()
    drain()
    assert calls == ["created", "plain", "deleted"]
    assert [r.priority for r in Several.registrations] == [10, 0]
    assert_listening(f"{EXAMPLE}::deleted", Several.touched)


def test_a_method_named_after_an_action_with_on_is_registered_by_its_on(db: None, drain: Callable[[], None]) -> None:
    calls: list[str] = []

    class Named(Observer[Example]):
        observes = Example

        @on("updated", when="status")
        def updated(self, event_name: str, example: Example) -> None:
            calls.append(example.status)

    example = Example.objects.create(name="x")
    example.name = "y"
    example.save()
    example.status = "done"
    example.save()
    drain()
    assert calls == ["done"]
    assert len(Named.registrations) == 1


# -- queued -----------------------------------------------------------------------------------

bus = EventDispatcher()
queued_calls: list[tuple[str, str]] = []


def shipped_in_worker(self: Observer[Example], event_name: str, example: Example) -> None:
    queued_calls.append((event_name.rsplit("::", 1)[-1], example.status))


def shipped_method() -> Callable[[Observer[Example], str, Example], None]:
    """A new function each time: ``@on`` marks the function it decorates."""

    def shipped(self: Observer[Example], event_name: str, example: Example) -> None:
        shipped_in_worker(self, event_name, example)

    return shipped


@pytest.fixture
def memory() -> Iterator[InMemoryTransport]:
    queued_calls.clear()
    transport = InMemoryTransport()
    with using_transport(transport):
        yield transport
    bus.ClearQueue(timeout=10)
    queued_calls.clear()


@pytest.mark.parametrize("alias", DATABASES)
def test_a_queued_condition_is_evaluated_where_the_row_was_saved(
    alias: str, memory: InMemoryTransport, drain: Callable[[], None]
) -> None:
    """Only the saves whose condition holds are sent; the worker, which loads the row again, runs the method."""
    namespace: dict[str, Any] = {
        "observes": Example,
        "dispatcher": bus,
        "queued": True,
        "shipped": on("updated", when="status", changes_to="shipped")(shipped_method()),
        "__module__": __name__,
        "__qualname__": "QueuedShipping",
    }
    observer: type[Observer[Example]] = types.new_class(
        "QueuedShipping", (Observer[Example],), {}, lambda ns: ns.update(namespace)
    )
    try:
        with override_settings(DJANGO_EVENT_SYSTEM={"QUEUED": {"DATABASE": alias}}):
            order = Example.objects.using(alias).create(name="o", status="placed")
            with transaction.atomic(using=alias):
                order.name = "renamed"
                order.save(using=alias)
                order.status = "shipped"
                order.save(using=alias)
                order.status = "lost"  # in memory only, before the commit
            bus.ClearQueue(timeout=10)
        assert [message.handler for message in memory.sent] == [f"{__name__}:QueuedShipping.shipped"]
        if alias == "default":  # a worker loads the row through the default database
            memory.work()
            assert queued_calls == [("updated", "shipped")]
    finally:
        observer.unregister()


# -- what is refused --------------------------------------------------------------------------


class Placed(Event):
    order_id: int


def define(**methods: Any) -> type[Observer[Example]]:
    namespace: dict[str, Any] = {"observes": Example, **methods}
    return types.new_class("Checked", (Observer[Example],), {}, lambda ns: ns.update(namespace))


def method() -> Callable[[Observer[Example], str, Example], None]:
    """A new function each time: ``@on`` marks the function it decorates."""

    def m(self: Observer[Example], event_name: str, example: Example) -> None: ...

    return m


@pytest.mark.parametrize(
    ("decorator", "match"),
    [
        (
            on("update"),
            r"Checked\.m: on\('update'\) names 'update', which is not a model action: did you mean 'updated'\?",
        ),
        (on("nothing"), r"names 'nothing', which is not a model action: the actions are creating, created"),
        (
            on("updated", when="stats", is_now=1),
            r"on\('updated', when='stats', is_now=1\) names the field 'stats', which testapp\.Example does not have: "
            r"did you mean 'status'\?",
        ),
        (
            on("updated", when="place_id"),
            r"names the field 'place_id', .*: did you mean 'place'\? "
            r"\(a foreign key is named by its field; its values are ids\)",
        ),
        (
            on("created", when="status", was="draft"),
            r"on\('created', when='status', was='draft'\): was= is about a change, which only an update has "
            r"\('created' fires for new instances\); put it on 'updating' or 'updated', or test the value with is_now=",
        ),
        (
            on("saved", when="status"),
            r"when= alone is about a change, .*\('saved' fires for creates and updates alike\)",
        ),
        (
            on("deleted", when="status", has_changed=True),
            r"has_changed= is about a change, .*\('deleted' fires for deleted",
        ),
        (
            on("creating", after_commit=True),
            r"'creating' comes before the row is written and never waits for the commit; "
            r"after_commit=True fits bulk_created, bulk_updated, created, deleted, m2m_added, m2m_cleared, "
            r"m2m_removed, queryset_updated, saved, updated",
        ),
        (on("created", queued=True), r"an Observer is queued as a whole; set queued = True .* on the class"),
    ],
)
def test_bad_on_on_an_observer_is_refused(decorator: Any, match: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=match):
        define(m=decorator(method()))


def test_an_event_class_on_an_observer_method_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"names an Event class; on an Observer method, @on names an action"):
        define(m=on(Placed)(lambda self, event: None))


def test_conditions_need_track_changes() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"needs the changes of each save, .* sets track_changes = False"):
        define(track_changes=False, m=on("updated", when="status")(method()))


def test_a_decorated_method_may_not_take_a_name_observer_uses() -> None:
    with pytest.raises(
        ImproperlyConfigured, match=r"Checked\.changes carries @on, but changes is a name Observer uses"
    ):
        define(changes=on("updated")(method()))


def test_any_method_name_is_not_suspicious_when_decorated() -> None:
    """A decorated ``create`` is no misspelt ``created``: the system check does not warn about it."""
    observer = define(create=on("created")(method()))
    try:
        assert observer.suspicious_methods == ()
    finally:
        observer.unregister()
