"""Measures django-event-system 1.0.1, the release this package re-implements, on the same workloads.

Run by ``benchmarks.run`` in ``.venv-seed``, where 1.0.1 is installed under its import name
``events``: ``python -m benchmarks.seed [--quick] [SECTION...]``.

1.0.1 keeps one class-level queue and one worker greenlet, spawned at import, that runs the
handlers one after another and matches each event against every registered pattern. Its
``ClearQueue`` yields to gevent until the queue is empty, which is when the last event has been
*taken*, not necessarily handled: the measurements below check the handler calls themselves.
"""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import gevent
from events import Dispatcher as _Dispatcher

from ._common import (
    BATCH,
    JSON,
    MATCHING_PATTERN,
    PATTERN_COUNTS,
    Settings,
    Tally,
    describe_environment,
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

Dispatcher: Any = _Dispatcher  # untyped


def _counting_handler(tally: Tally) -> Callable[[str, int], None]:
    def handler(name: str, value: int) -> None:
        tally.calls += 1

    return handler


def _wait_until_handled(tally: Tally, expected: int, timeout: float) -> None:
    """Yield to the worker greenlet until the handler has run ``expected`` times."""
    deadline = time.perf_counter() + timeout
    while tally.calls < expected:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"1.0.1 handled {tally.calls} of {expected} events within {timeout} s")
        gevent.sleep(0.001)


def queued(settings: Settings) -> JSON:
    """``Dispatcher.Dispatch`` x1000 then ``Dispatcher.ClearQueue()``, one handler: what a user writes."""
    Dispatcher.Reset()
    tally = Tally()
    Dispatcher.RegisterHandler("bench::one", _counting_handler(tally))

    def batch() -> None:
        for i in range(BATCH):
            Dispatcher.Dispatch("bench::one", i)
        Dispatcher.ClearQueue()

    timing = ns_per_event(batch, settings)
    Dispatcher.Reset()
    return timing.as_json(tally.calls)


def scaling(settings: Settings) -> JSON:
    """Queued dispatch + drain of names seen before and of new names, with K patterns registered
    (one matches, K - 1 do not, in the same namespace), as this package's ``scaling`` does.

    Every event is matched against every pattern, so the batches shrink as K grows to keep the
    run short; the cost per event is what is compared. 1.0.1 keeps nothing per name: a seen name
    costs what a new one does. It cannot cancel a registration, so there is no measurement with
    registrations and cancellations.
    """
    results: JSON = {}
    for count in PATTERN_COUNTS:
        Dispatcher.Reset()
        tally = Tally()
        handler = _counting_handler(tally)  # the noise's too: a wrong match shows in the counts
        start = time.perf_counter()
        for pattern in noise_patterns(count):
            Dispatcher.RegisterHandler(pattern, handler)
        Dispatcher.RegisterHandler(MATCHING_PATTERN, handler)
        registration_s = time.perf_counter() - start
        events = max(10, min(BATCH, 100_000 // count))
        progress(f"{count} patterns registered in {registration_s:.2f} s; batches of {events} events")

        section: JSON = {"registration_s": registration_s, "batch": events}
        for label, names, warm in [("seen", seen_names(events), True), ("new", new_names(events), False)]:
            batch = names_batch(Dispatcher, names)
            section[label] = names_timing(batch, tally, settings, [names], events_per_batch=events, warm=warm)
        results[str(count)] = section
    Dispatcher.Reset()
    return results


def io(settings: Settings) -> JSON:
    """Events whose handler waits on cooperative I/O (``gevent.sleep(0.05)``): time until all are handled.

    The full run handles all 1,000 events (about 50 s, as 1.0.1 runs handlers one at a time);
    the quick run handles 100.
    """
    events = 100 if settings.quick else 1000
    Dispatcher.Reset()
    tally = Tally()

    def handler(name: str, value: int) -> None:
        gevent.sleep(0.05)
        tally.calls += 1

    Dispatcher.RegisterHandler("bench::io", handler)
    start = time.perf_counter()
    for i in range(events):
        Dispatcher.Dispatch("bench::io", i)
    Dispatcher.ClearQueue()
    clear_queue_s = time.perf_counter() - start
    handled_at_clear_queue = tally.calls
    _wait_until_handled(tally, events, timeout=events * 0.05 * 3 + 10)
    all_handled_s = time.perf_counter() - start
    Dispatcher.Reset()
    return {
        "events": events,
        "sleep_s": 0.05,
        "clear_queue_s": clear_queue_s,
        "handled_when_clear_queue_returned": handled_at_clear_queue,
        "all_handled_s": all_handled_s,
        "dispatched": events,
        "handled": tally.calls,
    }


def memory(settings: Settings) -> JSON:
    """Bytes a queued, not yet handled, event costs beyond its arguments (``tracemalloc``)."""
    events = 100_000
    Dispatcher.Reset()
    tally = Tally()
    Dispatcher.RegisterHandler("bench::one", _counting_handler(tally))
    Dispatcher.Dispatch("bench::one", -1)
    Dispatcher.ClearQueue()

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
    pending = Dispatcher.queue.qsize()
    Dispatcher.ClearQueue()
    _wait_until_handled(tally, events + 1, timeout=60)
    Dispatcher.Reset()
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
    "scaling": scaling,
    "io": io,
    "memory": memory,
}


def main(argv: list[str]) -> None:
    """Run the named sections (all by default) and print their results as JSON."""
    chosen, settings = parse_args(argv, SECTIONS)
    results: JSON = {}
    for name in chosen:
        progress(f"1.0.1: {name}")
        results[name] = SECTIONS[name](settings)
    emit(describe_environment(["django-event-system", "django", "gevent", "greenlet"]), results)


if __name__ == "__main__":
    main(sys.argv[1:])
