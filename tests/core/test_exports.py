"""Tests for the public names: sorted, importable ``__all__`` and the PEP 8 aliases of the 1.0 names."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

import django_event_system
import django_event_system.core
from django_event_system.core import Dispatcher, Event, EventDispatcher, GetPathFromClass, get_path_from_class


@pytest.mark.parametrize("module", [django_event_system.core, django_event_system], ids=lambda module: module.__name__)
def test_all_is_sorted(module: ModuleType) -> None:
    """``__all__`` is sorted, so additions land in one obvious place."""
    assert list(module.__all__) == sorted(module.__all__)
    assert len(set(module.__all__)) == len(module.__all__)


@pytest.mark.parametrize("module", [django_event_system.core, django_event_system], ids=lambda module: module.__name__)
def test_every_name_in_all_is_importable(module: ModuleType) -> None:
    """Every name in ``__all__`` can be imported from the module."""
    fresh = importlib.import_module(module.__name__)
    missing = [name for name in module.__all__ if not hasattr(fresh, name)]
    assert missing == []
    namespace: dict[str, object] = {}
    exec(f"from {module.__name__} import *", namespace)
    assert set(module.__all__) <= set(namespace)


def test_core_names_are_reexported_unchanged() -> None:
    """A name exported by both the package and its core is the same object."""
    shared = set(django_event_system.__all__) & set(django_event_system.core.__all__)
    assert {"Dispatcher", "Event", "EventListener", "GetPathFromClass"} <= shared
    for name in shared:
        assert getattr(django_event_system, name) is getattr(django_event_system.core, name), name


def test_legacy_events_module_path() -> None:
    """``from django_event_system.events import Dispatcher`` (the 1.0 path) gives the same objects."""
    from django_event_system import events

    assert events.Dispatcher is Dispatcher
    assert events.Event is Event


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("register_handler", "RegisterHandler"),
        ("dispatch", "Dispatch"),
        ("clear_queue", "ClearQueue"),
        ("ensure_queue_is_cleared", "EnsureQueueIsCleared"),
        ("reset", "Reset"),
    ],
)
def test_dispatcher_aliases_are_the_same_methods(alias: str, name: str) -> None:
    """Each PEP 8 alias of a Dispatcher method is the very same function."""
    assert getattr(EventDispatcher, alias) is getattr(EventDispatcher, name)
    assert getattr(Dispatcher, alias) == getattr(Dispatcher, name)


@pytest.mark.parametrize(("alias", "name"), [("get_event_name", "GetEventName"), ("add_listener", "AddListener")])
def test_event_aliases_are_the_same_methods(alias: str, name: str) -> None:
    """Each PEP 8 alias of an Event class method is the very same method."""
    assert vars(Event)[alias] is vars(Event)[name]


def test_path_alias_is_the_same_function() -> None:
    """``get_path_from_class`` is ``GetPathFromClass``."""
    assert get_path_from_class is GetPathFromClass


class Pinged(Event):
    Name = "exports::pinged"


def test_aliases_behave_like_the_1_0_names(dispatcher: EventDispatcher, monkeypatch: pytest.MonkeyPatch) -> None:
    """Registering, dispatching and draining through the PEP 8 names works like the 1.0 names."""
    monkeypatch.setattr(Event, "dispatcher", dispatcher)
    received: list[tuple[str, object]] = []
    registration = dispatcher.register_handler("exports::.*", lambda name, *args: received.append((name, args)))
    listener = Pinged.add_listener(lambda name, event: received.append(("listener", event)))

    @dispatcher.ensure_queue_is_cleared
    def work() -> Pinged:
        dispatcher.dispatch("exports::named", 1)
        return Pinged.dispatch()

    pinged = work()
    assert Pinged.get_event_name() == "exports::pinged"
    assert received == [("exports::named", (1,)), ("exports::pinged", (pinged,)), ("listener", pinged)]
    registration.cancel()
    listener.cancel()
    dispatcher.dispatch("exports::named")
    dispatcher.clear_queue()
    assert len(received) == 3
