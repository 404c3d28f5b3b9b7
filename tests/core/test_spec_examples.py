"""The 1.0 README's core examples run as written, with ``events`` renamed ``django_event_system``.

Each runs in a fresh interpreter, next to a ``my`` package like the one the examples import from.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scripts import run_script

MY_EVENTS = """
from django_event_system import Event

class ExampleEvent(Event):
    pass
"""


def run(code: str, tmp_path: Path) -> str:
    """Run ``code`` as a script beside a ``my.events`` module and return what it printed."""
    (tmp_path / "my").mkdir()
    (tmp_path / "my" / "__init__.py").write_text("")
    (tmp_path / "my" / "events.py").write_text(MY_EVENTS)
    return run_script(code, tmp_path, timeout=60, name="example.py", allow_tracebacks=False)


def test_register_handler_and_dispatch(tmp_path: Path) -> None:
    """'Registering Event Handlers' and 'Dispatching events': exact and regex patterns, with arguments."""
    out = run(
        """
        def handler(*args, **kwargs):
            print("handled", args, kwargs)

        from django_event_system import Dispatcher

        Dispatcher.RegisterHandler('event::name', handler)

        from django_event_system import Dispatcher

        Dispatcher.RegisterHandler('event::name(.*)', handler)

        Dispatcher.Dispatch('event::name')
        Dispatcher.Dispatch('event::name', 1, 2, key='value')
        Dispatcher.Dispatch('event::name::some_event')
        Dispatcher.Dispatch('event::name:some::other::event')
        Dispatcher.Dispatch('event::other')
        """,
        tmp_path,
    )
    assert out.splitlines() == [
        "handled ('event::name',) {}",
        "handled ('event::name',) {}",
        "handled ('event::name', 1, 2) {'key': 'value'}",
        "handled ('event::name', 1, 2) {'key': 'value'}",
        "handled ('event::name::some_event',) {}",
        "handled ('event::name:some::other::event',) {}",
    ]


def test_clearing_the_queue(tmp_path: Path) -> None:
    """'Clearing the queue': EnsureQueueIsCleared runs the function, then clears the queue."""
    out = run(
        """
        from django_event_system import Dispatcher

        Dispatcher.RegisterHandler('event::name', lambda name: print('handled', name))

        @Dispatcher.EnsureQueueIsCleared
        def view():
            Dispatcher.Dispatch('event::name')
            print('view returns')
            return 'response'

        print(view())
        Dispatcher.Dispatch('event::name')
        Dispatcher.ClearQueue()
        print('cleared')
        """,
        tmp_path,
    )
    assert out.splitlines() == ["view returns", "handled event::name", "response", "handled event::name", "cleared"]


def test_event_class_names_and_payloads(tmp_path: Path) -> None:
    """'The Event class': the module-path name, ``Name``, and a hand-written ``__init__``."""
    out = run(
        """
        from django_event_system import Dispatcher, Event

        class ExampleEvent(Event):
            pass

        print(str(ExampleEvent))

        class ExampleEvent(Event):
            Name = "ExampleEvent"
            pass

        print(str(ExampleEvent))

        class PayloadEvent(Event):
            def __init__(self, name, value, something):
                self.name = name
                self.value = value
                self.something = something
                pass
            pass

        Dispatcher.RegisterHandler('.*', lambda name, event: print(name, vars(event)))
        ExampleEvent.Dispatch()
        PayloadEvent.Dispatch('name', 'value', 'something')
        """,
        tmp_path,
    )
    assert out.splitlines() == [
        "__main__::ExampleEvent",
        "ExampleEvent",
        "ExampleEvent {}",
        "__main__::PayloadEvent {'name': 'name', 'value': 'value', 'something': 'something'}",
    ]


def test_event_listener_examples(tmp_path: Path) -> None:
    """'The EventListener class': an Event class listener and a '.*' listener, as the 1.0 README writes them."""
    out = run(
        """
        from django_event_system import EventListener
        from my.events import ExampleEvent

        class ExampleEventListener(EventListener):
            listensFor = [
                ExampleEvent,
            ]

            def handle(self, event):
                # handle the event here
                print("ExampleEventListener got", type(event).__name__)
                pass
            pass

        from django_event_system import EventListener

        class ExampleEventListener(EventListener):
            listensFor = [
                '.*',
            ]

            def handle(self, event, *args, **kwargs):
                print("Event was dispatched: ", event)
                pass
            pass

        from django_event_system import Dispatcher

        ExampleEvent.Dispatch()
        Dispatcher.Dispatch('some::string::event', 1)
        """,
        tmp_path,
    )
    assert out.splitlines() == [
        "ExampleEventListener got ExampleEvent",
        "Event was dispatched:  my::events::ExampleEvent",
        "Event was dispatched:  some::string::event",
    ]


@pytest.mark.parametrize("module", ["django_event_system", "django_event_system.events"])
def test_the_1_0_import_paths(module: str, tmp_path: Path) -> None:
    """Both ``django_event_system`` and the 1.0 ``.events`` path give the same public objects."""
    out = run(
        f"""
        import django_event_system
        from {module} import Dispatcher, Event, EventListener, GetPathFromClass
        assert Dispatcher is django_event_system.Dispatcher
        assert Event is django_event_system.Event
        assert EventListener is django_event_system.EventListener
        print(GetPathFromClass(Event))
        """,
        tmp_path,
    )
    assert out.strip() == "django_event_system::core::_event::Event"
