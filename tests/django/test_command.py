"""Tests for ``manage.py events list`` and ``manage.py events match NAME``."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.dispatch import Signal

from django_event_system import Dispatcher, EventListener, Observer, RegisterSignalsFor, SignalToEvent

from .testapp.models import Example, Place

EXAMPLE = "events::db::tests::django::testapp::models::Example"

shipped = Signal()


def run(*args: str) -> str:
    """Run the command and return what it printed."""
    out = StringIO()
    call_command("events", *args, stdout=out, no_color=True)
    return out.getvalue()


def audit(name: str, *args: object) -> None:
    """A plain function handler."""


def test_list_shows_patterns_handlers_options_models_and_signals() -> None:
    """Each pattern is listed with its handlers (module:qualname), priority and options."""

    class Committed(Observer[Example]):
        observes = Example
        after_commit = True
        priority = 5

        def created(self, event_name: str, instance: Example) -> None: ...

    class AllModels(EventListener):
        listensFor = ["events::db::(.*)::created"]

        def handle(self, event: str, instance: object) -> None: ...

    RegisterSignalsFor(Place)
    SignalToEvent(shipped, event="orders::shipped")
    Dispatcher.RegisterHandler("orders::.*", audit, once=True, priority=-1)
    try:
        output = run("list")
    finally:
        AllModels.unregister()
    local = "tests.django.test_command:test_list_shows_patterns_handlers_options_models_and_signals.<locals>"
    assert f"  {EXAMPLE}::created\n      {local}.Committed.created  priority=5  after_commit\n" in output
    assert f"  events::db::(.*)::created\n      {local}.AllModels.handle  priority=0\n" in output
    assert "  orders::.*\n      tests.django.test_command:audit  priority=-1  once\n" in output
    assert f"  testapp.Example  {EXAMPLE}::<action>  ({local}.Committed)  track_changes\n" in output
    assert (
        "  testapp.Place  events::db::tests::django::testapp::models::Place::<action>  (RegisterSignalsFor)" in output
    )
    assert "  tests.django.test_command.shipped -> orders::shipped\n" in output
    assert output.index("Handlers (") < output.index("Models that dispatch") < output.index("Signals mapped")


def test_match_lists_the_handlers_in_the_order_they_run() -> None:
    """``match NAME`` numbers the handlers that NAME reaches, by priority then registration."""
    Dispatcher.RegisterHandler("orders::.*", audit)
    Dispatcher.RegisterHandler("orders::paid", audit, priority=10)
    Dispatcher.RegisterHandler("other::.*", audit)
    output = run("match", "orders::paid")
    assert output == (
        "'orders::paid' reaches 2 handlers, in this order:\n"
        "  1. tests.django.test_command:audit  (pattern 'orders::paid', priority=10)\n"
        "  2. tests.django.test_command:audit  (pattern 'orders::.*', priority=0)\n"
    )


def test_match_without_handlers_says_so() -> None:
    """A name that no pattern matches is reported as such."""
    assert run("match", "nobody::listens") == "No handler receives 'nobody::listens'.\n"


def test_match_needs_a_name() -> None:
    """``match`` without a name is a usage error."""
    with pytest.raises(CommandError, match=r"the following arguments are required: name"):
        call_command("events", "match")


def test_match_rejects_an_empty_name() -> None:
    """An empty name is refused with an example of a name."""
    with pytest.raises(CommandError, match=r"give an event name, e.g. events::db::shop::models::Order::created"):
        call_command("events", "match", "")


def test_subcommand_is_required() -> None:
    """``events`` alone is a usage error naming the subcommands."""
    with pytest.raises(CommandError, match=r"the following arguments are required: \{list,match\}"):
        call_command("events")
