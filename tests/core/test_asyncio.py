"""Events dispatched where an asyncio loop runs: handled in the bridge thread, never in the loop."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
import pytest

from django_event_system.core import EventDispatcher, HandlerErrors
from django_event_system.core._bridge import in_bridge_thread
from tests.scripts import run_python


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Await until ``condition()`` holds, letting the loop run; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout} s waiting for {condition}")
        await asyncio.sleep(0.005)


def test_events_of_a_coroutine_are_handled_while_the_loop_runs(dispatcher: EventDispatcher) -> None:
    """No ClearQueue: the handlers run in another thread as soon as the coroutine awaits."""
    calls: list[tuple[int, int, bool]] = []

    def handler(name: str, number: int) -> None:
        calls.append((number, threading.get_ident(), in_bridge_thread()))

    dispatcher.RegisterHandler("async::.*", handler)

    async def view() -> int:
        for number in range(20):
            dispatcher.Dispatch("async::saved", number)
        assert calls == []  # queued, not run in the caller's stack
        await until(lambda: len(calls) == 20)
        return threading.get_ident()

    loop_thread = asyncio.run(view())
    assert [number for number, _, _ in calls] == list(range(20))
    assert {thread for _, thread, _ in calls} != {loop_thread}
    assert all(bridged for _, _, bridged in calls)


def test_a_blocking_handler_does_not_block_the_loop(dispatcher: EventDispatcher) -> None:
    """A handler that blocks its thread (no cooperative I/O) leaves the loop free to run."""
    started, release = threading.Event(), threading.Event()

    def blocking(name: str) -> None:
        started.set()
        release.wait(10)

    dispatcher.RegisterHandler("async::slow", blocking)

    async def view() -> int:
        dispatcher.Dispatch("async::slow")
        await until(started.is_set)
        ticks = 0
        for _ in range(10):  # the loop keeps running while the handler is blocked
            await asyncio.sleep(0.001)
            ticks += 1
        assert not release.is_set()
        release.set()
        return ticks

    assert asyncio.run(view()) == 10
    dispatcher.ClearQueue(timeout=10)


def test_handlers_of_a_coroutine_run_concurrently_on_the_bridge(dispatcher: EventDispatcher) -> None:
    """Handlers that wait on gevent overlap in the bridge's worker pool."""
    active = most = 0

    def waiting(name: str) -> None:
        nonlocal active, most
        active += 1
        most = max(most, active)
        gevent.sleep(0.05)
        active -= 1

    dispatcher.RegisterHandler("async::io", waiting)

    async def view() -> None:
        for _ in range(10):
            dispatcher.Dispatch("async::io")
        dispatcher.ClearQueue(timeout=10)

    asyncio.run(view())
    assert most > 1


def test_clear_queue_in_the_loop_waits_for_the_bridge_and_its_cascades(dispatcher: EventDispatcher) -> None:
    """ClearQueue in the loop's thread returns when the handed-over events and their cascades are done."""
    calls: list[str] = []

    def first(name: str) -> None:
        gevent.sleep(0.05)
        calls.append(name)
        dispatcher.Dispatch("async::second")

    def second(name: str) -> None:
        gevent.sleep(0.05)
        calls.append(name)

    dispatcher.RegisterHandler("async::first", first)
    dispatcher.RegisterHandler("async::second", second)

    async def view() -> list[str]:
        dispatcher.Dispatch("async::first")
        await asyncio.sleep(0)  # handed over now
        dispatcher.Dispatch("async::first")  # still pending in this thread: ClearQueue hands it over
        dispatcher.ClearQueue(timeout=10)
        return list(calls)

    assert asyncio.run(view()) == ["async::first", "async::first", "async::second", "async::second"]


def test_raise_policy_errors_reach_clear_queue_in_the_loop(dispatcher: EventDispatcher) -> None:
    """Under ``error_policy="raise"`` a bridge handler's error is raised by ClearQueue in the loop."""
    dispatcher.error_policy = "raise"

    def failing(name: str) -> None:
        raise ValueError("bridge handler failed")

    dispatcher.RegisterHandler("async::bad", failing)

    async def view() -> None:
        dispatcher.Dispatch("async::bad")
        dispatcher.ClearQueue(timeout=10)

    with pytest.raises(HandlerErrors) as caught:
        asyncio.run(view())
    [error] = caught.value.exceptions
    assert isinstance(error, ValueError)
    assert str(error) == "bridge handler failed"


def test_clear_queue_after_the_loop_ended_waits_for_the_bridge(dispatcher: EventDispatcher) -> None:
    """A thread that handed events over and no longer runs a loop still waits for them."""
    calls: list[int] = []
    started = threading.Event()

    def slow(name: str, number: int) -> None:
        started.set()
        gevent.sleep(0.2)
        calls.append(number)

    dispatcher.RegisterHandler("async::later", slow)

    async def view() -> None:
        dispatcher.Dispatch("async::later", 1)
        await until(started.is_set)

    asyncio.run(view())
    assert calls == []
    dispatcher.ClearQueue(timeout=10)
    assert calls == [1]


def test_bridge_flush_gives_up_after_the_timeout(dispatcher: EventDispatcher) -> None:
    """ClearQueue(timeout) in the loop raises TimeoutError when a bridge handler takes longer."""
    release = threading.Event()

    def stuck(name: str) -> None:
        release.wait(10)

    dispatcher.RegisterHandler("async::stuck", stuck)

    async def view() -> None:
        dispatcher.Dispatch("async::stuck")
        dispatcher.ClearQueue(timeout=0.1)

    try:
        with pytest.raises(TimeoutError, match=r"the events handed over by asyncio code were not handled within 0.1 s"):
            asyncio.run(view())
    finally:
        release.set()


def test_a_process_exiting_after_asyncio_run_handles_every_event(tmp_path: Path) -> None:
    """Events handed to the bridge by a loop in another thread are handled before the process ends."""
    out = tmp_path / "handled.txt"
    script = textwrap.dedent(
        f"""
        import asyncio, threading
        import gevent
        from django_event_system.core import Dispatcher

        def handler(name, number):
            gevent.sleep(0.01)
            with open({str(out)!r}, "a") as f:
                f.write(f"{{number}}\\n")

        Dispatcher.RegisterHandler("exit::.*", handler)

        async def main():
            for number in range(500):
                Dispatcher.Dispatch("exit::event", number)
            await asyncio.sleep(0)

        thread = threading.Thread(target=asyncio.run, args=(main(),))
        thread.start()
        thread.join()
        """
    )
    run_python("-c", script)
    handled = sorted(int(line) for line in out.read_text().split())
    assert handled == list(range(500))


def test_the_bridge_is_started_once_per_dispatcher(dispatcher: EventDispatcher) -> None:
    """Every loop's events go through one bridge thread per dispatcher."""
    threads: set[int] = set()

    def handler(name: str, *args: Any) -> None:
        threads.add(threading.get_ident())

    dispatcher.RegisterHandler("async::.*", handler)

    async def view() -> None:
        dispatcher.Dispatch("async::once")
        dispatcher.ClearQueue(timeout=10)

    asyncio.run(view())
    asyncio.run(view())
    worker = threading.Thread(target=asyncio.run, args=(view(),))
    worker.start()
    worker.join()
    assert len(threads) == 1


def test_events_of_a_loop_started_after_the_thread_dispatched_are_handed_over(dispatcher: EventDispatcher) -> None:
    """A thread that dispatched before its loop ran still hands the loop's events to the bridge."""
    calls: list[str] = []
    dispatcher.RegisterHandler("early::.*", lambda name: calls.append(name))
    dispatcher.Dispatch("early::before")  # at start-up, before the loop: queued in this thread

    async def main() -> None:
        dispatcher.Dispatch("early::inside")
        await until(lambda: len(calls) == 2)  # no ClearQueue: the docs' own loop

    asyncio.run(main())
    assert sorted(calls) == ["early::before", "early::inside"]


@pytest.mark.parametrize("raised", [SystemExit(3), KeyboardInterrupt()], ids=["SystemExit", "KeyboardInterrupt"])
def test_the_bridge_survives_a_handler_that_raises_a_process_ending_exception(
    dispatcher: EventDispatcher, raised: BaseException
) -> None:
    """In the bridge thread SystemExit and KeyboardInterrupt are failures: reported, and the bridge goes on."""
    failures: list[BaseException | None] = []
    calls: list[str] = []
    dispatcher.error_policy = lambda failure: failures.append(failure.exception.__cause__)

    def fatal(name: str) -> None:
        raise raised

    dispatcher.RegisterHandler("bridge::fatal", fatal)
    dispatcher.RegisterHandler("bridge::later", lambda name: calls.append(name))

    async def main() -> None:
        dispatcher.Dispatch("bridge::fatal")
        await until(lambda: len(failures) == 1)
        dispatcher.Dispatch("bridge::later")
        await until(lambda: calls == ["bridge::later"])
        dispatcher.ClearQueue(timeout=5)

    asyncio.run(main())
    assert failures == [raised]


def test_a_bridge_thread_that_dies_is_replaced(dispatcher: EventDispatcher, caplog: pytest.LogCaptureFixture) -> None:
    """A greenlet that ends the bridge's hub with SystemExit costs no later event and no drain."""
    calls: list[str] = []

    def kill_the_hub(name: str) -> None:
        gevent.spawn(sys.exit, 5)  # the hub throws its SystemExit into the thread's main greenlet
        gevent.sleep(0.05)

    dispatcher.RegisterHandler("bridge::kill", kill_the_hub)
    dispatcher.RegisterHandler("bridge::after", lambda name: calls.append(name))

    async def main() -> None:
        dispatcher.Dispatch("bridge::kill")
        dispatcher.ClearQueue(timeout=5)
        dispatcher.Dispatch("bridge::after")
        await until(lambda: calls == ["bridge::after"])
        dispatcher.ClearQueue(timeout=5)

    asyncio.run(main())
    assert calls == ["bridge::after"]


def test_errors_collected_after_a_timed_out_flush_are_raised_later(dispatcher: EventDispatcher) -> None:
    """When ClearQueue in the loop times out, what the bridge's handlers raised reaches the next ClearQueue."""
    dispatcher.error_policy = "raise"

    def slow_failure(name: str) -> None:
        gevent.sleep(0.2)
        raise ValueError("late failure")

    dispatcher.RegisterHandler("bridge::late", slow_failure)

    async def main() -> None:
        dispatcher.Dispatch("bridge::late")
        with pytest.raises(TimeoutError):
            dispatcher.ClearQueue(timeout=0.05)
        with pytest.raises(HandlerErrors) as caught:
            dispatcher.ClearQueue(timeout=5)
        assert [str(exc) for exc in caught.value.exceptions] == ["late failure"]

    asyncio.run(main())


class _DeadBridge:
    """Stands for a bridge whose thread ended with items still in its inbox."""

    alive = False

    def __init__(self, items: list[Any]) -> None:
        import collections

        self._inbox = collections.deque(items)

    def flush(self, timeout: float | None = None) -> list[Callable[[], None]]:
        from django_event_system.core._bridge import BridgeDiedError

        raise BridgeDiedError("the bridge thread ended")


def test_a_bridge_found_dead_is_replaced_and_its_inbox_handed_over(
    dispatcher: EventDispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    """A bridge whose thread ended is replaced at the next hand-over or flush, and nothing it held is lost."""
    calls: list[str] = []
    dispatcher.RegisterHandler("dead::.*", lambda name: calls.append(name))
    queue = dispatcher._queue
    queue._bridge = _DeadBridge([("dead::left", (), {}, None)])  # type: ignore[assignment]

    async def main() -> None:
        dispatcher.Dispatch("dead::after")
        dispatcher.ClearQueue(timeout=10)  # the flush meets the dead bridge, then flushes its heir

    asyncio.run(main())
    assert sorted(calls) == ["dead::after", "dead::left"]
    assert "the bridge thread ended; a new one takes over what it had not handled" in caplog.text
    assert queue._bridge is not None
    assert queue._bridge.alive
    # A flush that finds its bridge dead flushes the heir, which took the inbox over.
    queue._bridge = _DeadBridge([("dead::flushed", (), {}, None)])  # type: ignore[assignment]
    dispatcher.ClearQueue(timeout=10)
    assert calls[-1] == "dead::flushed"
