"""Tests for the gevent queue: one queue per hub (thread), the worker pool, draining and exit."""

from __future__ import annotations

import _thread
import textwrap
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import gevent
import gevent.event
import greenlet
import pytest

from django_event_system.core import EventDispatcher, QueueUsageError
from tests.core.handlers import draining_handler, slow_handler
from tests.scripts import run_python

THREADS = 8
EVENTS_PER_THREAD = 10_000


class ConcurrencyProbe:
    """A handler that waits on gevent and records how many of its calls overlapped at most.

    With ``hold_until``, calls wait until that many run at once, so that a slow machine cannot
    finish the first events before the pool has grown; if the pool never gets that large, the
    first wait gives up after 5 s and lets every call through.
    """

    def __init__(self, pause: float = 0.05, hold_until: int | None = None) -> None:
        self.pause = pause
        self.hold_until = hold_until
        self.released = gevent.event.Event()
        self.active = 0
        self.most_active = 0
        self.done = 0

    def __call__(self, name: str, *args: Any) -> None:
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            if self.hold_until is not None:
                if self.active >= self.hold_until:
                    self.released.set()
                if not self.released.wait(timeout=5):
                    self.released.set()  # the pool never got that large: let the others go at once
            gevent.sleep(self.pause)
        finally:
            self.active -= 1
            self.done += 1


def handle_with_probe(dispatcher: EventDispatcher, probe: ConcurrencyProbe, events: int) -> ConcurrencyProbe:
    """Register ``probe`` for ``io``, dispatch that many ``io`` events, drain, and return the probe."""
    dispatcher.RegisterHandler("io", probe)
    for number in range(events):
        dispatcher.Dispatch("io", number)
    dispatcher.ClearQueue()
    return probe


# -- one queue per hub ---------------------------------------------------------------------------


def test_events_are_handled_in_the_thread_that_dispatched_them(dispatcher: EventDispatcher) -> None:
    """8 threads each dispatch 10,000 events and drain: each event is handled once, in its own thread."""
    handled: defaultdict[int, list[tuple[int, int]]] = defaultdict(list)
    idents: dict[int, int] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def handler(name: str, origin: int, number: int) -> None:
        handled[origin].append((threading.get_ident(), number))

    def produce(origin: int) -> None:
        try:
            idents[origin] = threading.get_ident()
            start.wait()
            for number in range(EVENTS_PER_THREAD):
                dispatcher.Dispatch("threaded", origin, number)
            dispatcher.ClearQueue()
            assert dispatcher.pending_count() == 0
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    dispatcher.RegisterHandler("threaded", handler)
    threads = [threading.Thread(target=produce, args=(origin,)) for origin in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert dispatcher.pending_count() == 0  # nothing leaked into the main thread's queue
    for origin in range(THREADS):
        assert sorted(number for _, number in handled[origin]) == list(range(EVENTS_PER_THREAD))
        assert {ident for ident, _ in handled[origin]} == {idents[origin]}


def test_events_of_threads_started_outside_threading_are_adopted_by_a_later_drain(
    dispatcher: EventDispatcher,
) -> None:
    """Threads not started by ``threading`` leave their events to the next ``ClearQueue``, which handles each once."""
    handled: defaultdict[int, list[int]] = defaultdict(list)
    handling_threads: set[int] = set()

    def handler(name: str, origin: int, number: int) -> None:
        handled[origin].append(number)
        handling_threads.add(threading.get_ident())

    def produce(origin: int) -> None:
        for number in range(EVENTS_PER_THREAD):
            dispatcher.Dispatch("orphaned", origin, number)

    dispatcher.RegisterHandler("orphaned", handler)
    for origin in range(THREADS):
        _thread.start_new_thread(produce, (origin,))
    deadline = time.monotonic() + 10
    # A thread's events are handed on once its thread state is released, soon after it ends.
    while sum(map(len, handled.values())) < THREADS * EVENTS_PER_THREAD:
        assert time.monotonic() < deadline, f"only {sum(map(len, handled.values()))} events handled within 10 s"
        time.sleep(0.01)
        dispatcher.ClearQueue(timeout=10)
    assert handling_threads == {threading.get_ident()}
    for origin in range(THREADS):
        assert sorted(handled[origin]) == list(range(EVENTS_PER_THREAD))


def test_a_drain_leaves_the_queue_of_a_living_thread_alone(dispatcher: EventDispatcher) -> None:
    """``ClearQueue`` in one thread does not take the events of another thread that is still running."""
    handled_in: list[int] = []
    dispatched = threading.Event()
    drained_elsewhere = threading.Event()
    dispatcher.RegisterHandler("mine", lambda name: handled_in.append(threading.get_ident()))

    def other() -> None:
        dispatcher.Dispatch("mine")
        dispatched.set()
        drained_elsewhere.wait(10)
        dispatcher.ClearQueue()

    thread = threading.Thread(target=other)
    thread.start()
    try:
        assert dispatched.wait(10)
        dispatcher.ClearQueue()
        assert handled_in == []
    finally:
        drained_elsewhere.set()
        thread.join()
    assert handled_in == [thread.ident]


def test_events_from_spawned_greenlets_share_the_thread_queue(dispatcher: EventDispatcher) -> None:
    """Events dispatched by greenlets of this thread are drained by this thread's ``ClearQueue``."""
    handled: list[int] = []
    dispatcher.RegisterHandler("from-greenlet", lambda name, number: handled.append(number))
    greenlets = [gevent.spawn(dispatcher.Dispatch, "from-greenlet", number) for number in range(20)]
    gevent.joinall(greenlets, raise_error=True)
    dispatcher.ClearQueue()
    assert sorted(handled) == list(range(20))


def test_handlers_run_when_the_hub_gets_control(dispatcher: EventDispatcher) -> None:
    """Without ``ClearQueue``, queued events are handled as soon as the caller waits on gevent."""
    ran = gevent.event.Event()
    dispatcher.RegisterHandler("evt", lambda name: ran.set())
    dispatcher.Dispatch("evt")
    assert not ran.is_set()
    assert ran.wait(timeout=10)


# -- the worker pool -----------------------------------------------------------------------------


def test_handlers_of_different_events_overlap(dispatcher: EventDispatcher) -> None:
    """100 events whose handler waits on gevent are handled concurrently, not one after another."""
    probe = handle_with_probe(dispatcher, ConcurrencyProbe(), events=100)
    assert probe.done == 100
    assert probe.most_active >= 10


def test_pool_size_bounds_the_concurrency() -> None:
    """With ``pool_size=10`` at most 10 events are handled at once, and that many are."""
    probe = handle_with_probe(EventDispatcher(pool_size=10), ConcurrencyProbe(pause=0.01, hold_until=10), events=100)
    assert probe.done == 100
    assert probe.most_active == 10


def test_pool_size_one_handles_events_in_fifo_order() -> None:
    """With ``pool_size=1`` events are handled strictly in the order they were dispatched."""
    dispatcher = EventDispatcher(pool_size=1)
    order: list[int] = []
    probe_active: list[int] = [0, 0]

    def handler(name: str, number: int) -> None:
        probe_active[0] += 1
        probe_active[1] = max(probe_active)
        if number % 2:
            gevent.sleep(0)  # yielding must not let the next event start
        order.append(number)
        probe_active[0] -= 1

    dispatcher.RegisterHandler("fifo", handler)
    for number in range(300):
        dispatcher.Dispatch("fifo", number)
    dispatcher.ClearQueue()
    assert order == list(range(300))
    assert probe_active[1] == 1


def test_pool_size_one_puts_cascaded_events_at_the_back() -> None:
    """With ``pool_size=1`` an event dispatched by a handler is handled after those already queued."""
    dispatcher = EventDispatcher(pool_size=1)
    order: list[str] = []

    def handler(name: str) -> None:
        order.append(name)
        if name == "a":
            dispatcher.Dispatch("a-child")

    dispatcher.RegisterHandler(".*", handler)
    for name in ("a", "b", "c"):
        dispatcher.Dispatch(name)
    dispatcher.ClearQueue()
    assert order == ["a", "b", "c", "a-child"]


def test_handlers_of_one_event_run_in_order(dispatcher: EventDispatcher) -> None:
    """Each event's handlers run one after another in priority order, even when they wait and events overlap."""
    steps: defaultdict[int, list[str]] = defaultdict(list)

    def first(name: str, number: int) -> None:
        steps[number].append("first started")
        gevent.sleep(0.01)
        steps[number].append("first returned")

    def second(name: str, number: int) -> None:
        steps[number].append("second")

    def third(name: str, number: int) -> None:
        steps[number].append("third")

    dispatcher.RegisterHandler("ordered", third, priority=-1)
    dispatcher.RegisterHandler("ordered", first, priority=1)
    dispatcher.RegisterHandler("ordered", second)
    probe = ConcurrencyProbe(pause=0.01)
    dispatcher.RegisterHandler("ordered", probe, priority=2)
    for number in range(30):
        dispatcher.Dispatch("ordered", number)
    dispatcher.ClearQueue()
    assert probe.most_active > 1  # the events did overlap
    assert dict(steps) == {number: ["first started", "first returned", "second", "third"] for number in range(30)}


def test_pool_size_can_be_changed_on_an_instance() -> None:
    """Setting ``pool_size`` on a dispatcher changes how many events are handled at once."""
    dispatcher = EventDispatcher()
    dispatcher.pool_size = 3
    probe = handle_with_probe(dispatcher, ConcurrencyProbe(pause=0.01, hold_until=3), events=30)
    assert dispatcher.pool_size == 3
    assert probe.most_active == 3


# -- ClearQueue ----------------------------------------------------------------------------------


def test_clear_queue_with_nothing_queued_returns(dispatcher: EventDispatcher) -> None:
    """``ClearQueue`` on an empty queue returns at once and leaves it empty."""
    dispatcher.ClearQueue()
    dispatcher.ClearQueue(timeout=1)
    assert dispatcher.pending_count() == 0


def test_clear_queue_waits_for_handlers_to_return(dispatcher: EventDispatcher) -> None:
    """``ClearQueue`` returns only after every handler, including waiting ones, has returned."""
    finished: list[int] = []

    def slow(name: str, number: int) -> None:
        gevent.sleep(0.01 * (number % 3))
        finished.append(number)

    dispatcher.RegisterHandler("slow", slow)
    for number in range(10):
        dispatcher.Dispatch("slow", number)
    dispatcher.ClearQueue()
    assert sorted(finished) == list(range(10))


def test_one_clear_queue_drains_cascades(dispatcher: EventDispatcher) -> None:
    """Events dispatched by handlers, five levels deep, are all handled by the same ``ClearQueue``."""
    levels: list[int] = []

    def cascade(name: str, level: int) -> None:
        levels.append(level)
        gevent.sleep(0)
        if level < 5:
            dispatcher.Dispatch("cascade", level + 1)
            gevent.sleep(0.001 * level)  # dispatch again after waiting: the handler is still running
            dispatcher.Dispatch("cascade", level + 1)

    dispatcher.RegisterHandler("cascade", cascade)
    dispatcher.Dispatch("cascade", 0)
    dispatcher.ClearQueue()
    assert sorted(levels) == sorted(level for level in range(6) for _ in range(2**level))
    assert dispatcher.pending_count() == 0


def test_clear_queue_from_inside_a_handler(dispatcher: EventDispatcher) -> None:
    """A handler's ``ClearQueue`` returns once the events it dispatched and the other running handlers are done."""
    log: list[str] = []

    def outer(name: str) -> None:
        for _ in range(3):
            dispatcher.Dispatch("inner")
        dispatcher.ClearQueue()
        log.append("outer after ClearQueue")

    def inner(name: str) -> None:
        gevent.sleep(0)
        log.append("inner")

    dispatcher.RegisterHandler("slow", slow_handler(0.02, log))
    dispatcher.RegisterHandler("outer", outer)
    dispatcher.RegisterHandler("inner", inner)
    dispatcher.Dispatch("slow")
    dispatcher.Dispatch("outer")
    dispatcher.ClearQueue()
    assert sorted(log[:4]) == ["inner", "inner", "inner", "slow"]
    assert log[4:] == ["outer after ClearQueue"]


def test_clear_queue_from_inside_a_handler_with_pool_size_one() -> None:
    """With a single worker, a handler's ``ClearQueue`` handles the queued events itself instead of deadlocking."""
    dispatcher = EventDispatcher(pool_size=1)
    log: list[str] = []
    outer = draining_handler(dispatcher, "inner", log, "outer after ClearQueue", timeout=10)
    dispatcher.RegisterHandler("outer", outer)
    dispatcher.RegisterHandler("inner", lambda name: log.append("inner"))
    dispatcher.Dispatch("outer")
    dispatcher.ClearQueue(timeout=10)
    assert log == ["inner", "outer after ClearQueue"]


def test_concurrent_handlers_calling_clear_queue_do_not_wait_for_each_other(dispatcher: EventDispatcher) -> None:
    """Two handlers draining at the same time each return once the rest is done, instead of deadlocking."""
    log: list[str] = []

    def draining(name: str) -> None:
        gevent.sleep(0.01)  # both handlers are running before either drains
        dispatcher.Dispatch("inner", name)
        dispatcher.ClearQueue(timeout=10)
        log.append(f"{name} after ClearQueue")

    dispatcher.RegisterHandler("first|second", draining)
    dispatcher.RegisterHandler("inner", lambda name, origin: log.append(f"inner from {origin}"))
    dispatcher.error_policy = "raise"  # a TimeoutError in a handler must fail the test
    dispatcher.Dispatch("first")
    dispatcher.Dispatch("second")
    dispatcher.ClearQueue(timeout=10)
    assert sorted(log) == ["first after ClearQueue", "inner from first", "inner from second", "second after ClearQueue"]
    assert log.index("inner from first") < log.index("first after ClearQueue")
    assert log.index("inner from second") < log.index("second after ClearQueue")


def test_clear_queue_from_the_hub_is_refused(dispatcher: EventDispatcher) -> None:
    """``ClearQueue`` called from a hub callback raises QueueUsageError, since the hub cannot wait."""
    outcome: list[BaseException] = []
    called = gevent.event.Event()

    def in_hub() -> None:
        assert greenlet.getcurrent() is gevent.get_hub()
        try:
            dispatcher.ClearQueue()
        except BaseException as exc:  # reported by the test below
            outcome.append(exc)
        called.set()

    gevent.get_hub().loop.run_callback(in_hub)
    assert called.wait(timeout=10)
    assert len(outcome) == 1
    assert isinstance(outcome[0], QueueUsageError)
    with pytest.raises(QueueUsageError, match=r"ClearQueue\(\) cannot wait inside the gevent hub"):
        raise outcome[0]


def test_clear_queue_timeout(dispatcher: EventDispatcher) -> None:
    """``ClearQueue(timeout=...)`` raises TimeoutError when handlers are still running; a later drain finishes them."""
    release = gevent.event.Event()
    finished: list[str] = []

    def blocked(name: str) -> None:
        release.wait()
        finished.append(name)

    dispatcher.RegisterHandler("blocked", blocked)
    dispatcher.Dispatch("blocked")
    with pytest.raises(TimeoutError, match=r"the event queue was not drained within 0.05 s"):
        dispatcher.ClearQueue(timeout=0.05)
    assert finished == []
    release.set()
    dispatcher.ClearQueue(timeout=10)
    assert finished == ["blocked"]


# -- interpreter exit ----------------------------------------------------------------------------

EXIT_SCRIPT = textwrap.dedent(
    """
    import atexit
    import sys
    import threading

    out = sys.argv[1]
    handled = []

    def report():
        # Registered before the library is imported, so it runs after the library's exit drain.
        with open(out, "w") as stream:
            stream.write(f"{len(handled)} {len(set(handled))}")

    atexit.register(report)

    from django_event_system.core import Dispatcher

    Dispatcher.RegisterHandler("exit::test", lambda name, number: handled.append(number))

    def from_thread():
        for number in range(10_000, 10_100):
            Dispatcher.Dispatch("exit::test", number)

    for number in range(10_000):
        Dispatcher.Dispatch("exit::test", number)
    thread = threading.Thread(target=from_thread)
    thread.start()
    thread.join()
    # The thread's events were handled as it ended; this thread's wait for the exit drain.
    assert handled == list(range(10_000, 10_100)), handled
    """
)


def test_interpreter_exit_drains_the_queue(tmp_path: Path) -> None:
    """A script that dispatches 10,100 events (some from a thread that ends) and ends without draining handles all."""
    out = tmp_path / "count.txt"
    result = run_python("-W", "error", "-c", EXIT_SCRIPT, str(out), timeout=120)
    assert result.stderr == ""
    assert out.read_text() == "10100 10100"


def test_a_drain_adopting_an_ending_threads_events_meanwhile_loses_none(
    dispatcher: EventDispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A thread ending outside ``threading`` while a drain elsewhere adopts its queue: every event is handled once."""
    import types

    from django_event_system.core import _local_queue as _queue

    seen: list[int] = []
    dispatcher.RegisterHandler("race", lambda name, number: seen.append(number))
    queue = dispatcher._queue
    here = queue._state()
    # The queue of a thread that ended where nothing can run any more (its life is marked ended).
    ended = _queue._HubState(types.SimpleNamespace(ended=True, hub=here.hub, drains=[], waiters=[]))  # type: ignore[arg-type]
    ended.pending.extend(("race", (number,), {}, None) for number in range(100))
    queue._states.append(ended)
    real_take_all = _queue._take_all
    adopting = False

    def take_all_while_a_drain_adopts(pending: Any) -> list[Any]:
        nonlocal adopting
        items = real_take_all(pending)
        if not adopting:  # the other thread's drain runs in the middle of the hand-over
            adopting = True
            queue._adopt(here, everything=False)
        return items

    monkeypatch.setattr(_queue, "_take_all", take_all_while_a_drain_adopts)
    queue._thread_ended(ended, can_run=False)
    monkeypatch.setattr(_queue, "_take_all", real_take_all)
    dispatcher.ClearQueue(timeout=10)
    assert sorted(seen) == list(range(100))
