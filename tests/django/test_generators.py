"""Tests for ``manage.py events make``'s refusals: each bad input, with its message, and nothing written.

The stubs themselves are tested in a project of their own (``test_generators_project.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from django_event_system.django._generators import _add_imports

TESTAPP = Path(apps.get_app_config("testapp").path)


def make(*args: str) -> None:
    call_command("events", "make", *args)


@pytest.fixture(autouse=True)
def _nothing_written() -> object:
    before = sorted(path.name for path in TESTAPP.iterdir())
    yield None
    assert sorted(path.name for path in TESTAPP.iterdir()) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["event", "OrderPlaced", "--app", "testap"],
            "no installed app is labelled 'testap' (did you mean 'testapp'?); give --app one of: auth, "
            "contenttypes, django_event_system, sessions, testapp",
        ),
        (
            ["evnt", "OrderPlaced", "--app", "testapp"],
            "cannot make 'evnt' (did you mean 'event'?); give one of: event, listener, observer, subscriber",
        ),
        (
            ["event", "order_placed", "--app", "testapp"],
            "the event's name must be a class name in CamelCase, a Python identifier starting with a capital "
            "letter (like 'OrderPlaced'), not 'order_placed'",
        ),
        (
            ["listener", "class", "--app", "testapp"],
            "the listener's name must be a class name in CamelCase, a Python identifier starting with a capital "
            "letter (like 'Class'), not 'class'",
        ),
        (
            ["observer", "ExampleObserver", "--app", "testapp"],
            "an observer needs --model, one of the app's models: ",
        ),
        (
            ["observer", "ExampleObserver", "--app", "testapp", "--model", "Exampel"],
            "app 'testapp' has no model 'Exampel' (did you mean 'Example'?); its models: ",
        ),
        (
            ["observer", "ExampleObserver", "--app", "testapp", "--model", "sessions.Exampel"],
            "app 'sessions' has no model 'Exampel'",
        ),
        (
            ["observer", "ExampleObserver", "--app", "testapp", "--model", "Example", "--actions", "created,updatd"],
            "unknown action 'updatd' (did you mean 'updated'?); the actions are: creating, created, updating, "
            "updated, saving, saved, deleting, deleted, bulk_created, bulk_updated, queryset_updated, m2m_added, "
            "m2m_removed, m2m_cleared",
        ),
        (
            ["observer", "ExampleObserver", "--app", "testapp", "--model", "Example", "--actions", " , "],
            "--actions lists no action: give some of creating, created",
        ),
        (["event", "OrderPlaced", "--app", "testapp", "--model", "Example"], "--model is for observers; "),
        (["listener", "Audit", "--app", "testapp", "--actions", "created"], "--actions is for observers; "),
        (
            ["event", "OrderPlaced", "--app", "testapp", "--event", "Other"],
            "--event is for listeners and subscribers; an event does not take it",
        ),
        (
            ["listener", "Audit", "--app", "testapp", "--event", "OrderPlaced"],
            "--event 'OrderPlaced': cannot import 'tests.django.testapp.events' (No module named "
            "'tests.django.testapp.events'); make the event first (events make event OrderPlaced --app testapp) "
            "or give its dotted path, like 'shop.events.OrderPlaced'",
        ),
        (
            ["listener", "Audit", "--app", "testapp", "--event", "tests.django.test_debug_toolbar.OrderPlacd"],
            "tests.django.test_debug_toolbar has no Event class 'OrderPlacd' (did you mean 'OrderPlaced'?); "
            "its Event classes: OrderPlaced",
        ),
    ],
    ids=lambda value: value[0] if isinstance(value, list) else None,
)
def test_bad_input_is_refused_with_what_to_do(args: list[str], message: str) -> None:
    """Each mistake names what was wrong (quoted) and what to give instead; nothing is written."""
    with pytest.raises(CommandError) as raised:
        make(*args)
    assert str(raised.value).startswith(message), str(raised.value)


def test_the_message_for_a_kind_without_a_model_says_so() -> None:
    """``an observer needs --model`` lists the app's models."""
    with pytest.raises(CommandError) as raised:
        make("observer", "ExampleObserver", "--app", "testapp")
    assert "Example" in str(raised.value)


def test_imports_go_where_isort_puts_them() -> None:
    """An import of the same module is extended; a new one lands in its section, in order."""
    text = '"""Doc."""\n\nfrom __future__ import annotations\n\nimport os\n\nfrom django_event_system import Event\n'
    assert _add_imports(text, [("django_event_system", "EventListener"), (".models", "Order"), (".events", "A")]) == (
        '"""Doc."""\n\nfrom __future__ import annotations\n\nimport os\n\n'
        "from django_event_system import Event, EventListener\n\nfrom .events import A\nfrom .models import Order\n"
    )
    bare = '"""Doc."""\n'
    assert _add_imports(bare, [("django_event_system", "on"), ("django_event_system", "EventSubscriber")]) == (
        '"""Doc."""\n\nfrom django_event_system import EventSubscriber, on\n'
    )
    before_local = "from .models import Order\n"
    assert _add_imports(before_local, [("django_event_system", "Observer")]) == (
        "from django_event_system import Observer\n\nfrom .models import Order\n"
    )
