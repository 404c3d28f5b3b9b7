"""Coroutine handlers: awaited on a loop of their own, with the order, bounds and drains of any handler."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest

from django_event_system.core import (
    CascadeDepthError,
    Event,
    EventDispatcher,
    EventListener,
    HandlerErrors,
    InMemoryTransport,
    InvalidHandlerError,
    QueueUsageError,
    using_transport,
)


class Shipped(Event):
    order_id: int


def test_a_coroutine_handler_is_awaited_off_the_callers_thread(dispatcher: EventDispatcher) -> None:
    """``RegisterHandler`` with an ``async def`` awaits it; it runs on a loop in another thread."""
    ran: list[tuple[str, int, int]] = []

    async def handler(name: str, number: int) -> None:
        await asyncio.sleep(0.01)
        ran.append((name, number, threading.get_ident()))

    dispatcher.RegisterHandler("async::.*", handler)
    dispatcher.Dispatch("async::one", 1)
    assert ran == []  # queued, not run in the caller's stack
    dispatcher.ClearQueue(timeout=10)
    assert [(name, number) for name, number, _ in ran] == [("async::one", 1)]
    assert ran[0][2] != threading.get_ident()


def test_coroutine_handlers_never_run_on_the_callers_loop(dispatcher: EventDispatcher) -> None:
    """Dispatched from async code, a coroutine handler is awaited on another loop, and the caller's loop runs on."""
    loops: list[asyncio.AbstractEventLoop] = []

    async def handler(name: str) -> None:
        loops.append(asyncio.get_running_loop())

    dispatcher.RegisterHandler("async::loop", handler)

    async def view() -> asyncio.AbstractEventLoop:
        dispatcher.Dispatch("async::loop")
        await dispatcher.aclear_queue(timeout=10)
        return asyncio.get_running_loop()

    callers_loop = asyncio.run(view())
    assert len(loops) == 1
    assert loops[0] is not callers_loop


def test_handlers_of_one_event_run_in_order_across_sync_and_async(dispatcher: EventDispatcher) -> None:
    """A coroutine handler that awaits still finishes before the next handler of its event starts."""
    order: list[str] = []

    async def first(name: str) -> None:
        order.append("first starts")
        await asyncio.sleep(0.05)
        order.append("first ends")

    dispatcher.RegisterHandler("ordered", first, priority=2)
    dispatcher.RegisterHandler("ordered", lambda name: order.append("second"), priority=1)
    dispatcher.Dispatch("ordered")
    dispatcher.ClearQueue(timeout=10)
    assert order == ["first starts", "first ends", "second"]


def test_listen_and_event_listener_take_coroutine_handlers(dispatcher: EventDispatcher) -> None:
    """``listen(EventClass)`` and ``EventListener.handle`` may be ``async def``: both receive the event."""
    seen: list[tuple[str, int]] = []

    @dispatcher.listen(Shipped)
    async def on_shipped(event: Shipped) -> None:
        await asyncio.sleep(0)
        seen.append(("listen", event.order_id))

    own_dispatcher = dispatcher

    class Notify(EventListener):
        listensFor = [Shipped]
        dispatcher = own_dispatcher

        async def handle(self, event: Shipped) -> None:
            await asyncio.sleep(0)
            seen.append(("listener", event.order_id))

    try:
        dispatcher.Dispatch(Shipped(order_id=7))
        dispatcher.ClearQueue(timeout=10)
    finally:
        Notify.unregister()
    assert sorted(seen) == [("listen", 7), ("listener", 7)]


def test_a_failing_coroutine_handler_meets_the_error_policy(dispatcher: EventDispatcher) -> None:
    """Its exception is raised by ClearQueue under ``"raise"``, and the other handlers still run."""
    after: list[str] = []

    async def broken(name: str) -> None:
        await asyncio.sleep(0)
        raise ValueError("async handler broke")

    dispatcher.error_policy = "raise"
    dispatcher.RegisterHandler("broken", broken, priority=1)
    dispatcher.RegisterHandler("broken", lambda name: after.append(name))
    dispatcher.Dispatch("broken")
    with pytest.raises(HandlerErrors) as caught:
        dispatcher.ClearQueue(timeout=10)
    assert [str(exc) for exc in caught.value.exceptions] == ["async handler broke"]
    assert after == ["broken"]


def test_events_a_coroutine_dispatches_are_part_of_the_same_drain(dispatcher: EventDispatcher) -> None:
    """ClearQueue returns only once the events a coroutine handler dispatched are handled too."""
    seen: list[str] = []

    async def first(name: str) -> None:
        await asyncio.sleep(0.02)
        dispatcher.Dispatch("cascade::second")
        await asyncio.sleep(0.02)
        seen.append(name)

    async def second(name: str) -> None:
        await asyncio.sleep(0.05)
        seen.append(name)

    dispatcher.RegisterHandler("cascade::first", first)
    dispatcher.RegisterHandler("cascade::second", second)
    dispatcher.Dispatch("cascade::first")
    dispatcher.ClearQueue(timeout=10)
    assert sorted(seen) == ["cascade::first", "cascade::second"]


def test_a_coroutine_that_dispatches_its_own_event_is_stopped_at_max_depth(dispatcher: EventDispatcher) -> None:
    """The cascade depth follows the coroutine, so a handler dispatching what it handles stops at ``max_depth``."""
    failures: list[Exception] = []
    dispatcher.max_depth = 5
    dispatcher.error_policy = lambda failure: failures.append(failure.exception)
    calls = 0

    async def loop(name: str) -> None:
        nonlocal calls
        calls += 1
        dispatcher.Dispatch(name)

    dispatcher.RegisterHandler("loop", loop)
    dispatcher.Dispatch("loop")
    dispatcher.ClearQueue(timeout=10)
    assert calls == 5
    assert [type(exc) for exc in failures] == [CascadeDepthError]


def test_coroutine_handlers_count_in_the_pool(dispatcher: EventDispatcher) -> None:
    """With ``pool_size=2`` no more than two coroutine handlers are awaited at once."""
    dispatcher.pool_size = 2
    active = most = 0

    async def waiting(name: str) -> None:
        nonlocal active, most
        active += 1
        most = max(most, active)
        await asyncio.sleep(0.05)
        active -= 1

    dispatcher.RegisterHandler("pool", waiting)
    for _ in range(6):
        dispatcher.Dispatch("pool")
    dispatcher.ClearQueue(timeout=10)
    assert most == 2


def test_aclear_queue_inside_a_coroutine_handler_waits_for_its_cascade(dispatcher: EventDispatcher) -> None:
    """``await aclear_queue()`` in a coroutine handler returns once the events it dispatched are handled."""
    seen: list[str] = []

    async def parent(name: str) -> None:
        dispatcher.Dispatch("child")
        await dispatcher.aclear_queue(timeout=5)
        seen.append(f"parent saw {seen}")

    async def child(name: str) -> None:
        await asyncio.sleep(0.05)
        seen.append("child")

    dispatcher.pool_size = 1  # the child's worker must not be the one awaiting the parent
    dispatcher.error_policy = "raise"
    dispatcher.RegisterHandler("parent", parent)
    dispatcher.RegisterHandler("child", child)
    dispatcher.Dispatch("parent")
    dispatcher.ClearQueue(timeout=10)
    assert seen == ["child", "parent saw ['child']"]


def test_aclear_queue_in_async_code_waits_without_blocking_the_loop(dispatcher: EventDispatcher) -> None:
    """In an ``async def`` view, ``await aclear_queue()`` waits for the bridge while the loop keeps running."""
    seen: list[str] = []
    ticks = 0

    def slow(name: str) -> None:
        import gevent

        gevent.sleep(0.1)
        seen.append(name)

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    dispatcher.RegisterHandler("view::slow", slow)

    async def view() -> None:
        task = asyncio.create_task(ticker())
        dispatcher.Dispatch("view::slow")
        await dispatcher.aclear_queue(timeout=10)
        task.cancel()

    asyncio.run(view())
    assert seen == ["view::slow"]
    assert ticks > 3  # the loop ran while it waited


def test_aclear_queue_raises_the_bridges_errors_and_its_timeout(dispatcher: EventDispatcher) -> None:
    """Under ``"raise"`` the bridge's errors reach ``aclear_queue``; a timeout is raised where it awaited."""
    dispatcher.error_policy = "raise"
    release = threading.Event()

    def broken(name: str) -> None:
        raise ValueError("bridge broke")

    def stuck(name: str) -> None:
        release.wait(10)

    dispatcher.RegisterHandler("view::broken", broken)
    dispatcher.RegisterHandler("view::stuck", stuck)

    async def view() -> None:
        dispatcher.Dispatch("view::broken")
        with pytest.raises(HandlerErrors) as caught:
            await dispatcher.aclear_queue(timeout=10)
        assert [str(exc) for exc in caught.value.exceptions] == ["bridge broke"]
        dispatcher.Dispatch("view::stuck")
        with pytest.raises(TimeoutError, match=r"not handled within 0\.05 s"):
            await dispatcher.aclear_queue(timeout=0.05)
        release.set()
        await dispatcher.aclear_queue(timeout=10)

    asyncio.run(view())


def test_ensure_queue_is_cleared_on_a_coroutine_drains_after_its_body(dispatcher: EventDispatcher) -> None:
    """The decorated ``async def`` dispatches in its body; the events are handled when its caller's await returns."""
    seen: list[str] = []
    dispatcher.RegisterHandler("body::.*", lambda name: seen.append(name))

    @dispatcher.EnsureQueueIsCleared
    async def service() -> str:
        await asyncio.sleep(0)
        dispatcher.Dispatch("body::event")
        return "done"

    async def main() -> tuple[str, list[str]]:
        result = await service()
        return result, list(seen)

    assert asyncio.run(main()) == ("done", ["body::event"])


def test_an_async_with_block_drains_when_it_ends(dispatcher: EventDispatcher) -> None:
    """``async with EnsureQueueIsCleared()`` awaits the drain at the end of the block."""
    seen: list[str] = []
    dispatcher.RegisterHandler("block::.*", lambda name: seen.append(name))

    async def main() -> list[str]:
        async with dispatcher.EnsureQueueIsCleared():
            dispatcher.Dispatch("block::event")
        return list(seen)

    assert asyncio.run(main()) == ["block::event"]


def test_a_function_returning_a_coroutine_has_it_awaited(dispatcher: EventDispatcher) -> None:
    """A plain callable (a lambda, a partial) that returns a coroutine has that coroutine awaited too."""
    seen: list[str] = []

    async def record(name: str) -> None:
        seen.append(name)

    dispatcher.RegisterHandler("returned", lambda name: record(name))
    dispatcher.Dispatch("returned")
    dispatcher.ClearQueue(timeout=10)
    assert seen == ["returned"]


def test_coroutine_handlers_run_in_sync_mode_before_dispatch_returns(dispatcher: EventDispatcher) -> None:
    """In sync mode ``Dispatch`` awaits the coroutine handler inline, off the caller's thread."""
    seen: list[int] = []

    async def handler(name: str) -> None:
        await asyncio.sleep(0.01)
        seen.append(threading.get_ident())

    dispatcher.RegisterHandler("sync::async", handler)
    with dispatcher.sync_mode():
        dispatcher.Dispatch("sync::async")
        assert len(seen) == 1
    assert seen[0] != threading.get_ident()


def test_clear_queue_inside_a_coroutine_handler_is_refused(dispatcher: EventDispatcher) -> None:
    """A blocking ClearQueue in a coroutine handler would stall every coroutine handler: it raises instead."""
    failures: list[Exception] = []
    dispatcher.error_policy = lambda failure: failures.append(failure.exception)

    async def blocking(name: str) -> None:
        dispatcher.ClearQueue()

    dispatcher.RegisterHandler("blocking", blocking)
    dispatcher.Dispatch("blocking")
    dispatcher.ClearQueue(timeout=10)
    assert [type(exc) for exc in failures] == [QueueUsageError]
    assert "use 'await Dispatcher.aclear_queue()' instead" in str(failures[0])


def test_an_async_generator_is_refused_at_registration(dispatcher: EventDispatcher) -> None:
    """An async generator function cannot be a handler: ``RegisterHandler`` says so at once."""

    async def produce(name: str) -> AsyncIterator[int]:
        yield 1

    with pytest.raises(InvalidHandlerError) as caught:
        dispatcher.RegisterHandler("gen", produce)
    assert str(caught.value) == (
        f"the handler {produce.__module__}:{produce.__qualname__} for pattern 'gen' is an async generator "
        "function; a handler must be a function or an async def function (a coroutine function), whose "
        "coroutine is awaited"
    )

    class Producer:
        async def __call__(self, name: str) -> AsyncIterator[int]:
            yield 1

    with pytest.raises(InvalidHandlerError, match="is an async generator function"):
        dispatcher.RegisterHandler("gen", Producer())


queued_receipts: list[int] = []


async def queued_receipt(name: str, event: Shipped) -> None:
    await asyncio.sleep(0)
    queued_receipts.append(event.order_id)


def test_a_queued_coroutine_handler_is_awaited_in_the_worker(dispatcher: EventDispatcher) -> None:
    """A queued ``async def`` handler runs on the worker side like any queued handler."""
    transport = InMemoryTransport()
    with using_transport(transport), dispatcher.RegisterHandler(Shipped, queued_receipt, queued=True):
        dispatcher.Dispatch(Shipped(order_id=3))
        dispatcher.ClearQueue(timeout=10)
        [result] = transport.work()
    assert result.outcome.value == "done"
    assert queued_receipts == [3]


def test_an_async_generator_handle_is_refused_when_the_listener_is_defined() -> None:
    """An EventListener whose ``handle`` is an async generator fails at its definition."""
    with pytest.raises(InvalidHandlerError, match=r"<locals>\.Producing\.handle is an async generator function; "):

        class Producing(EventListener):
            listensFor = ["gen"]

            async def handle(self, name: str) -> AsyncIterator[int]:
                yield 1


def test_a_coroutine_whose_waiting_greenlet_is_killed_is_cancelled(dispatcher: EventDispatcher) -> None:
    """Killing the greenlet that awaits a coroutine handler cancels the coroutine; the kill is reported."""
    import gevent

    started = threading.Event()
    cancelled = threading.Event()
    failures: list[Exception] = []
    dispatcher.error_policy = lambda failure: failures.append(failure.exception)

    async def long(name: str) -> None:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    dispatcher.RegisterHandler("long", long)
    with dispatcher.sync_mode():
        waiting = gevent.spawn(dispatcher.Dispatch, "long")
        gevent.sleep(0)
        assert started.wait(5)
        waiting.kill(block=True, timeout=5)
    assert cancelled.wait(5)
    assert [type(exc.__cause__) for exc in failures] == [gevent.GreenletExit]
