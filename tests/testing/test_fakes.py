"""Tests for ``fake()``, ``fake_except()`` and ``muted()``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from django_event_system.core import Dispatcher, Event, EventDispatcher
from django_event_system.testing import fake, fake_except, muted

MODEL_CREATED = "events::db::shop::models::Order::created"


class OrderPlaced(Event):
    order_id: int


class PaymentCaptured(Event):
    amount: int


@pytest.fixture
def delivered() -> Iterator[list[str]]:
    """The names that reached a catch-all handler on ``Dispatcher`` during the test."""
    names: list[str] = []
    with Dispatcher.RegisterHandler(".*", lambda name, *args, **kwargs: names.append(name)):
        yield names


def dispatch_all() -> None:
    """Dispatch a name, two Event instances and a model-observer event."""
    Dispatcher.Dispatch("mail::sent")
    OrderPlaced.Dispatch(order_id=1)
    PaymentCaptured.Dispatch(amount=5)
    Dispatcher.Dispatch(MODEL_CREATED, object())


# -- fake -----------------------------------------------------------------------------------------


def test_fake_with_targets_keeps_only_those_from_listeners(delivered: list[str]) -> None:
    """``fake(targets)`` keeps the named events from their listeners; the rest are delivered."""
    with fake(OrderPlaced, "mail::sent") as events:
        dispatch_all()
    assert delivered == [PaymentCaptured.__event_name__, MODEL_CREATED]
    assert events.names == ["mail::sent", OrderPlaced.__event_name__, PaymentCaptured.__event_name__, MODEL_CREATED]
    assert [r.delivered for r in events] == [False, False, True, True]


def test_fake_without_targets_fakes_all_but_model_events(delivered: list[str]) -> None:
    """``fake()`` fakes every event, except model-observer events, which keep running."""
    with fake() as events:
        dispatch_all()
    assert delivered == [MODEL_CREATED]
    assert len(events) == 4


def test_fake_can_name_model_events(delivered: list[str]) -> None:
    """A model-observer event that a target names is faked like any other."""
    with fake(re.compile(r"events::db::.*")) as events:
        dispatch_all()
    assert delivered == ["mail::sent", OrderPlaced.__event_name__, PaymentCaptured.__event_name__]
    events.assert_dispatched(MODEL_CREATED, times=1)


def test_faked_event_assertions_see_the_instances(delivered: list[str]) -> None:
    """Faked Event instances are available to the typed assertions."""
    with fake(PaymentCaptured) as events:
        PaymentCaptured.Dispatch(amount=42)
    [payment] = events.assert_dispatched(PaymentCaptured, times=1, where=lambda e: e.amount == 42)
    assert payment.amount == 42
    assert delivered == []


def test_fake_on_another_dispatcher(dispatcher: EventDispatcher, delivered: list[str]) -> None:
    """``fake(dispatcher=...)`` fakes that dispatcher's events and leaves the global one alone."""
    calls: list[str] = []
    dispatcher.RegisterHandler(".*", lambda name: calls.append(name))
    with fake("x", dispatcher=dispatcher) as events:
        dispatcher.Dispatch("x")
        Dispatcher.Dispatch("x")
    Dispatcher.ClearQueue()
    assert calls == []
    assert delivered == ["x"]
    assert events.names == ["x"]


def test_fake_rejects_a_bad_target() -> None:
    """A target that is not a name, a compiled regex or an Event class fails before the block runs."""
    with pytest.raises(TypeError, match=r"an event target must be .* not 1\.5 \(float\)"), fake(1.5):  # type: ignore[arg-type]
        pytest.fail("the block must not run")


def test_after_the_block_events_are_delivered_again(delivered: list[str]) -> None:
    """Faking ends with the block."""
    with fake():
        Dispatcher.Dispatch("inside")
    Dispatcher.Dispatch("outside")
    Dispatcher.ClearQueue()
    assert delivered == ["outside"]


def test_fake_ends_when_the_block_raises(delivered: list[str]) -> None:
    """An exception in the block propagates and faking stops."""
    with pytest.raises(KeyError, match="boom"), fake():
        raise KeyError("boom")
    Dispatcher.Dispatch("after")
    Dispatcher.ClearQueue()
    assert delivered == ["after"]


def test_events_that_delivered_handlers_dispatch_are_faked_too(delivered: list[str]) -> None:
    """A cascade started by a delivered event is faked while the block drains at its end."""
    calls: list[Any] = []
    with (
        Dispatcher.sync_mode(False),
        Dispatcher.RegisterHandler("start", lambda name: Dispatcher.Dispatch("mail::sent")),
        Dispatcher.RegisterHandler("mail::sent", lambda name: calls.append(name)),
        fake("mail::sent") as events,
    ):
        Dispatcher.Dispatch("start")
    assert calls == []
    assert events.names == ["start", "mail::sent"]


# -- fake_except ----------------------------------------------------------------------------------


def test_fake_except_delivers_only_the_named_and_model_events(delivered: list[str]) -> None:
    """``fake_except(targets)`` fakes every event but those and model-observer events."""
    with fake_except(PaymentCaptured) as events:
        dispatch_all()
    assert delivered == [PaymentCaptured.__event_name__, MODEL_CREATED]
    assert [r.delivered for r in events] == [False, False, True, True]


def test_fake_except_with_a_name_and_a_regex(delivered: list[str]) -> None:
    """Names and regexes both work as exceptions."""
    with fake_except("mail::sent", re.compile(r".*OrderPlaced")):
        dispatch_all()
    assert delivered == ["mail::sent", OrderPlaced.__event_name__, MODEL_CREATED]


def test_fake_except_needs_a_target() -> None:
    """``fake_except()`` without targets is an error pointing at ``fake()``."""
    with pytest.raises(ValueError, match=r"fake_except\(\) needs at least one target.*use fake\(\) to fake every"):
        fake_except().__enter__()


# -- muted ----------------------------------------------------------------------------------------


def test_muted_delivers_nothing_but_records_everything(delivered: list[str]) -> None:
    """Inside ``muted()`` nothing reaches a listener, model events included; everything is recorded."""
    with muted() as events:
        dispatch_all()
    assert delivered == []
    assert len(events) == 4
    assert not any(record.delivered for record in events)


def test_muted_does_not_affect_events_queued_before(delivered: list[str]) -> None:
    """Events queued before the block are still delivered."""
    with Dispatcher.sync_mode(False):
        Dispatcher.Dispatch("queued::before")
        with muted():
            Dispatcher.Dispatch("inside")
        Dispatcher.ClearQueue()
    assert delivered == ["queued::before"]
