"""Tests for ``record_events()`` and the recorder's assertions."""

from __future__ import annotations

import re
from typing import Any

import pytest

from django_event_system.core import Dispatcher, Event, EventDispatcher
from django_event_system.testing import EventRecorder, RecordedEvent, fake, muted, record_events


class OrderPlaced(Event):
    order_id: int
    total: float = 0.0


class OrderShipped(Event):
    order_id: int


class LegacyEvent(Event):
    Name = "legacy::event"

    def __init__(self, value: str) -> None:
        self.value = value


# -- recording ------------------------------------------------------------------------------------


def test_records_names_instances_args_and_kwargs_in_order() -> None:
    """Every dispatch inside the block is recorded, in order, with its instance, args and kwargs."""
    placed = OrderPlaced(order_id=1, total=9.5)
    with record_events() as events:
        Dispatcher.Dispatch("a::name", 1, 2, key="v")
        Dispatcher.Dispatch(placed, "extra", flag=True)
    assert events.events == [
        RecordedEvent("a::name", None, (1, 2), {"key": "v"}, delivered=True),
        RecordedEvent(OrderPlaced.__event_name__, placed, ("extra",), {"flag": True}, delivered=True),
    ]
    assert events.names == ["a::name", OrderPlaced.__event_name__]
    assert len(events) == 2
    assert [record.name for record in events] == events.names


def test_listeners_run_as_usual_while_recording() -> None:
    """Recording does not keep events from their listeners."""
    calls: list[str] = []
    with Dispatcher.RegisterHandler("seen", lambda name: calls.append(name)), record_events() as events:
        Dispatcher.Dispatch("seen")
    assert calls == ["seen"]
    assert events.names == ["seen"]


def test_nothing_outside_the_block_is_recorded() -> None:
    """Dispatches before and after the block are not recorded, and the recorder stops."""
    Dispatcher.Dispatch("before")
    with record_events() as events:
        Dispatcher.Dispatch("inside")
    Dispatcher.Dispatch("after")
    assert events.names == ["inside"]
    assert not events.active
    assert repr(events) == "<EventRecorder stopped, 1 event>"


def test_queries_drain_the_queue_first() -> None:
    """While recording, a query first handles what is queued, so events that handlers dispatch are seen."""
    with (
        Dispatcher.sync_mode(False),
        Dispatcher.RegisterHandler("orders::placed", lambda name: Dispatcher.Dispatch("mail::sent")),
        record_events() as events,
    ):
        Dispatcher.Dispatch("orders::placed")
        assert Dispatcher.pending_count() == 1
        events.assert_dispatched("mail::sent")
        assert Dispatcher.pending_count() == 0


def test_block_end_drains_while_recording() -> None:
    """Events dispatched by handlers of events from the block are recorded when the block ends."""
    with (
        Dispatcher.RegisterHandler("step::1", lambda name: Dispatcher.Dispatch("step::2")),
        record_events() as events,
    ):
        Dispatcher.Dispatch("step::1")
    assert events.names == ["step::1", "step::2"]


def test_nested_recorders_both_record() -> None:
    """An inner recorder and an outer one each see the dispatches made while they are active."""
    with record_events() as outer:
        Dispatcher.Dispatch("one")
        with record_events() as inner:
            Dispatcher.Dispatch("two")
    assert outer.names == ["one", "two"]
    assert inner.names == ["two"]


def test_a_recorder_inside_a_fake_sees_faked_events() -> None:
    """A recorder installed after a fake still sees the events the fake swallows, marked undelivered."""
    with fake("secret"), record_events() as events:
        Dispatcher.Dispatch("secret")
        Dispatcher.Dispatch("public")
    assert [(r.name, r.delivered) for r in events] == [("secret", False), ("public", True)]


def test_clear_forgets_what_was_recorded() -> None:
    """``clear()`` empties the recorder, which keeps recording."""
    with record_events() as events:
        Dispatcher.Dispatch("old")
        events.clear()
        Dispatcher.Dispatch("new")
    assert events.names == ["new"]


def test_recorder_for_another_dispatcher(dispatcher: EventDispatcher) -> None:
    """``record_events(dispatcher=...)`` records that dispatcher only."""
    with record_events(dispatcher=dispatcher) as events:
        dispatcher.Dispatch("mine")
        Dispatcher.Dispatch("global")
    assert events.names == ["mine"]


def test_starting_twice_is_an_error() -> None:
    """Starting a recorder that is already recording raises RuntimeError."""
    with record_events() as events, pytest.raises(RuntimeError, match="is already recording"):
        events.start()


def test_interceptor_is_removed_when_the_last_observer_leaves() -> None:
    """With no recorder left, the dispatcher has no interceptor (and takes its fast path again)."""
    with record_events():
        with record_events():
            assert len(Dispatcher._interceptors) == 1
        assert len(Dispatcher._interceptors) == 1
    assert len(Dispatcher._interceptors) == 0


# -- dispatched() ---------------------------------------------------------------------------------


def test_dispatched_event_class_returns_its_instances() -> None:
    """``dispatched(EventClass)`` returns the Event instances of that class."""
    with record_events() as events:
        first = OrderPlaced.Dispatch(order_id=1)
        OrderShipped.Dispatch(order_id=1)
        second = OrderPlaced.Dispatch(order_id=2)
    placed = events.dispatched(OrderPlaced)
    assert placed == [first, second]
    assert [event.order_id for event in placed] == [1, 2]


def test_dispatched_name_and_regex_return_records() -> None:
    """``dispatched(name)`` matches the exact name; ``dispatched(regex)`` uses fullmatch."""
    with record_events() as events:
        Dispatcher.Dispatch("orders::1::paid", 10)
        Dispatcher.Dispatch("orders::2::paid", 20)
        Dispatcher.Dispatch("orders::2::paid::late")
    assert [r.args for r in events.dispatched("orders::1::paid")] == [(10,)]
    assert [r.name for r in events.dispatched(re.compile(r"orders::\d+::paid"))] == [
        "orders::1::paid",
        "orders::2::paid",
    ]
    assert events.dispatched("orders::.*") == []  # a str is a name, not a pattern


def test_legacy_event_with_own_init_is_recorded() -> None:
    """An Event class with a hand-written ``__init__`` and a ``Name`` is matched by class."""
    with record_events() as events:
        LegacyEvent.Dispatch("v")
    assert [event.value for event in events.dispatched(LegacyEvent)] == ["v"]
    assert events.names == ["legacy::event"]


# -- assert_dispatched ----------------------------------------------------------------------------


def test_assert_dispatched_passes_and_returns_the_matches() -> None:
    """``assert_dispatched`` returns the matching events when the assertion holds."""
    with record_events() as events:
        OrderPlaced.Dispatch(order_id=1, total=5)
        OrderPlaced.Dispatch(order_id=2, total=50)
    assert [e.order_id for e in events.assert_dispatched(OrderPlaced, times=2)] == [1, 2]
    big = events.assert_dispatched(OrderPlaced, times=1, where=lambda e: e.total > 10)
    assert [e.order_id for e in big] == [2]


def test_assert_dispatched_fails_when_missing_with_a_suggestion() -> None:
    """A missing name fails with what was dispatched and the nearest name."""
    with record_events() as events:
        Dispatcher.Dispatch("orders::plcaed")
        Dispatcher.Dispatch("other")
    expected = (
        "'orders::placed' was dispatched 0 times, expected at least once (did you mean 'orders::plcaed'?).\n"
        "Dispatched:\n  - 'orders::plcaed'\n  - 'other'"
    )
    with pytest.raises(AssertionError, match=re.escape(expected)):
        events.assert_dispatched("orders::placed")


def test_assert_dispatched_fails_when_nothing_was_dispatched() -> None:
    """With nothing dispatched, the message says so."""
    with record_events() as events:
        pass
    expected = (
        r"OrderPlaced \('.*OrderPlaced'\) was dispatched 0 times, expected at least once\.\nNothing was dispatched\.$"
    )
    with pytest.raises(AssertionError, match=expected):
        events.assert_dispatched(OrderPlaced)


def test_assert_dispatched_fails_on_a_wrong_count() -> None:
    """``times`` is an exact count; a different count fails and says both numbers."""
    with record_events() as events:
        Dispatcher.Dispatch("tick")
        Dispatcher.Dispatch("tick")
        Dispatcher.Dispatch("tick")
    with pytest.raises(AssertionError, match=r"'tick' was dispatched 3 times, expected exactly 2 times\.\n"):
        events.assert_dispatched("tick", times=2)
    with pytest.raises(AssertionError, match=r"'tick' was dispatched 3 times, expected exactly 1 time\."):
        events.assert_dispatched("tick", times=1)


def test_assert_dispatched_times_zero_holds_when_absent() -> None:
    """``times=0`` holds for an event that was not dispatched."""
    with record_events() as events:
        Dispatcher.Dispatch("other")
    assert events.assert_dispatched("absent", times=0) == []


def test_assert_dispatched_where_fails_when_nothing_matches() -> None:
    """With ``where``, the message tells how many were dispatched and how many matched."""
    with record_events() as events:
        Dispatcher.Dispatch("paid", amount=5)

    def is_large(record: RecordedEvent) -> bool:
        return bool(record.kwargs["amount"] > 10)

    with pytest.raises(
        AssertionError,
        match=r"'paid' was dispatched 1 time, 0 of them matching where=.*is_large, expected at least once\.",
    ):
        events.assert_dispatched("paid", where=is_large)


def test_assert_dispatched_regex_target_in_message() -> None:
    """A regex target is shown as ``re.compile(...)`` in the message."""
    with record_events() as events:
        Dispatcher.Dispatch("x")
    with pytest.raises(AssertionError, match=re.escape("re.compile('orders::.*') was dispatched 0 times")):
        events.assert_dispatched(re.compile("orders::.*"))


@pytest.mark.parametrize("times", [-1, 1.5, True, "2"])
def test_assert_dispatched_rejects_a_bad_times(times: Any) -> None:
    """``times`` must be a non-negative int."""
    with record_events() as events:
        Dispatcher.Dispatch("x")
    with pytest.raises(ValueError, match=r"times must be a non-negative int or None, not "):
        events.assert_dispatched("x", times=times)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (3, r"an event target must be an event name \(str\), a compiled regular expression .* not 3 \(int\)"),
        (OrderPlaced(order_id=1), "expected an Event class, not the instance"),
        (int, r"not <class 'int'>"),
    ],
)
def test_assertions_reject_a_bad_target(target: Any, message: str) -> None:
    """Every query says what a target may be when given something else."""
    with record_events() as events:
        pass
    for query in (events.assert_dispatched, events.assert_not_dispatched, events.dispatched):
        with pytest.raises(TypeError, match=message):
            query(target)


def test_empty_name_target_is_rejected() -> None:
    """An empty name is not a target."""
    with record_events() as events:
        pass
    with pytest.raises(ValueError, match="an event name to look for cannot be empty"):
        events.assert_dispatched("")


# -- assert_not_dispatched / assert_nothing_dispatched --------------------------------------------


def test_assert_not_dispatched_passes_when_absent() -> None:
    """``assert_not_dispatched`` holds when only other events were dispatched."""
    with record_events() as events:
        Dispatcher.Dispatch("other")
    events.assert_not_dispatched("absent")
    events.assert_not_dispatched(OrderPlaced)


def test_assert_not_dispatched_fails_showing_each_dispatch() -> None:
    """A dispatched target fails, showing each dispatch with its arguments."""
    with record_events() as events:
        OrderPlaced.Dispatch(order_id=7, total=1.5)
        Dispatcher.Dispatch("named", 1, key="v")
    with pytest.raises(
        AssertionError,
        match=re.escape(
            "OrderPlaced ('tests::testing::test_recorder::OrderPlaced') was dispatched 1 time, expected not at all:\n"
            "  - OrderPlaced(order_id=7, total=1.5)"
        ),
    ):
        events.assert_not_dispatched(OrderPlaced)
    with pytest.raises(AssertionError, match=re.escape("  - 'named', 1, key='v'")):
        events.assert_not_dispatched("named")


def test_assert_nothing_dispatched() -> None:
    """``assert_nothing_dispatched`` holds on silence and fails listing what was dispatched."""
    with record_events() as quiet:
        pass
    quiet.assert_nothing_dispatched()
    with record_events() as noisy:
        Dispatcher.Dispatch("a")
        Dispatcher.Dispatch("a")
    with pytest.raises(
        AssertionError, match=re.escape("expected nothing to be dispatched, but 2 events were:\n  - 'a' (2 times)")
    ):
        noisy.assert_nothing_dispatched()


def test_muted_recorder_is_an_event_recorder() -> None:
    """The helpers all hand out the same recorder type."""
    with muted() as events:
        pass
    assert isinstance(events, EventRecorder)


def test_records_in_sync_mode() -> None:
    """In sync mode the event is recorded and its handler has run by the time ``Dispatch`` returns."""
    order: list[str] = []
    with (
        Dispatcher.sync_mode(),
        Dispatcher.RegisterHandler("now", lambda name: order.append("handler")),
        record_events() as events,
    ):
        Dispatcher.Dispatch("now")
        order.append(f"recorded {events.names}")
    assert order == ["handler", "recorded ['now']"]
