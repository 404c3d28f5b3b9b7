"""Tests for model events that nothing can receive: not dispatched, and dispatched again as soon as something can.

A bound model asks each dispatcher, at every save and delete, whether a handler matches the
event's name or something intercepts its dispatches; only then is the event built and queued.
These tests spy on ``Dispatch`` to see which events were dispatched at all, and check that
whatever can receive an event (handlers of every kind, added at any time, and the testing
helpers) still gets it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import transaction

from django_event_system import Dispatcher, EventListener, Observer, RegisterSignalsFor
from django_event_system.core import EventDispatcher, InMemoryTransport, using_transport
from django_event_system.core.integration import HandlerWrapper
from django_event_system.django._models import bind
from django_event_system.testing import EventRecorder, fake, fake_transport, muted, record_events

from .testapp.models import Example

pytestmark = pytest.mark.django_db

EXAMPLE = "events::db::tests::django::testapp::models::Example"


def spy_on(dispatcher: EventDispatcher, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The actions of the model events handed to ``dispatcher`` from now on, in order: through
    ``Dispatch``, or ``deliver_to`` for the share held until a commit."""
    actions: list[str] = []
    dispatch, deliver_to = dispatcher.Dispatch, dispatcher.deliver_to

    def note(name: object) -> None:
        if isinstance(name, str) and name.startswith(EXAMPLE):
            actions.append(name.removeprefix(f"{EXAMPLE}::"))

    def spy_dispatch(event: Any, /, *args: Any, **kwargs: Any) -> Any:
        note(event)
        return dispatch(event, *args, **kwargs)

    def spy_deliver_to(callbacks: Any, name: str, *args: Any, **kwargs: Any) -> bool:
        note(name)
        return deliver_to(callbacks, name, *args, **kwargs)

    monkeypatch.setattr(dispatcher, "Dispatch", spy_dispatch)
    monkeypatch.setattr(dispatcher, "deliver_to", spy_deliver_to)
    return actions


@pytest.fixture
def dispatched(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The actions of the model events handed to ``Dispatcher`` during the test (see :func:`spy_on`)."""
    return spy_on(Dispatcher, monkeypatch)


@pytest.fixture
def created_calls() -> list[str]:
    """What an Observer of Example that defines ``created`` alone is called with: ``created:<name>``."""
    calls: list[str] = []

    class CreatedOnly(Observer[Example]):
        observes = Example

        def created(self, event_name: str, instance: Example) -> None:
            calls.append(f"created:{instance.name}")

    return calls


def test_a_save_dispatches_only_the_events_that_have_handlers(
    drain: Callable[[], None], dispatched: list[str], created_calls: list[str]
) -> None:
    """An Observer with ``created`` alone: a create dispatches ``created``; an update or a delete, nothing."""
    example = Example.objects.create(name="one")
    drain()
    example.name = "two"
    example.save()
    example.delete()
    drain()
    assert dispatched == ["created"]
    assert created_calls == ["created:one"]


def test_a_handler_added_after_a_first_save_gets_the_next_events(
    drain: Callable[[], None], dispatched: list[str], created_calls: list[str]
) -> None:
    """Registering a handler for an event the model never dispatched makes the next save dispatch it."""
    example = Example.objects.create(name="first")
    drain()
    seen: list[str] = []
    Dispatcher.RegisterHandler(f"{EXAMPLE}::(updated|saved)", lambda name, instance: seen.append(name))
    example.name = "second"
    example.save()
    drain()
    assert dispatched == ["created", "updated", "saved"]
    assert seen == [f"{EXAMPLE}::updated", f"{EXAMPLE}::saved"]


def test_an_event_listener_added_later_gets_its_events(drain: Callable[[], None]) -> None:
    """An EventListener class with a pattern, defined after the model's first save, gets the next one."""
    RegisterSignalsFor(Example)
    Example.objects.create(name="before")
    drain()
    seen: list[str] = []

    class Deletions(EventListener):
        listensFor = [rf"{EXAMPLE}::delet(ing|ed)"]

        def handle(self, event_name: str, instance: Example) -> None:
            seen.append(f"{event_name.rsplit('::', 1)[1]}:{instance.name}")

    try:
        Example.objects.get(name="before").delete()
        drain()
    finally:
        Deletions.unregister()
    assert seen == ["deleting:before", "deleted:before"]


def test_removing_the_last_handler_of_an_event_stops_its_dispatch(
    drain: Callable[[], None], dispatched: list[str], created_calls: list[str]
) -> None:
    """Once its last handler is cancelled, an event is no longer dispatched; the others still are."""
    saved = Dispatcher.RegisterHandler(f"{EXAMPLE}::saved", lambda name, instance: None)
    also_saved = Dispatcher.RegisterHandler(f"{EXAMPLE}::save[d]", lambda name, instance: None)
    Example.objects.create(name="with")
    saved.cancel()
    Example.objects.create(name="one left")
    also_saved.cancel()
    Example.objects.create(name="without")
    drain()
    assert dispatched == ["created", "saved", "created", "saved", "created"]
    assert created_calls == ["created:with", "created:one left", "created:without"]


def test_a_recorder_sees_every_model_event_even_without_handlers(drain: Callable[[], None]) -> None:
    """``record_events()`` sees the four events of a create that no handler receives."""
    RegisterSignalsFor(Example)
    with record_events() as events:
        Example.objects.create(name="recorded")
    assert events.names == [f"{EXAMPLE}::{action}" for action in ("creating", "saving", "created", "saved")]


def test_the_pytest_fixture_sees_model_events_without_handlers(dispatched_events: EventRecorder) -> None:
    """The ``dispatched_events`` fixture records model events that nothing handles."""
    RegisterSignalsFor(Example)
    Example.objects.create(name="fixture")
    dispatched_events.assert_dispatched(f"{EXAMPLE}::created", times=1)
    dispatched_events.assert_dispatched(f"{EXAMPLE}::saving", times=1)


def test_fake_and_muted_record_model_events_without_handlers() -> None:
    """``fake(target)`` and ``muted()`` record the model events they are given, handled or not."""
    RegisterSignalsFor(Example)
    with fake(f"{EXAMPLE}::created") as faked:
        Example.objects.create(name="faked")
    faked.assert_dispatched(f"{EXAMPLE}::created", times=1, status="withheld")
    with muted() as silenced:
        Example.objects.get(name="faked").delete()
    silenced.assert_dispatched(f"{EXAMPLE}::deleted", times=1, status="withheld")


@Dispatcher.MocksDispatch
def test_expect_is_met_by_a_model_event_without_handlers() -> None:
    """Inside ``MocksDispatch``, ``Expect`` of a model event nothing handles is met by the save."""
    RegisterSignalsFor(Example)
    Dispatcher.Expect(f"{EXAMPLE}::updating")
    example = Example.objects.create(name="mocked")
    example.name = "renamed"
    example.save()


def test_an_interceptor_sees_model_events_without_handlers(drain: Callable[[], None]) -> None:
    """``Dispatcher.intercept()`` is shown every model event; once cancelled, they stop."""
    RegisterSignalsFor(Example)
    shown: list[str] = []

    def interceptor(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], event: object) -> bool:
        if name.startswith(EXAMPLE):
            shown.append(name.removeprefix(f"{EXAMPLE}::"))
        return False

    interception = Dispatcher.intercept(interceptor)
    try:
        Example.objects.create(name="shown")
    finally:
        interception.cancel()
    Example.objects.create(name="not shown")
    drain()
    assert shown == ["creating", "saving", "created", "saved"]


def record_saved_example(event_name: str, instance: Example) -> None:
    """A queued handler (module level, so that a worker finds it by name)."""


@pytest.fixture
def bus() -> Iterator[EventDispatcher]:
    """A dispatcher of the test's own: the queued handlers' dispatch check, once installed, stays."""
    dispatcher = EventDispatcher()
    yield dispatcher
    dispatcher.ClearQueue(timeout=10)
    dispatcher.registry.clear()


@pytest.mark.django_db(transaction=True)
def test_a_queued_handler_gets_its_model_event_and_the_others_are_still_skipped(
    bus: EventDispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A queued handler of ``saved`` gets one message per save; the events without handlers are not
    dispatched, though the queued handlers' dispatch check now intercepts the dispatcher."""
    RegisterSignalsFor(Example, dispatcher=bus)
    dispatched = spy_on(bus, monkeypatch)
    bus.RegisterHandler(f"{EXAMPLE}::saved", record_saved_example, queued=True)
    assert bus._interceptors  # the dispatch check
    with fake_transport() as transport:
        Example.objects.create(name="queued")
        bus.ClearQueue(timeout=10)
    assert dispatched == ["saved"]
    assert [message.event_name for message in transport.messages] == [f"{EXAMPLE}::saved"]


@pytest.mark.django_db(transaction=True)
def test_an_after_commit_handler_gets_its_model_event_after_the_commit(
    bus: EventDispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An after-commit handler of ``created`` gets it once the transaction commits; ``saved``, which
    nothing handles, is not dispatched, though the commit gate now intercepts the dispatcher."""
    RegisterSignalsFor(Example, dispatcher=bus)
    dispatched = spy_on(bus, monkeypatch)
    seen: list[str] = []
    bus.RegisterHandler(f"{EXAMPLE}::created", lambda name, instance: seen.append(instance.name), after_commit=True)
    bus.RegisterHandler("elsewhere::paid", lambda name: None, after_commit=True)  # installs the commit gate
    assert bus._interceptors
    with using_transport(InMemoryTransport()), transaction.atomic():
        Example.objects.create(name="committed")
        bus.ClearQueue(timeout=10)
        assert seen == []
    bus.ClearQueue(timeout=10)
    assert seen == ["committed"]
    assert dispatched == ["created"]


class _Switch(HandlerWrapper):
    """A handler whose ``after_commit`` changes while it stays registered, as a queued handler's
    follows the configuration."""

    __slots__ = ("seen", "waits")

    def __init__(self) -> None:
        super().__init__(self, "tests:switch")
        self.waits = False
        self.seen: list[str] = []

    @property
    def after_commit(self) -> bool:
        return self.waits

    def __call__(self, name: str, /, *args: object, **kwargs: object) -> object:
        instance = args[0]
        assert isinstance(instance, Example)
        self.seen.append(instance.name)
        return None


@pytest.mark.django_db(transaction=True)
def test_a_handler_after_commit_is_asked_at_each_save(bus: EventDispatcher) -> None:
    """The plan of a save is kept while the registrations do not change, but whether a handler
    waits for the commit is asked again at each save."""
    RegisterSignalsFor(Example, dispatcher=bus)
    switch = _Switch()
    bus.RegisterHandler(f"{EXAMPLE}::created", switch)
    with transaction.atomic():
        Example.objects.create(name="at once")
        bus.ClearQueue(timeout=10)
        assert switch.seen == ["at once"]
        switch.waits = True
        Example.objects.create(name="after the commit")
        bus.ClearQueue(timeout=10)
        assert switch.seen == ["at once"]
    bus.ClearQueue(timeout=10)
    assert switch.seen == ["at once", "after the commit"]


class _Waiting(HandlerWrapper):
    """A handler that waits for the commit and counts how often it is asked whether it does."""

    __slots__ = ("asked", "seen")

    def __init__(self) -> None:
        super().__init__(self, "tests:waiting")
        self.asked = 0
        self.seen: list[str] = []

    @property
    def after_commit(self) -> bool:
        self.asked += 1
        return True

    def __call__(self, name: str, /, *args: object, **kwargs: object) -> object:
        instance = args[0]
        assert isinstance(instance, Example)
        self.seen.append(instance.name)
        return None


class _Fixed(_Waiting):
    """The same, saying that its ``after_commit`` never changes."""

    __slots__ = ()

    fixed_after_commit = True


def _asked_per_saves(bus: EventDispatcher, handler: _Waiting, saves: int) -> int:
    """How often ``handler`` is asked about the commit over ``saves`` creates in a transaction
    (after a first save has made the plan); each create reaches it after the commit."""
    registration = bus.RegisterHandler(f"{EXAMPLE}::created", handler)
    with transaction.atomic():
        Example.objects.create(name="plan")
    bus.ClearQueue(timeout=10)
    before = handler.asked
    with transaction.atomic():
        for number in range(saves):
            Example.objects.create(name=f"save {number}")
        bus.ClearQueue(timeout=10)
        assert handler.seen == ["plan"]  # held until the commit
    bus.ClearQueue(timeout=10)
    assert handler.seen == ["plan", *(f"save {number}" for number in range(saves))]
    registration.cancel()
    return handler.asked - before


@pytest.mark.django_db(transaction=True)
def test_a_fixed_after_commit_is_asked_when_the_plan_is_made(bus: EventDispatcher) -> None:
    """A wrapper whose ``after_commit`` is fixed is asked when the plan is made, not again at each
    save as another wrapper is (the commit gate, which holds the event, asks both alike), and its
    events still wait for the commit."""
    RegisterSignalsFor(Example, dispatcher=bus)
    changing = _asked_per_saves(bus, _Waiting(), 3)
    fixed = _asked_per_saves(bus, _Fixed(), 3)
    assert fixed == changing - 3


def test_each_dispatcher_dispatches_only_what_its_own_handlers_receive(
    bus: EventDispatcher,
    drain: Callable[[], None],
    dispatched: list[str],
    created_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a model bound to two dispatchers, each one is asked about its own handlers."""
    on_bus = spy_on(bus, monkeypatch)
    RegisterSignalsFor(Example, dispatcher=bus)
    seen: list[str] = []
    bus.RegisterHandler(f"{EXAMPLE}::saved", lambda name, instance: seen.append(instance.name))
    Example.objects.create(name="both")
    drain()
    bus.ClearQueue(timeout=10)
    assert dispatched == ["created"]
    assert on_bus == ["saved"]
    assert created_calls == ["created:both"]
    assert seen == ["both"]


# -- receivers connected only while their events can be received ------------------------------


def test_receivers_without_events_to_dispatch_are_disconnected_after_a_save(
    drain: Callable[[], None], created_calls: list[str]
) -> None:
    """With ``created`` alone handled, the first save leaves only ``post_save`` connected, so a
    ``QuerySet.delete()`` of the model is Django's fast delete again: one query, no row fetched."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    binding = bind(Example)
    assert binding.receivers == {"pre_save", "post_save", "pre_delete", "post_delete"}
    Example.objects.create(name="first")
    drain()
    assert binding.receivers == {"post_save"}
    assert created_calls == ["created:first"]
    with CaptureQueriesContext(connection) as queries:
        Example.objects.filter(name="first").delete()
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["DELETE"]


def test_a_handler_of_a_disconnected_receiver_reconnects_it_at_once(
    drain: Callable[[], None], dispatched: list[str], created_calls: list[str]
) -> None:
    """Registering a ``creating`` or ``deleted`` handler after the receivers were trimmed
    connects them again before the next save, which dispatches those events."""
    binding = bind(Example)
    example = Example.objects.create(name="first")
    drain()
    assert binding.receivers == {"post_save"}
    seen: list[str] = []
    with Dispatcher.RegisterHandler(f"{EXAMPLE}::(creating|deleted)", lambda name, instance: seen.append(name)):
        assert binding.receivers == {"pre_save", "post_save", "pre_delete", "post_delete"}
        Example.objects.create(name="second")
        example.delete()
        drain()
        assert binding.receivers == {"pre_save", "post_save", "post_delete"}
    assert dispatched == ["created", "creating", "created", "deleted"]
    assert seen == [f"{EXAMPLE}::creating", f"{EXAMPLE}::deleted"]


def test_a_recorder_started_after_the_receivers_were_trimmed_sees_every_event(
    drain: Callable[[], None], created_calls: list[str]
) -> None:
    """``record_events()`` watches every event: it reconnects the receivers that were disconnected."""
    Example.objects.create(name="first")
    drain()
    with record_events() as recorded:
        Example.objects.create(name="second").delete()
        drain()
    actions = [name.rsplit("::", 1)[1] for name in recorded.names]
    assert actions == ["creating", "saving", "created", "saved", "deleting", "deleted"]


def test_a_synchronous_updating_handler_sees_the_changes_of_its_save(monkeypatch: pytest.MonkeyPatch) -> None:
    """In sync mode an ``updating`` handler runs inside ``pre_save``, and sees what the save changes."""
    from django_event_system import get_changes

    seen: list[set[str]] = []

    class Updating(Observer[Example]):
        observes = Example

        def updating(self, event_name: str, instance: Example) -> None:
            seen.append(set(get_changes(instance)))

    example = Example.objects.create(name="first")
    monkeypatch.setattr(Dispatcher, "sync", True)
    example.status = "moved"
    example.save()
    assert seen == [{"status"}]
