"""Tests for the Event base class: names, typed payloads, ``Event.Dispatch`` and propagation."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from django_event_system.core import Event, EventDispatcher, GetPathFromClass


class OrderPlaced(Event):
    """An event with typed fields, one of them defaulted."""

    order_id: int
    note: str = ""


class PriorityOrderPlaced(OrderPlaced):
    """Inherits OrderPlaced's fields and adds one."""

    level: int = 1


class Renamed(Event):
    Name = "orders::renamed"


class RenamedChild(Renamed):
    """A subclass of a named event; it does not inherit the name."""


class Regexy(Event):
    Name = "weird.name(1)+"


class ExampleEvent(Event):
    """The hand-written ``__init__`` of the 1.0 README."""

    def __init__(self, name: str, value: str, something: str) -> None:
        self.name = name
        self.value = value
        self.something = something


class ExampleEventChild(ExampleEvent):
    """Adds nothing, so it keeps its parent's hand-written ``__init__``."""


class Empty(Event):
    pass


@pytest.fixture
def events(dispatcher: EventDispatcher, monkeypatch: pytest.MonkeyPatch) -> EventDispatcher:
    """Make every Event class dispatch on the test's own dispatcher."""
    monkeypatch.setattr(Event, "dispatcher", dispatcher)
    return dispatcher


# -- names ---------------------------------------------------------------------------------------


def test_name_defaults_to_the_class_path() -> None:
    """Without ``Name``, an event is named ``GetPathFromClass(cls)``."""
    assert OrderPlaced.GetEventName() == "tests::core::test_event::OrderPlaced"
    assert OrderPlaced.GetEventName() == GetPathFromClass(OrderPlaced)


def test_own_name_attribute_sets_the_name() -> None:
    """A class's own ``Name`` is its event name."""
    assert Renamed.GetEventName() == "orders::renamed"


def test_name_is_not_inherited() -> None:
    """A subclass of a named event gets its own path name, not its parent's ``Name``."""
    assert RenamedChild.GetEventName() == "tests::core::test_event::RenamedChild"
    assert PriorityOrderPlaced.GetEventName() == "tests::core::test_event::PriorityOrderPlaced"


def test_str_of_class_and_instance_is_the_name() -> None:
    """``str(EventClass)`` and ``str(event)`` are both the event name."""
    assert str(Renamed) == "orders::renamed"
    assert str(Renamed()) == "orders::renamed"
    assert str(OrderPlaced) == "tests::core::test_event::OrderPlaced"
    assert str(OrderPlaced(order_id=1)) == "tests::core::test_event::OrderPlaced"
    assert f"{Renamed}" == "orders::renamed"


def test_repr_of_class_names_the_event() -> None:
    """The repr of an Event class shows its event name."""
    assert repr(Renamed) == "<Event class 'orders::renamed'>"


def test_setting_name_after_definition_renames_the_event() -> None:
    """Assigning ``Name`` on the class changes its name; assigning ``None`` restores the path name."""

    class Later(Event):
        pass

    Later.Name = "later::named"
    assert str(Later) == "later::named"
    Later.Name = None
    assert str(Later) == GetPathFromClass(Later)


@pytest.mark.parametrize("bad_name", ["", 42])
def test_name_must_be_a_non_empty_str(bad_name: object) -> None:
    """``Name = ""`` (or a non-str) is rejected when the class is defined."""
    with pytest.raises(TypeError, match=rf"Broken.Name must be a non-empty str, not {bad_name!r}"):

        class Broken(Event):
            Name = bad_name  # type: ignore[assignment]


@pytest.mark.parametrize("bad_name", ["", 42])
def test_name_set_after_definition_must_be_a_non_empty_str(bad_name: object) -> None:
    """Setting ``Name`` later is checked like the class body: the name stays what it was."""

    class Later(Event):
        Name = "later::kept"

    with pytest.raises(TypeError, match=rf"Later.Name must be a non-empty str or None, not {bad_name!r}"):
        Later.Name = bad_name  # type: ignore[assignment]
    assert str(Later) == "later::kept"


# -- payloads ------------------------------------------------------------------------------------


def test_annotated_fields_make_a_typed_init_with_defaults() -> None:
    """Annotated fields become ``__init__`` parameters; defaults apply when omitted."""
    event = OrderPlaced(order_id=7)
    assert (event.order_id, event.note) == (7, "")
    assert OrderPlaced(3, "gift").note == "gift"
    assert [field.name for field in dataclasses.fields(OrderPlaced)] == ["order_id", "note"]


def test_fields_are_inherited() -> None:
    """A subclass takes its parent's fields and its own."""
    event = PriorityOrderPlaced(order_id=1, level=3)
    assert (event.order_id, event.note, event.level) == (1, "", 3)


def test_missing_field_raises_type_error() -> None:
    """Building an event without a required field raises TypeError."""
    with pytest.raises(TypeError, match=r"missing 1 required positional argument: 'order_id'"):
        OrderPlaced()  # type: ignore[call-arg]


def test_events_compare_by_identity() -> None:
    """Two events with equal payloads are distinct and hashable, as in 1.0."""
    first, second = OrderPlaced(order_id=1), OrderPlaced(order_id=1)
    assert first != second
    assert len({first, second}) == 2


def test_hand_written_init_is_kept() -> None:
    """An event with its own ``__init__`` (as in the 1.0 README) keeps it."""
    event = ExampleEvent("name", "value", "something")
    assert (event.name, event.value, event.something) == ("name", "value", "something")


def test_subclass_inherits_a_hand_written_init() -> None:
    """A field-less subclass of an event with a hand-written ``__init__`` accepts the same arguments."""
    event = ExampleEventChild("n", "v", "s")
    assert (event.name, event.value, event.something) == ("n", "v", "s")
    assert str(event) == "tests::core::test_event::ExampleEventChild"


def test_init_false_keeps_the_inherited_init() -> None:
    """``init=False``, the spelling pyright needs for the 1.0 style, keeps the parent's ``__init__`` too."""

    class LoudExample(ExampleEvent, init=False):
        pass

    event = LoudExample("n", "v", "s")
    assert (event.name, event.value, event.something) == ("n", "v", "s")


def test_init_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match=r"Odd: init must be True or False, not 'no'"):

        class Odd(ExampleEvent, init="no"):  # type: ignore[literal-required]
            pass


def test_event_without_fields_takes_no_arguments() -> None:
    """An event without fields and without ``__init__`` rejects arguments."""
    assert str(Empty()) == "tests::core::test_event::Empty"
    with pytest.raises(TypeError, match=r"Empty\(\) takes no arguments"):
        Empty(1)  # type: ignore[call-arg]


# -- dispatching ---------------------------------------------------------------------------------


def test_dispatch_builds_dispatches_and_returns_the_instance(events: EventDispatcher) -> None:
    """``Event.Dispatch(**payload)`` returns the instance, and handlers receive ``(name, event)``."""
    received: list[tuple[str, Any]] = []
    events.RegisterHandler(OrderPlaced, lambda name, event: received.append((name, event)))
    event = OrderPlaced.Dispatch(order_id=5, note="n")
    assert isinstance(event, OrderPlaced)
    assert (event.order_id, event.note) == (5, "n")
    assert received == []
    events.ClearQueue()
    assert received == [("tests::core::test_event::OrderPlaced", event)]


def test_dispatch_with_hand_written_init(events: EventDispatcher) -> None:
    """``ExampleEvent.Dispatch('name', 'value', 'something')`` passes the built object to the handler."""
    received: list[ExampleEvent] = []
    events.RegisterHandler(ExampleEvent, lambda name, event: received.append(event))
    ExampleEvent.Dispatch("name", "value", "something")
    events.ClearQueue()
    assert [(e.name, e.value, e.something) for e in received] == [("name", "value", "something")]


def test_dispatch_aliases_call_the_same_method(events: EventDispatcher) -> None:
    """``dispatch`` dispatches like ``Dispatch``; the deprecated ``DispatchAsync`` too, with a warning."""
    received: list[int] = []
    events.RegisterHandler(OrderPlaced, lambda name, event: received.append(event.order_id))
    OrderPlaced.dispatch(order_id=1)
    with pytest.warns(DeprecationWarning, match=r"Event\.DispatchAsync\(\) is deprecated: use Dispatch\(\)"):
        event = OrderPlaced.DispatchAsync(order_id=2)
    assert event.order_id == 2
    events.ClearQueue()
    assert received == [1, 2]


def test_drain_is_a_deprecated_name_of_clear_queue(events: EventDispatcher) -> None:
    """``EventDispatcher.drain()`` still drains, and warns that ``ClearQueue()`` is the name."""
    received: list[int] = []
    events.RegisterHandler(OrderPlaced, lambda name, event: received.append(event.order_id))
    OrderPlaced.Dispatch(order_id=3)
    with pytest.warns(DeprecationWarning, match=r"EventDispatcher\.drain\(\) is deprecated: use ClearQueue\(\)"):
        events.drain(timeout=10)
    assert received == [3]


def test_dispatch_with_bad_arguments_raises_and_queues_nothing(events: EventDispatcher) -> None:
    """Arguments that do not fit ``__init__`` raise TypeError in the caller, and nothing is queued."""
    received: list[object] = []
    events.RegisterHandler(".*", lambda name, *args: received.append(name))
    with pytest.raises(TypeError, match=r"got an unexpected keyword argument 'order'"):
        OrderPlaced.Dispatch(order=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"takes 4 positional arguments but 5 were given"):
        ExampleEvent.Dispatch("a", "b", "c", "d")  # type: ignore[call-arg]
    assert events.pending_count() == 0
    events.ClearQueue()
    assert received == []


def test_class_pattern_matches_exactly_a_name_with_regex_characters(events: EventDispatcher) -> None:
    """An Event class named ``weird.name(1)+`` receives only that exact name."""
    received: list[str] = []
    events.RegisterHandler(Regexy, lambda name, *args: received.append(name))
    events.Dispatch("weirdXname(1)+")
    events.Dispatch("weird.name1")
    events.Dispatch("weird.name(1)(1)")
    Regexy.Dispatch()
    events.ClearQueue()
    assert received == ["weird.name(1)+"]


def test_add_listener_registers_for_this_event_only(events: EventDispatcher) -> None:
    """``EventClass.AddListener(handler)`` receives this class's events, not a subclass's."""
    received: list[tuple[str, object]] = []
    registration = OrderPlaced.AddListener(lambda name, event: received.append((name, event)), priority=2)
    assert registration.priority == 2
    placed = OrderPlaced.Dispatch(order_id=1)
    PriorityOrderPlaced.Dispatch(order_id=2)
    events.ClearQueue()
    assert received == [(str(OrderPlaced), placed)]
    registration.cancel()
    OrderPlaced.Dispatch(order_id=3)
    events.ClearQueue()
    assert len(received) == 1


def test_add_listener_once(events: EventDispatcher) -> None:
    """``AddListener(once=True)`` receives a single event."""
    received: list[int] = []
    OrderPlaced.add_listener(lambda name, event: received.append(event.order_id), once=True)
    OrderPlaced.Dispatch(order_id=1)
    OrderPlaced.Dispatch(order_id=2)
    events.ClearQueue()
    assert received == [1]


def test_stop_propagation_skips_later_handlers_of_that_event(events: EventDispatcher) -> None:
    """After ``stop_propagation()`` the later handlers of that event do not run; other events are untouched."""
    calls: list[tuple[str, int]] = []

    def first(name: str, event: OrderPlaced) -> None:
        calls.append(("first", event.order_id))
        if event.order_id == 1:
            event.stop_propagation()

    def second(name: str, event: OrderPlaced) -> None:
        calls.append(("second", event.order_id))

    events.RegisterHandler(OrderPlaced, first, priority=1)
    events.RegisterHandler(OrderPlaced, second)
    stopped = OrderPlaced.Dispatch(order_id=1)
    other = OrderPlaced.Dispatch(order_id=2)
    events.ClearQueue()
    assert calls == [("first", 1), ("first", 2), ("second", 2)]
    assert stopped.propagation_stopped
    assert not other.propagation_stopped


def test_stop_propagation_in_sync_mode(events: EventDispatcher) -> None:
    """``stop_propagation()`` also stops later handlers when handlers run inline."""
    calls: list[str] = []

    def first(name: str, event: OrderPlaced) -> None:
        calls.append("first")
        event.stop_propagation()

    events.RegisterHandler(OrderPlaced, first)
    events.RegisterHandler(OrderPlaced, lambda name, event: calls.append("second"))
    with events.sync_mode():
        OrderPlaced.Dispatch(order_id=1)
    assert calls == ["first"]
