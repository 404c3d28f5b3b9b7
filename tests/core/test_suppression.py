"""Tests for ``without_events``: what it suppresses, where its scope ends, and what it refuses."""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

import gevent
import pytest

from django_event_system.core import (
    Dispatcher,
    Event,
    EventDispatcher,
    EventSubscriber,
    InvalidPatternError,
    on,
    without_events,
)
from django_event_system.testing import record_events


class OrderPlaced(Event):
    order_id: int


class OrderShipped(Event):
    order_id: int


@pytest.fixture
def seen(dispatcher: EventDispatcher) -> list[str]:
    """The names of every event handled on the test's dispatcher."""
    names: list[str] = []
    dispatcher.RegisterHandler(".*", lambda name, *args, **kwargs: names.append(name))
    return names


def test_a_pattern_keeps_its_events_from_being_dispatched(dispatcher: EventDispatcher, seen: list[str]) -> None:
    with without_events("orders::.*"):
        dispatcher.Dispatch("orders::placed")
        dispatcher.Dispatch("users::joined")
    dispatcher.Dispatch("orders::placed")
    dispatcher.ClearQueue(timeout=10)
    assert seen == ["users::joined", "orders::placed"]


def test_an_event_class_and_a_compiled_pattern(dispatcher: EventDispatcher, seen: list[str]) -> None:
    with without_events(OrderPlaced, re.compile("audit::.*")):
        dispatcher.Dispatch(OrderPlaced(order_id=1))
        dispatcher.Dispatch("audit::x")
        dispatcher.Dispatch(OrderShipped(order_id=2))
    dispatcher.ClearQueue(timeout=10)
    assert seen == [OrderShipped.__event_name__]


def test_no_target_suppresses_every_event(dispatcher: EventDispatcher, seen: list[str]) -> None:
    with without_events():
        dispatcher.Dispatch("a")
        dispatcher.Dispatch(OrderPlaced(order_id=1))
    dispatcher.ClearQueue(timeout=10)
    assert seen == []


def test_nested_scopes_combine_and_end_in_order(dispatcher: EventDispatcher, seen: list[str]) -> None:
    with without_events("a"):
        with without_events("b"):
            dispatcher.Dispatch("a")
            dispatcher.Dispatch("b")
            dispatcher.Dispatch("c")
        dispatcher.Dispatch("b")
        dispatcher.Dispatch("a")
    dispatcher.Dispatch("a")
    dispatcher.ClearQueue(timeout=10)
    assert seen == ["c", "b", "a"]


def test_no_interceptor_is_left_once_every_scope_has_ended(dispatcher: EventDispatcher) -> None:
    """Outside every scope, dispatch takes its fast path again: the interceptor is gone."""
    assert len(dispatcher.interceptors) == 0
    with without_events("x"):
        assert len(dispatcher.interceptors) == 1
        with without_events("y"):
            assert len(dispatcher.interceptors) == 1
    assert len(dispatcher.interceptors) == 0


def test_a_scope_in_a_thread_is_not_seen_by_another_thread(dispatcher: EventDispatcher, seen: list[str]) -> None:
    entered, dispatched = threading.Event(), threading.Event()

    def quiet() -> None:
        with without_events():
            entered.set()
            dispatcher.Dispatch("quiet")
            dispatcher.ClearQueue(timeout=10)
            assert dispatched.wait(timeout=10)

    thread = threading.Thread(target=quiet)
    thread.start()
    assert entered.wait(timeout=10)
    dispatcher.Dispatch("loud")  # while the other thread is inside its scope
    dispatched.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    dispatcher.ClearQueue(timeout=10)
    assert seen == ["loud"]


def test_a_scope_in_a_greenlet_is_not_seen_by_another_greenlet(dispatcher: EventDispatcher, seen: list[str]) -> None:
    inside = gevent.event.Event()
    release = gevent.event.Event()

    def quiet() -> None:
        with without_events():
            inside.set()
            dispatcher.Dispatch("quiet")
            assert release.wait(timeout=10)

    greenlet = gevent.spawn(quiet)
    assert inside.wait(timeout=10)
    dispatcher.Dispatch("loud")
    release.set()
    greenlet.join(timeout=10)
    assert greenlet.successful()
    dispatcher.ClearQueue(timeout=10)
    assert seen == ["loud"]


def test_a_scope_in_an_asyncio_task_is_not_seen_by_another_task(dispatcher: EventDispatcher) -> None:
    names: list[str] = []

    async def main() -> None:
        inside, release = asyncio.Event(), asyncio.Event()
        with record_events(dispatcher=dispatcher) as events:

            async def quiet() -> None:
                with without_events():
                    inside.set()
                    dispatcher.Dispatch("quiet")
                    await release.wait()

            task = asyncio.create_task(quiet())
            await asyncio.wait_for(inside.wait(), timeout=10)
            dispatcher.Dispatch("loud")
            release.set()
            await asyncio.wait_for(task, timeout=10)
            await dispatcher.aclear_queue(timeout=10)
            names.extend(f"{r.name}:{r.status}" for r in events.events)

    asyncio.run(main())
    assert names == ["quiet:suppressed", "loud:delivered"]


def test_as_a_decorator_of_a_function(dispatcher: EventDispatcher, seen: list[str]) -> None:
    @without_events("import::.*")
    def import_rows(count: int) -> int:
        for index in range(count):
            dispatcher.Dispatch(f"import::{index}")
        dispatcher.Dispatch("done")
        return count

    assert import_rows(2) == 2
    dispatcher.Dispatch("import::after")
    dispatcher.ClearQueue(timeout=10)
    assert seen == ["done", "import::after"]
    assert import_rows.__name__ == "import_rows"


def test_as_a_decorator_of_a_coroutine_function(dispatcher: EventDispatcher, seen: list[str]) -> None:
    @without_events("import::.*")
    async def import_rows() -> str:
        dispatcher.Dispatch("import::1")
        await asyncio.sleep(0)
        dispatcher.Dispatch("import::2")
        dispatcher.Dispatch("done")
        return "ok"

    async def main() -> str:
        result = await import_rows()
        dispatcher.Dispatch("import::after")
        await dispatcher.aclear_queue(timeout=10)
        return result

    assert asyncio.run(main()) == "ok"
    assert seen == ["done", "import::after"]


def test_the_recorder_shows_what_was_suppressed(dispatcher: EventDispatcher) -> None:
    with record_events(dispatcher=dispatcher) as events:
        with without_events(OrderPlaced):
            dispatcher.Dispatch(OrderPlaced(order_id=1))
        dispatcher.Dispatch(OrderPlaced(order_id=2))
    assert [(e.order_id, r.status) for r, e in zip(events.events, events.dispatched(OrderPlaced), strict=True)] == [
        (1, "suppressed"),
        (2, "delivered"),
    ]
    assert [e.order_id for e in events.suppressed(OrderPlaced)] == [1]
    events.assert_dispatched(OrderPlaced, times=1, status="suppressed")


# -- a subscriber's handlers alone ----------------------------------------------------------


def test_a_subscriber_class_mutes_its_own_handlers_only(dispatcher: EventDispatcher, seen: list[str]) -> None:
    calls: list[Any] = []
    bus = dispatcher

    class Billing(EventSubscriber):
        dispatcher = bus

        @on(OrderPlaced)
        def charge(self, event: OrderPlaced) -> None:
            calls.append(("charge", event.order_id))

        @on("orders::.*")
        def audit(self, name: str, *args: object) -> None:
            calls.append(("audit", name))

    try:
        with record_events(dispatcher=dispatcher) as events:
            with without_events(Billing):
                dispatcher.Dispatch(OrderPlaced(order_id=1))
                dispatcher.Dispatch("orders::refunded")
            dispatcher.Dispatch(OrderPlaced(order_id=2))
            dispatcher.Dispatch("orders::paid")
        assert calls == [("charge", 2), ("audit", "orders::paid")]
        assert seen == [OrderPlaced.__event_name__, "orders::refunded", OrderPlaced.__event_name__, "orders::paid"]
        assert [(r.name, r.muted) for r in events.events] == [
            (OrderPlaced.__event_name__, (Billing,)),
            ("orders::refunded", (Billing,)),
            (OrderPlaced.__event_name__, ()),
            ("orders::paid", ()),
        ]
        assert [r.status for r in events.events] == ["delivered"] * 4
    finally:
        Billing.unregister()


# -- what is refused ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "error", "match"),
    [
        (42, TypeError, r"without_events\(\) takes Event classes, patterns .* not 42 \(int\)"),
        (OrderPlaced(order_id=1), TypeError, r"takes Event classes, not the instance .*; pass OrderPlaced"),
        ("", ValueError, r"takes non-empty patterns; give no target to suppress every event"),
        ("orders::(", InvalidPatternError, r"invalid event pattern 'orders::\('"),
        (re.compile(b"x"), TypeError, r"takes a regular expression of str, not bytes"),
        (object, TypeError, r"not <class 'object'> \(type\)"),
    ],
)
def test_bad_targets_are_refused(target: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        without_events(target)


def test_a_subscriber_instance_is_refused(dispatcher: EventDispatcher) -> None:
    class Mail(EventSubscriber):
        dispatcher = Dispatcher

        @on("mail::.*")
        def send(self, name: str) -> None: ...

    try:
        with pytest.raises(TypeError, match=r"takes classes, not the instance .*; pass Mail"):
            without_events(Mail())
    finally:
        Mail.unregister()


def test_it_decorates_functions_only() -> None:
    with pytest.raises(TypeError, match=r"without_events\(\.\.\.\) decorates a function, not 42"):
        without_events()(42)  # type: ignore[type-var]  # pyright: ignore[reportArgumentType]
