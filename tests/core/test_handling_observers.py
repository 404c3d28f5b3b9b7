"""Tests for the handling observers: each delivery and each handler's outcome, timed, for tools."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from django_event_system.core import Event, EventDispatcher
from django_event_system.core.integration import DeliveryObserver, add_handling_observer


def noop(name: str, *args: object, **kwargs: object) -> None:
    """A handler that does nothing."""


class Checked(Event):
    Name = "observed::checked"


@dataclass
class Delivery:
    name: str
    kwargs: dict[str, Any]
    handlers: tuple[Any, ...]
    outcomes: list[tuple[Any, float, float, BaseException | None]] = field(default_factory=list)
    stopped: bool | None = None

    def handled(self, handler: Any, started: float, finished: float, error: BaseException | None) -> None:
        self.outcomes.append((handler, started, finished, error))

    def finished(self, stopped: bool) -> None:
        self.stopped = stopped


class Watcher:
    """Follows every delivery (or none, with ``follow=False``)."""

    def __init__(self, follow: bool = True) -> None:
        self.follow = follow
        self.deliveries: list[Delivery] = []

    def delivery(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], event: Event | None, handlers: Sequence[Any]
    ) -> DeliveryObserver | None:
        if not self.follow:
            return None
        delivery = Delivery(name, kwargs, tuple(handlers))
        self.deliveries.append(delivery)
        return delivery


@pytest.fixture
def watcher() -> Iterator[Watcher]:
    watcher = Watcher()
    remove = add_handling_observer(watcher)
    yield watcher
    remove()


def test_each_handler_is_timed_and_its_error_reported_as_well(dispatcher: EventDispatcher, watcher: Watcher) -> None:
    """The observer gets the handlers in order, each one's start and end, and what a failing one
    raised; the error policy still gets the error."""
    failures: list[str] = []
    dispatcher.error_policy = lambda failure: failures.append(failure.handler)

    def broken(name: str, **kwargs: object) -> None:
        raise ValueError("broken")

    dispatcher.RegisterHandler("observed::.*", noop, priority=1)
    dispatcher.RegisterHandler("observed::.*", broken)
    dispatcher.Dispatch("observed::one", order=7)
    dispatcher.ClearQueue(timeout=10)

    [delivery] = watcher.deliveries
    assert delivery.name == "observed::one"
    assert delivery.kwargs == {"order": 7}
    assert [handler for handler, *_ in delivery.outcomes] == list(delivery.handlers)
    assert len(delivery.handlers) == 2
    (_, started_1, finished_1, error_1), (_, started_2, finished_2, error_2) = delivery.outcomes
    assert started_1 <= finished_1 <= started_2 <= finished_2
    assert error_1 is None
    assert isinstance(error_2, ValueError)
    assert failures == [
        "tests.core.test_handling_observers:test_each_handler_is_timed_and_its_error_reported_as_well.<locals>.broken"
    ]
    assert delivery.stopped is False


def test_the_kwargs_are_the_dispatchs_own_object(dispatcher: EventDispatcher, watcher: Watcher) -> None:
    """What an interceptor saw and what the observer sees is one dict: a tool can tell them apart."""
    seen: list[dict[str, Any]] = []

    def interceptor(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], event: Event | None) -> bool:
        seen.append(kwargs)
        return False

    dispatcher.RegisterHandler("observed::.*", noop)
    dispatcher.intercept(interceptor)
    dispatcher.Dispatch("observed::one")
    dispatcher.Dispatch("observed::two")
    dispatcher.ClearQueue(timeout=10)
    assert [delivery.kwargs for delivery in watcher.deliveries] == [{}, {}]
    assert [id(delivery.kwargs) for delivery in watcher.deliveries] == [id(kwargs) for kwargs in seen]


def test_a_stopped_propagation_is_told(dispatcher: EventDispatcher, watcher: Watcher) -> None:
    """A handler that stops the propagation: the later handlers are not called, and ``finished`` says so."""

    def stopper(name: str, event: Checked) -> None:
        event.stop_propagation()

    dispatcher.RegisterHandler(Checked, stopper, priority=1)
    dispatcher.RegisterHandler(Checked, noop)
    dispatcher.Dispatch(Checked())
    dispatcher.ClearQueue(timeout=10)
    [delivery] = watcher.deliveries
    assert len(delivery.handlers) == 2
    assert len(delivery.outcomes) == 1
    assert delivery.stopped is True


def test_an_event_without_handlers_is_a_delivery_with_none(dispatcher: EventDispatcher, watcher: Watcher) -> None:
    """The observer sees the events that no handler receives too."""
    dispatcher.Dispatch("observed::nobody")
    dispatcher.ClearQueue(timeout=10)
    [delivery] = watcher.deliveries
    assert delivery.handlers == ()
    assert delivery.stopped is False


def test_sync_mode_is_observed(dispatcher: EventDispatcher, watcher: Watcher) -> None:
    """In sync mode the handlers run in Dispatch, observed all the same."""
    dispatcher.RegisterHandler("observed::.*", noop)
    with dispatcher.sync_mode():
        dispatcher.Dispatch("observed::sync")
    assert [delivery.name for delivery in watcher.deliveries] == ["observed::sync"]


def test_an_observer_that_declines_or_fails_changes_nothing(
    dispatcher: EventDispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    """``None`` lets the delivery be; an observer's error is logged and the handlers still run."""
    calls: list[str] = []

    class Broken(Watcher):
        def delivery(
            self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], event: Event | None, handlers: Sequence[Any]
        ) -> DeliveryObserver | None:
            raise RuntimeError("observer bug")

    def record(name: str) -> None:
        calls.append(name)

    dispatcher.RegisterHandler("observed::.*", record)
    declining = Watcher(follow=False)
    removers = [add_handling_observer(declining), add_handling_observer(Broken())]
    try:
        with caplog.at_level(logging.ERROR, logger="django_event_system"):
            dispatcher.Dispatch("observed::one")
            dispatcher.ClearQueue(timeout=10)
    finally:
        for remove in removers:
            remove()
    assert calls == ["observed::one"]
    assert declining.deliveries == []
    assert "the handling observer" in caplog.text
    assert "observer bug" in caplog.text


def test_removed_observers_see_nothing_more(dispatcher: EventDispatcher) -> None:
    """After the returned callable is called (twice is harmless), the observer sees nothing."""
    watcher = Watcher()
    remove = add_handling_observer(watcher)
    dispatcher.Dispatch("observed::one")
    dispatcher.ClearQueue(timeout=10)
    remove()
    remove()
    dispatcher.Dispatch("observed::two")
    dispatcher.ClearQueue(timeout=10)
    assert [delivery.name for delivery in watcher.deliveries] == ["observed::one"]
