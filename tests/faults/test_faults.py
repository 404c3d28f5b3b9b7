"""Faults and hard cases: failing handlers, exits with a full queue, memory under a flood of names."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from django_event_system.core import EventDispatcher
from tests.scripts import run_script


@pytest.fixture
def dispatcher() -> Iterator[EventDispatcher]:
    dispatcher = EventDispatcher()
    yield dispatcher
    dispatcher.Reset()


def test_a_handler_failing_on_a_tenth_of_100000_events_stops_nothing_else(
    dispatcher: EventDispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    """Every other handler runs for every event, the worker survives, each failure is logged with its event."""
    counted: list[int] = []

    def flaky(name: str, number: int) -> None:
        if number % 10 == 0:
            raise ValueError(f"cannot handle {number}")

    def counter(name: str, number: int) -> None:
        counted.append(number)

    dispatcher.RegisterHandler(r"order::\d+", flaky, priority=1)
    dispatcher.RegisterHandler(r"order::\d+", counter)
    with caplog.at_level(logging.ERROR, logger="django_event_system"):
        for batch in range(10):
            for number in range(batch * 10_000, (batch + 1) * 10_000):
                dispatcher.Dispatch(f"order::{number}", number)
            dispatcher.ClearQueue(timeout=60)
    assert sorted(counted) == list(range(100_000))
    failures = [r for r in caplog.records if r.name == "django_event_system" and r.levelno == logging.ERROR]
    assert len(failures) == 10_000
    logged = {record.getMessage() for record in failures}
    assert f"handler {flaky.__module__}:{flaky.__qualname__} failed while handling event 'order::990'" in logged
    assert len(logged) == 10_000  # one message per failing event, each naming its event
    assert all(isinstance(r.exc_info and r.exc_info[1], ValueError) for r in failures)
    # The worker pool is still usable afterwards.
    dispatcher.Dispatch("order::100001", 100_001)
    dispatcher.ClearQueue(timeout=10)
    assert counted[-1] == 100_001


def test_a_process_exiting_with_10000_queued_events_handles_them_all(tmp_path: Path) -> None:
    """Interpreter exit drains the queue: the handler's count, written at the very end, is complete."""
    out = run_script(
        """
        import atexit
        counted = []
        # Registered first, so it runs last (atexit is LIFO): after the library's drain.
        atexit.register(lambda: print("handled", len(counted), "unique", len(set(counted))))

        from django_event_system import Dispatcher

        Dispatcher.RegisterHandler("job::.*", lambda name, number: counted.append(number))
        for number in range(10_000):
            Dispatcher.Dispatch(f"job::{number % 7}", number)
        print("queued", Dispatcher.pending_count())
        """,
        tmp_path,
    )
    assert out.splitlines() == ["queued 10000", "handled 10000 unique 10000"]


def test_resident_memory_stays_flat_over_a_million_events_with_distinct_names(tmp_path: Path) -> None:
    """A million events named with ids (the resolution cache always full) grow RSS by less than 10 MB."""
    out = run_script(
        """
        import gc
        from django_event_system import EventDispatcher

        def rss_kib():
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
            raise RuntimeError("no VmRSS")

        dispatcher = EventDispatcher()
        handled = [0]

        def handler(name, number):
            handled[0] += 1

        dispatcher.RegisterHandler(r"order::\\d+::(paid|shipped)", handler)
        for k in range(10):
            dispatcher.RegisterHandler(f"noise::{k}::.*", handler)

        def flood(start, count):
            for number in range(start, start + count, 10_000):
                for n in range(number, number + 10_000):
                    dispatcher.Dispatch(f"order::{n}::paid", n)
                dispatcher.ClearQueue()

        flood(0, 100_000)  # warm up: the cache fills, the allocator reaches its working set
        gc.collect()
        before = rss_kib()
        flood(100_000, 1_000_000)
        gc.collect()
        after = rss_kib()
        print(handled[0], dispatcher.registry.cached_names(), dispatcher.registry.cache_size, after - before)
        """,
        tmp_path,
        timeout=300,
    )
    handled, cached, cache_size, growth_kib = (int(x) for x in out.split())
    assert handled == 1_100_000
    assert cache_size // 2 <= cached <= cache_size  # the cache stayed full, within its bound
    assert growth_kib < 10 * 1024, f"RSS grew by {growth_kib} KiB"
    print(f"RSS growth over 1,000,000 events: {growth_kib} KiB")
