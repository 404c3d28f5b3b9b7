"""Measures the peers on the same one-handler workload: a bare deque, Django signals, pyee, blinker;
and pyee's ``AsyncIOEventEmitter`` on the coroutine handlers' workloads.

Run by ``benchmarks.run`` in ``.venv-bench``: ``python -m benchmarks.peers [--quick] [SECTION...]``.
Every handler does what this package's benchmark handler does: count the call.
"""

from __future__ import annotations

import asyncio
import collections
import sys
from collections.abc import Callable
from typing import Any

from ._common import (
    BATCH,
    COROUTINE_SLEEP_S,
    DRAIN_EVENTS,
    JSON,
    Settings,
    Tally,
    describe_environment,
    drain_seconds,
    emit,
    ns_per_event,
    parse_args,
    progress,
)


class Order:
    """The sender of the signals, as a model class would be."""


def floor(settings: Settings) -> JSON:
    """The floor of any queue: append ``(name, args)`` to a deque x1000, then pop and call the handler."""
    tally = Tally()
    queue: collections.deque[tuple[str, tuple[Any, ...]]] = collections.deque()

    def handler(name: str, value: int) -> None:
        tally.calls += 1

    def batch() -> None:
        for i in range(BATCH):
            queue.append(("bench::one", (i,)))
        while queue:
            name, args = queue.popleft()
            handler(name, *args)

    return ns_per_event(batch, settings).as_json(tally.calls)


def signal(settings: Settings) -> JSON:
    """Django's synchronous ``Signal.send(sender, value=i)``, one receiver connected with ``weak=False``."""
    from django.dispatch import Signal

    tally = Tally()
    order_paid = Signal()

    def receiver(sender: type[Order], value: int, **kwargs: Any) -> None:
        tally.calls += 1

    order_paid.connect(receiver, weak=False)

    def batch() -> None:
        for i in range(BATCH):
            order_paid.send(Order, value=i)

    return ns_per_event(batch, settings).as_json(tally.calls)


def pyee(settings: Settings) -> JSON:
    """pyee's ``EventEmitter.emit(name, i)``, one listener."""
    from pyee import EventEmitter

    tally = Tally()
    emitter: Any = EventEmitter()

    def listener(value: int) -> None:
        tally.calls += 1

    emitter.on("bench::one", listener)

    def batch() -> None:
        for i in range(BATCH):
            emitter.emit("bench::one", i)

    return ns_per_event(batch, settings).as_json(tally.calls)


def blinker(settings: Settings) -> JSON:
    """blinker's ``Signal.send(sender, value=i)``, one receiver connected with ``weak=False``."""
    from blinker import Signal

    tally = Tally()
    order_paid: Any = Signal()

    def receiver(sender: type[Order], value: int) -> None:
        tally.calls += 1

    order_paid.connect(receiver, weak=False)

    def batch() -> None:
        for i in range(BATCH):
            order_paid.send(Order, value=i)

    return ns_per_event(batch, settings).as_json(tally.calls)


class _AsyncEmitter:
    """pyee's ``AsyncIOEventEmitter`` on an event loop of its own, and a count of finished listeners.

    pyee schedules each coroutine listener as a task on the loop and returns; ``emit_all`` emits
    inside the running loop and waits for the batch's last listener, which sets an
    ``asyncio.Event``. That costs pyee less than its own ``wait_for_complete()``, which waits on
    every task.
    """

    def __init__(self, listener: Callable[[int], Any]) -> None:
        from pyee.asyncio import AsyncIOEventEmitter

        self.tally = Tally()
        self.loop = asyncio.new_event_loop()
        self._emitter: Any = AsyncIOEventEmitter(loop=self.loop)
        self._emitter.on("bench::async", listener)
        self._expected = 0
        self._all_finished = asyncio.Event()

    def finished(self) -> None:
        """Count one listener that finished; the batch's last one wakes ``emit_all``."""
        self.tally.calls += 1
        if self.tally.calls == self._expected:
            self._all_finished.set()

    def emit_all(self, events: int) -> None:
        """Run the loop until ``events`` events are emitted and each listener coroutine has finished."""
        self.loop.run_until_complete(self._emit_all(events))

    async def _emit_all(self, events: int) -> None:
        self._expected = self.tally.calls + events
        self._all_finished.clear()
        emitter = self._emitter
        for i in range(events):
            emitter.emit("bench::async", i)
        await self._all_finished.wait()


def pyee_coroutine(settings: Settings) -> JSON:
    """pyee's ``AsyncIOEventEmitter.emit(name, i)`` x1000, one ``async def`` listener that only counts.

    Each batch runs the loop until every listener has finished, so the loop's work is timed too:
    the tasks pyee creates, their steps and the wake-up (``run_until_complete`` itself costs some
    microseconds a batch, a few nanoseconds an event).
    """

    async def listener(value: int) -> None:
        emitter.finished()

    emitter = _AsyncEmitter(listener)
    timing = ns_per_event(lambda: emitter.emit_all(BATCH), settings)
    emitter.loop.close()
    return timing.as_json(emitter.tally.calls)


def pyee_coroutine_io(settings: Settings) -> JSON:
    """1,000 emits whose ``async def`` listener does ``await asyncio.sleep(0.01)``: all wait at once."""

    async def listener(value: int) -> None:
        await asyncio.sleep(COROUTINE_SLEEP_S)
        emitter.finished()

    emitter = _AsyncEmitter(listener)
    result = drain_seconds(lambda: emitter.emit_all(DRAIN_EVENTS), emitter.tally, DRAIN_EVENTS, settings)
    emitter.loop.close()
    return {**result, "sleep_s": COROUTINE_SLEEP_S}


SECTIONS: dict[str, Callable[[Settings], JSON]] = {
    "floor": floor,
    "signal": signal,
    "pyee": pyee,
    "blinker": blinker,
    "pyee_coroutine": pyee_coroutine,
    "pyee_coroutine_io": pyee_coroutine_io,
}


def main(argv: list[str]) -> None:
    """Run the named sections (all by default) and print their results as JSON."""
    chosen, settings = parse_args(argv, SECTIONS)
    results: JSON = {}
    for name in chosen:
        progress(f"peers: {name}")
        results[name] = SECTIONS[name](settings)
    emit(describe_environment(["django", "pyee", "blinker"]), results)


if __name__ == "__main__":
    main(sys.argv[1:])
