"""Measures this package: queued and sync dispatch, pattern scaling with seen and new names, the
cache bound, registrations and what they leave, I/O, memory, and coroutine handlers.

Run by ``benchmarks.run`` in ``.venv-bench``: ``python -m benchmarks.ours [--quick] [SECTION...]``.
"""

from __future__ import annotations

import asyncio
import gc
import re
import sys
import time
import tracemalloc
from collections.abc import Callable

import gevent

from django_event_system import Dispatcher, EventDispatcher

from ._common import (
    BATCH,
    COROUTINE_SLEEP_S,
    DRAIN_EVENTS,
    JSON,
    MATCHING_PATTERN,
    PATTERN_COUNTS,
    Prebuilt,
    Settings,
    Tally,
    Timing,
    describe_environment,
    drain_seconds,
    emit,
    names_batch,
    names_timing,
    new_names,
    noise_patterns,
    ns_per_event,
    parse_args,
    progress,
    seen_names,
)

REGISTRATIONS_EVERY = 100
"""In the measurements with registrations: a handler registered and cancelled every this many events."""

REQUEST_PATTERNS: dict[str, Callable[[int], str]] = {
    "literal": lambda i: f"request::{i}",
    "regex": lambda i: f"request::{i}::(.*)",
}
"""The patterns of per-request handlers, each used once: a literal name, or a regular expression."""

CHURN_REGISTRATIONS = 30_000
"""How many distinct patterns the memory measurement registers and cancels, of each kind."""


def _counting_handler(tally: Tally) -> Callable[[str, int], None]:
    def handler(name: str, value: int) -> None:
        tally.calls += 1

    return handler


def _drained_batches(name: str, handler: Callable[[str, int], object], settings: Settings) -> Timing:
    """``Dispatcher.Dispatch(name, i)`` x1000 then ``Dispatcher.ClearQueue()``, ``handler`` the one registered."""
    with Dispatcher.RegisterHandler(name, handler):

        def batch() -> None:
            for i in range(BATCH):
                Dispatcher.Dispatch(name, i)
            Dispatcher.ClearQueue()

        return ns_per_event(batch, settings)


def queued(settings: Settings) -> JSON:
    """``Dispatcher.Dispatch`` x1000 then ``Dispatcher.ClearQueue()``, one handler."""
    tally = Tally()
    return _drained_batches("bench::one", _counting_handler(tally), settings).as_json(tally.calls)


def coroutine(settings: Settings) -> JSON:
    """The same from plain sync code, the handler an ``async def`` that only counts (it awaits nothing).

    Each event's coroutine is awaited on the loop thread while its worker greenlet waits: the cost
    of the hand-over there and back is what this measures.
    """
    tally = Tally()

    async def handler(name: str, value: int) -> None:
        tally.calls += 1

    return _drained_batches("bench::async", handler, settings).as_json(tally.calls)


def sync(settings: Settings) -> JSON:
    """``Dispatch`` on an ``EventDispatcher(sync=True)``: the handler runs inline, no queue."""
    tally = Tally()
    dispatcher = EventDispatcher(sync=True)
    dispatcher.RegisterHandler("bench::one", _counting_handler(tally))

    def batch() -> None:
        for i in range(BATCH):
            dispatcher.Dispatch("bench::one", i)

    return ns_per_event(batch, settings).as_json(tally.calls)


def _request_patterns(pattern: Callable[[int], str]) -> Prebuilt:
    """The patterns one batch call registers and cancels, one per ``REGISTRATIONS_EVERY`` events."""
    per_batch = BATCH // REGISTRATIONS_EVERY
    return Prebuilt(lambda index: [pattern(index * per_batch + j) for j in range(per_batch)])


def _registering_batch(
    dispatcher: EventDispatcher, names: Prebuilt, patterns: Prebuilt, handler: Callable[[str, int], None]
) -> Callable[[], None]:
    """New names as ``names_batch`` dispatches them, a handler registered and cancelled before
    each ``REGISTRATIONS_EVERY`` of them."""

    def batch() -> None:
        batch_names = names.take()
        for j, pattern in enumerate(patterns.take()):
            dispatcher.RegisterHandler(pattern, handler).cancel()
            for i in range(j * REGISTRATIONS_EVERY, (j + 1) * REGISTRATIONS_EVERY):
                dispatcher.Dispatch(batch_names[i], i)
        dispatcher.ClearQueue()

    return batch


def scaling(settings: Settings) -> JSON:
    """Queued dispatch + drain of names seen before and of new names, with K patterns registered
    (one matches, K - 1 do not, in the same namespace); then new names with a handler registered
    and cancelled every 100 events, its pattern a literal name or a regular expression."""
    results: JSON = {}
    for count in PATTERN_COUNTS:
        tally = Tally()
        handler = _counting_handler(tally)  # the noise's too: a wrong match shows in the counts
        dispatcher = EventDispatcher()
        start = time.perf_counter()
        for pattern in noise_patterns(count):
            dispatcher.RegisterHandler(pattern, handler)
        dispatcher.RegisterHandler(MATCHING_PATTERN, handler)
        registration_s = time.perf_counter() - start
        progress(f"{count} patterns registered in {registration_s:.2f} s")

        seen = seen_names(BATCH)
        section: JSON = {
            "registration_s": registration_s,
            "seen": names_timing(names_batch(dispatcher, seen), tally, settings, [seen], warm=True),
        }
        new = new_names(BATCH)
        section["new"] = names_timing(names_batch(dispatcher, new), tally, settings, [new])
        for kind, request_pattern in REQUEST_PATTERNS.items():
            new, patterns = new_names(BATCH), _request_patterns(request_pattern)
            batch = _registering_batch(dispatcher, new, patterns, handler)
            section[f"new_{kind}_registrations"] = names_timing(batch, tally, settings, [new, patterns])
        results[str(count)] = section
        dispatcher.Reset()
    return results


def cache(settings: Settings) -> JSON:
    """Dispatch 100,000 distinct names (ids in them): the resolution cache must stay bounded."""
    names = 10_000 if settings.quick else 100_000
    tally = Tally()
    dispatcher = EventDispatcher()
    dispatcher.RegisterHandler(MATCHING_PATTERN, _counting_handler(tally))
    dispatcher.Dispatch("orders::0::paid", 0)
    dispatcher.ClearQueue()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for start in range(1, names + 1, BATCH):
        for i in range(start, start + BATCH):
            dispatcher.Dispatch(f"orders::{i}::paid", i)
        dispatcher.ClearQueue()
    gc.collect()
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "names": names,
        "dispatched": names,
        "handled": tally.calls - 1,
        "cached_names": dispatcher.registry.cached_names(),
        "cache_size": dispatcher.registry.cache_size,
        "retained_bytes": after - before,
        "peak_bytes": peak - before,
    }


def churn_memory(settings: Settings) -> JSON:
    """What 30,000 register-and-cancel of distinct patterns leave allocated (``tracemalloc``, after
    a collection), for literal names and for regular expressions.

    ``re`` keeps the patterns it compiled last (512 on CPython 3.11) for any caller: the memory is
    measured with that cache as it is, then once more after ``re.purge()``.
    """
    count = 3_000 if settings.quick else CHURN_REGISTRATIONS
    dispatcher = EventDispatcher()
    handler = _counting_handler(Tally())
    results: JSON = {}
    for kind, pattern in REQUEST_PATTERNS.items():
        patterns = [pattern(i) for i in range(count)]
        dispatcher.RegisterHandler(pattern(-1), handler).cancel()  # whatever a first one sets up
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for each in patterns:
            dispatcher.RegisterHandler(each, handler).cancel()
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
        re.purge()
        gc.collect()
        retained_without_re_cache = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        results[kind] = {
            "registrations": count,
            "still_registered": len(dispatcher.registry),
            "retained_bytes": retained,
            "retained_bytes_without_re_cache": retained_without_re_cache,
        }
    return results


def _time_to_drain(dispatcher: EventDispatcher, name: str, tally: Tally, settings: Settings) -> JSON:
    """From the first of 1,000 ``dispatcher.Dispatch(name, i)`` until ``ClearQueue()`` returns, in seconds.

    ``handled`` counts the handler calls done when ``ClearQueue()`` returned, sample by sample.
    """

    def run() -> None:
        for i in range(DRAIN_EVENTS):
            dispatcher.Dispatch(name, i)
        dispatcher.ClearQueue()

    return {**drain_seconds(run, tally, DRAIN_EVENTS, settings), "pool_size": dispatcher.pool_size}


def io(settings: Settings) -> JSON:
    """1,000 events whose handler waits on cooperative I/O (``gevent.sleep(0.05)``): time to drain."""
    tally = Tally()
    dispatcher = EventDispatcher()

    def handler(name: str, value: int) -> None:
        gevent.sleep(0.05)
        tally.calls += 1

    dispatcher.RegisterHandler("bench::io", handler)
    return {**_time_to_drain(dispatcher, "bench::io", tally, settings), "sleep_s": 0.05}


def _coroutine_io(dispatcher: EventDispatcher, settings: Settings) -> JSON:
    """1,000 events whose ``async def`` handler does ``await asyncio.sleep(0.01)``: time to drain.

    At most ``pool_size`` of them are handled at once, so at most that many coroutines wait together.
    """
    tally = Tally()

    async def handler(name: str, value: int) -> None:
        await asyncio.sleep(COROUTINE_SLEEP_S)
        tally.calls += 1

    dispatcher.RegisterHandler("bench::async-io", handler)
    return {**_time_to_drain(dispatcher, "bench::async-io", tally, settings), "sleep_s": COROUTINE_SLEEP_S}


def coroutine_io(settings: Settings) -> JSON:
    """Coroutine handlers waiting on I/O with the default pool: 100 at a time."""
    return _coroutine_io(EventDispatcher(), settings)


def coroutine_io_pool1000(settings: Settings) -> JSON:
    """Coroutine handlers waiting on I/O with ``pool_size=1000``: all 1,000 at once."""
    return _coroutine_io(EventDispatcher(pool_size=DRAIN_EVENTS), settings)


def memory(settings: Settings) -> JSON:
    """Bytes a queued, not yet handled, event costs beyond its arguments (``tracemalloc``)."""
    events = 100_000
    tally = Tally()
    with Dispatcher.RegisterHandler("bench::one", _counting_handler(tally)):
        Dispatcher.Dispatch("bench::one", -1)  # the thread's queue and worker exist from here on
        Dispatcher.ClearQueue()

        # The payload alone: the same args tuples, kept alive in slots allocated beforehand.
        slots: list[object] = [None] * events
        gc.collect()
        tracemalloc.start()
        for i in range(events):
            slots[i] = (i,)
        payload = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        del slots

        gc.collect()
        tracemalloc.start()
        for i in range(events):
            Dispatcher.Dispatch("bench::one", i)
        total = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        pending = Dispatcher.pending_count()
        Dispatcher.ClearQueue()
    return {
        "events": events,
        "pending": pending,
        "dispatched": events,
        "handled": tally.calls - 1,
        "total_per_event": total / events,
        "payload_per_event": payload / events,
        "overhead_per_event": (total - payload) / events,
    }


SECTIONS: dict[str, Callable[[Settings], JSON]] = {
    "queued": queued,
    "sync": sync,
    "scaling": scaling,
    "cache": cache,
    "churn_memory": churn_memory,
    "io": io,
    "memory": memory,
    "coroutine": coroutine,
    "coroutine_io": coroutine_io,
    "coroutine_io_pool1000": coroutine_io_pool1000,
}


def main(argv: list[str]) -> None:
    """Run the named sections (all by default) and print their results as JSON."""
    chosen, settings = parse_args(argv, SECTIONS)
    results: JSON = {}
    for name in chosen:
        progress(f"django-event-system: {name}")
        results[name] = SECTIONS[name](settings)
    emit(describe_environment(["django-event-system", "django", "gevent", "greenlet"]), results)


if __name__ == "__main__":
    main(sys.argv[1:])
