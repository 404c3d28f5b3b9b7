"""Tests for ``without_events`` on models, actions and Observers, and for the identity of Observers."""

from __future__ import annotations

import sys
import textwrap
import types
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings

from django_event_system import Dispatcher, Observer, on, without_events
from django_event_system.testing import assert_listening, record_events

from .databases import DATABASES
from .testapp.models import Example, Place

EXAMPLE = "events::db::tests::django::testapp::models::Example"


def recording_observers(calls: list[str], *, after_commit: bool = False) -> tuple[type[Observer[Any]], ...]:
    class Audit(Observer[Example]):
        observes = Example

        def created(self, event_name: str, example: Example) -> None:
            calls.append(f"audit {example.name}")

    class Search(Observer[Example]):
        observes = Example

        @on("created", after_commit=after_commit)
        def index(self, event_name: str, example: Example) -> None:
            calls.append(f"index {example.name}")

    class Places(Observer[Place]):
        observes = Place

        def created(self, event_name: str, place: Place) -> None:
            calls.append(f"place {place.name}")

    return Audit, Search, Places


@pytest.mark.parametrize("alias", DATABASES)
def test_a_model_target_dispatches_nothing_of_that_model(alias: str, drain: Callable[[], None]) -> None:
    calls: list[str] = []
    recording_observers(calls)
    with record_events() as events:
        with without_events(Example):
            Example.objects.using(alias).create(name="quiet")
            Place.objects.using(alias).create(name="loud")
        drain()
    assert calls == ["place loud"]
    assert [r.name.rsplit("::", 1)[-1] for r in events.suppressed(f"{EXAMPLE}::created")] == ["created"]
    Example.objects.using(alias).create(name="after")
    drain()
    assert sorted(calls) == ["audit after", "index after", "place loud"]


@pytest.mark.parametrize("alias", DATABASES)
def test_an_action_target_suppresses_that_action_of_every_model(alias: str, drain: Callable[[], None]) -> None:
    calls: list[str] = []
    recording_observers(calls)
    deleted: list[str] = []
    Dispatcher.RegisterHandler(f"{EXAMPLE}::deleted", lambda name, instance: deleted.append(instance.name))
    with without_events("created"):
        example = Example.objects.using(alias).create(name="quiet")
        Place.objects.using(alias).create(name="quiet place")
        example.delete()
    drain()
    assert (calls, deleted) == ([], ["quiet"])


@pytest.mark.parametrize("alias", DATABASES)
def test_an_observer_target_mutes_that_observer_alone(alias: str, drain: Callable[[], None]) -> None:
    calls: list[str] = []
    audit, search, _ = recording_observers(calls)
    with record_events() as events:
        with without_events(audit):
            Example.objects.using(alias).create(name="a")
        drain()
    assert calls == ["index a"]
    (record,) = events.dispatched(f"{EXAMPLE}::created")
    assert (record.status, record.muted) == ("delivered", (audit,))
    assert_listening(f"{EXAMPLE}::created", audit.created)
    assert_listening(f"{EXAMPLE}::created", search.index)  # type: ignore[attr-defined]


@pytest.mark.parametrize("alias", DATABASES)
def test_an_observer_muted_inside_a_transaction_stays_muted_after_the_commit(
    alias: str, drain: Callable[[], None]
) -> None:
    """The mute is decided at the save: the after-commit share, delivered later, skips the muted Observer only."""
    calls: list[str] = []
    audit, _, _ = recording_observers(calls, after_commit=True)

    class LateAudit(Observer[Example]):
        observes = Example
        after_commit = True

        def created(self, event_name: str, example: Example) -> None:
            calls.append(f"late {example.name}")

    with override_settings(DJANGO_EVENT_SYSTEM={"QUEUED": {"DATABASE": alias}}):
        with transaction.atomic(using=alias), without_events(LateAudit, audit):
            Example.objects.using(alias).create(name="t")
            drain()
            assert calls == []
        drain()
    assert calls == ["index t"]


def test_the_hazard_a_muted_creating_handler_fills_nothing(db: None, drain: Callable[[], None]) -> None:
    """A ``creating`` handler muted by ``without_events`` does not run: what it would have filled stays as it is."""

    class Slugger(Observer[Example]):
        observes = Example

        def creating(self, event_name: str, example: Example) -> None:
            example.notes = example.notes or f"about {example.name}"

    with Dispatcher.sync_mode(), without_events(Slugger):
        quiet = Example.objects.create(name="quiet")
    with Dispatcher.sync_mode():
        loud = Example.objects.create(name="loud")
    assert (quiet.notes, loud.notes) == ("", "about loud")


def test_a_model_instance_is_refused() -> None:
    with pytest.raises(TypeError, match=r"takes model classes, not the instance .*; pass Example"):
        without_events(Example(name="x"))


# -- Observer identity --------------------------------------------------------------------------

OBSERVER_MODULE = textwrap.dedent(
    """
    from django_event_system import Observer
    from tests.django.testapp.models import Example

    calls = []


    class ItemObserver(Observer[Example]):
        observes = Example

        def created(self, event_name, example):
            calls.append(example.name)
    """
)


def _import(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(OBSERVER_MODULE, f"<{name}>", "exec"), module.__dict__)
    return module


@pytest.mark.parametrize("alias", DATABASES)
def test_observers_of_the_same_name_in_two_apps_both_receive_events(alias: str, drain: Callable[[], None]) -> None:
    try:
        shop = _import("tests.django.shop_observers")
        billing = _import("tests.django.billing_observers")
        Example.objects.using(alias).create(name="both")
        drain()
        assert (shop.calls, billing.calls) == (["both"], ["both"])
        shop.ItemObserver.unregister()
        Example.objects.using(alias).create(name="billing only")
        drain()
        assert (shop.calls, billing.calls) == (["both"], ["both", "billing only"])
    finally:
        for name in ("tests.django.shop_observers", "tests.django.billing_observers"):
            sys.modules.pop(name).ItemObserver.unregister()
    assert Dispatcher.registry.registrations_for(f"{EXAMPLE}::created") == []


def test_redefining_an_observer_in_its_module_still_replaces_it(db: None, drain: Callable[[], None]) -> None:
    try:
        first = _import("tests.django.items_observers")
        second = _import("tests.django.items_observers")
        Example.objects.create(name="once")
        drain()
        assert (first.calls, second.calls) == ([], ["once"])
    finally:
        sys.modules.pop("tests.django.items_observers").ItemObserver.unregister()
