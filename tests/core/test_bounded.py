"""A bounded queue: ``max_pending`` and ``on_full``, and the figures of ``stats()``."""

from __future__ import annotations

import asyncio
import json
import threading

import gevent
import gevent.event
import pytest

from django_event_system.core import EventDispatcher, QueueFullError


def test_raise_refuses_the_event_beyond_the_bound() -> None:
    """Under ``on_full="raise"`` the event past ``max_pending`` raises and is not dispatched."""
    dispatcher = EventDispatcher(max_pending=3, on_full="raise")
    seen: list[int] = []
    dispatcher.RegisterHandler("bounded", lambda name, number: seen.append(number))
    for number in range(3):
        dispatcher.Dispatch("bounded", number)
    with pytest.raises(QueueFullError) as caught:
        dispatcher.Dispatch("bounded", 3)
    assert str(caught.value) == (
        "3 events already wait in this thread's queue, the most that max_pending=3 allows; "
        "the event was not dispatched (on_full='raise')"
    )
    dispatcher.ClearQueue(timeout=10)
    assert seen == [0, 1, 2]


def test_block_waits_for_room_and_loses_nothing() -> None:
    """Under ``"block"`` Dispatch waits while workers make room: never more pending, every event handled once."""
    dispatcher = EventDispatcher(max_pending=5, pool_size=2)
    seen: list[int] = []
    most = 0

    def slow(name: str, number: int) -> None:
        gevent.sleep(0.002)
        seen.append(number)

    dispatcher.RegisterHandler("bounded", slow)
    for number in range(60):
        dispatcher.Dispatch("bounded", number)
        most = max(most, dispatcher.pending_count())
    dispatcher.ClearQueue(timeout=10)
    assert most == 5
    assert sorted(seen) == list(range(60))


def test_events_that_handlers_dispatch_are_not_held_back() -> None:
    """A handler's cascade passes the bound, so a full queue cannot make a handler wait for itself."""
    dispatcher = EventDispatcher(max_pending=2, pool_size=1, on_full="raise")
    seen: list[str] = []

    def fan_out(name: str) -> None:
        for _ in range(10):
            dispatcher.Dispatch("leaf")

    dispatcher.RegisterHandler("root", fan_out)
    dispatcher.RegisterHandler("leaf", lambda name: seen.append(name))
    dispatcher.Dispatch("root")
    dispatcher.ClearQueue(timeout=10)
    assert seen == ["leaf"] * 10


def test_a_loop_thread_cannot_wait_for_room() -> None:
    """In an asyncio loop's thread a full queue raises instead of blocking the loop."""
    dispatcher = EventDispatcher(max_pending=2)
    dispatcher.RegisterHandler("bounded", lambda name: None)

    async def main() -> None:
        dispatcher.Dispatch("bounded")
        dispatcher.Dispatch("bounded")
        with pytest.raises(QueueFullError, match=r"cannot wait for room: it runs in the gevent hub or in an asyncio"):
            dispatcher.Dispatch("bounded")
        await dispatcher.aclear_queue(timeout=10)

    asyncio.run(main())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_pending": 0}, "max_pending must be None or a positive int, not 0"),
        ({"max_pending": True}, "max_pending must be None or a positive int, not True"),
        ({"on_full": "drop"}, "on_full must be 'block' or 'raise', not 'drop'"),
    ],
)
def test_bad_bounds_are_refused(options: dict[str, object], message: str) -> None:
    """A bound that is not a positive int, or a policy that is neither block nor raise, is a ValueError."""
    with pytest.raises(ValueError, match=f"^{message}$"):
        EventDispatcher(**options)  # type: ignore[arg-type]


def test_stats_count_pending_in_flight_handled_and_failed() -> None:
    """``stats()`` gives each thread's figures and their totals, as data a view can return."""
    dispatcher = EventDispatcher(max_pending=100, pool_size=1)
    release = gevent.event.Event()

    def waiting(name: str) -> None:
        release.wait(10)

    def broken(name: str) -> None:
        raise ValueError("broken")

    dispatcher.RegisterHandler("wait", waiting)
    dispatcher.RegisterHandler("broken", broken)
    dispatcher.Dispatch("broken")
    dispatcher.ClearQueue(timeout=10)
    dispatcher.Dispatch("wait")
    dispatcher.Dispatch("wait")
    gevent.sleep(0.05)  # the first worker takes one event and waits
    stats = dispatcher.stats()
    assert (stats.pending, stats.handled, stats.failed) == (1, 1, 1)
    assert stats.in_flight == 1
    assert stats.oldest_pending_age is not None
    assert stats.oldest_pending_age >= 0.05
    [thread] = stats.threads
    assert (thread.thread, thread.name) == (threading.get_ident(), threading.current_thread().name)
    assert json.loads(json.dumps(stats.as_dict()))["threads"][0]["pending"] == 1
    release.set()
    dispatcher.ClearQueue(timeout=10)
    assert dispatcher.stats().handled == 3
    assert dispatcher.stats().oldest_pending_age is None


def test_an_unbounded_dispatcher_reports_no_age() -> None:
    """Without ``max_pending`` events are not stamped, so the oldest pending age is not known."""
    dispatcher = EventDispatcher()
    dispatcher.RegisterHandler("plain", lambda name: None)
    dispatcher.Dispatch("plain")
    stats = dispatcher.stats()
    assert (stats.pending, stats.oldest_pending_age) == (1, None)
    dispatcher.ClearQueue(timeout=10)
