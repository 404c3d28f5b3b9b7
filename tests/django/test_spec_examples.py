"""The 1.0 README's Django examples run as written, with ``events`` renamed ``django_event_system``.

``my.models`` stands for the test app's models and ``some.signals`` for a module with a signal.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.dispatch import Signal

from django_event_system import Dispatcher, Event
from django_event_system.django import _signals

from .testapp import models

pytestmark = pytest.mark.django_db

OBSERVER_EXAMPLE = """
from django_event_system import Observer
from my.models import Example

class ExampleModelObserver(Observer):
    observes = Example
    
    def creating(self, eventName, example):
        print('creating a Example with name:', example.name)

    def created(self, eventName, example):
        print('created a Example with name:', example.name)

    def updating(self, eventName, example):
        print('updating a Example with name:', example.name)

    def updated(self, eventName, example):
        print('updated a Example with name:', example.name)

    def deleting(self, eventName, example):
        print('deleting a Example with name:', example.name)

    def deleted(self, eventName, example):
        print('deleted a Example with name:', example.name)
"""  # noqa: W293 - as written in the README

LISTENER_EXAMPLE = """
from django_event_system import EventListener

class ExampleEventListener(EventListener):
    listensFor = [
        'events::db::(.*)::created',
    ]

    def handle(self, event, example):
        print("An Example was created:", example)
        pass
    pass
"""

REGISTER_EXAMPLE = """
from django_event_system import RegisterSignalsFor
from my.models import Example

RegisterSignalsFor(Example)
"""

APPS_EXAMPLE = """
from django.apps import AppConfig

class MyAppConfig(AppConfig):
    name = 'myapp'

    def ready(self):
        import myapp.observers      
"""  # noqa: W291 - as written in the README

SIGNAL_EXAMPLE = """
from django_event_system import SignalToEvent
from some.signals import signal

SignalToEvent(signal, event='event::from::signal')

# OR

SignalToEvent(signal, event=ExampleEvent)
"""

SENDER_EXAMPLE = """
SignalToEvent(signal, event=ExampleEvent, sender=SomeSender)
"""

HOOK_EXAMPLE = """
def hook(*args, **kwargs):
    if args[0] == 1:
        return 'event::when::1'
    elif args[1] == 2:
        return 'event::when::2'
    return 'event::when::none'
    
SignalToEvent(signal, hook=hook)
"""  # noqa: W293 - as written in the README


class ExampleEvent(Event):
    """The README's ``ExampleEvent``: it takes what the signal sends."""

    def __init__(self, **kwargs: object) -> None:
        self.kwargs = kwargs


class SomeSender:
    """The README's ``SomeSender``."""


@pytest.fixture
def readme_modules() -> Iterator[Signal]:
    """``my.models`` (the test app's models) and ``some.signals`` (with ``signal``), importable."""
    signal = Signal()
    modules = {
        "my": types.ModuleType("my"),
        "my.models": models,
        "some": types.ModuleType("some"),
        "some.signals": types.ModuleType("some.signals"),
    }
    modules["some.signals"].signal = signal  # type: ignore[attr-defined]
    sys.modules.update(modules)
    yield signal
    for name in modules:
        sys.modules.pop(name, None)


def run(code: str, namespace: dict[str, object] | None = None) -> dict[str, object]:
    """Execute a README example; return its namespace."""
    scope: dict[str, object] = {"__name__": "readme_example", **(namespace or {})}
    exec(compile(code, "<README>", "exec"), scope)
    return scope


def test_observer_example(
    readme_modules: Signal, capsys: pytest.CaptureFixture[str], drain: Callable[[], None]
) -> None:
    """The Observer example prints each step of an Example's life, once the queue is drained."""
    run(OBSERVER_EXAMPLE)
    example = models.Example.objects.create(name="spec")
    example.save()
    example.delete()
    assert capsys.readouterr().out == ""
    drain()
    assert capsys.readouterr().out.splitlines() == [
        "creating a Example with name: spec",
        "created a Example with name: spec",
        "updating a Example with name: spec",
        "updated a Example with name: spec",
        "deleting a Example with name: spec",
        "deleted a Example with name: spec",
    ]


def test_listener_for_any_created_model(
    readme_modules: Signal, capsys: pytest.CaptureFixture[str], drain: Callable[[], None]
) -> None:
    """The ``events::db::(.*)::created`` listener gets the instance of any observed model."""
    scope = run(LISTENER_EXAMPLE)
    run(REGISTER_EXAMPLE)
    try:
        models.Example.objects.create(name="listened")
        drain()
    finally:
        scope["ExampleEventListener"].unregister()  # type: ignore[attr-defined]
    assert capsys.readouterr().out == "An Example was created: listened\n"


def test_register_signals_for_example(readme_modules: Signal, drain: Callable[[], None]) -> None:
    """After ``RegisterSignalsFor(Example)`` an Example without an Observer dispatches its events."""
    names: list[str] = []
    run(REGISTER_EXAMPLE)
    with Dispatcher.RegisterHandler("events::db::.*", lambda name, instance: names.append(name)):
        models.Example.objects.create(name="mapped")
        drain()
    assert "events::db::tests::django::testapp::models::Example::created" in names


def test_apps_ready_example(readme_modules: Signal) -> None:
    """The ``ready()`` that imports the observers, and ``default_app_config``, still work."""
    observers = types.ModuleType("myapp.observers")
    sys.modules.update({"myapp": types.ModuleType("myapp"), "myapp.observers": observers})
    try:
        scope = run(APPS_EXAMPLE)
        scope["default_app_config"] = "myapp.apps.MyAppConfig"  # the README's __init__.py line, harmless
        config_class: Any = scope["MyAppConfig"]
        config = config_class.__new__(config_class)  # ready() is all the example defines
        config.ready()
    finally:
        sys.modules.pop("myapp", None)
        sys.modules.pop("myapp.observers", None)


def test_signal_to_event_examples(readme_modules: Signal, drain: Callable[[], None]) -> None:
    """A signal mapped to a name and to an Event class dispatches both; a sender filters."""
    received: list[tuple[str, object]] = []
    namespace: dict[str, object] = {"ExampleEvent": ExampleEvent, "SomeSender": SomeSender}
    scope = run(SIGNAL_EXAMPLE, namespace)
    run(SENDER_EXAMPLE, scope)
    signal = readme_modules
    with (
        Dispatcher.RegisterHandler("event::from::signal", lambda name, sender, **k: received.append((name, sender))),
        Dispatcher.RegisterHandler(ExampleEvent, lambda name, event: received.append(("ExampleEvent", event))),
    ):
        signal.send(sender=SomeSender, value=1)
        signal.send(sender=None, value=2)
        drain()
    assert [name for name, _ in received].count("event::from::signal") == 2
    example_events = [event for name, event in received if name == "ExampleEvent"]
    # Once for every send (no sender filter), once more for SomeSender's (the sender-filtered mapping).
    assert len(example_events) == 3
    assert all(isinstance(event, ExampleEvent) for event in example_events)


def test_hook_example(readme_modules: Signal, drain: Callable[[], None]) -> None:
    """The hook example picks the event name from the sender (the hook gets ``(sender, **kwargs)``).

    Its ``args[1]`` branch only runs for another sender, where ``args`` has no second item: the
    example's own slip, since a Django signal sends nothing positional but the sender.
    """
    names: list[str] = []
    scope = run(SIGNAL_EXAMPLE, {"ExampleEvent": ExampleEvent})
    for mapping in list(_signals._mappings.values()):
        mapping.disconnect()
    run(HOOK_EXAMPLE, scope)
    signal = readme_modules
    with Dispatcher.RegisterHandler("event::when::.*", lambda name, *a, **k: names.append(name)):
        signal.send(sender=1)
        drain()
    assert names == ["event::when::1"]
