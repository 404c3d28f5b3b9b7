"""What the measuring modules share: the timing loop, the handler's tally, arguments and output.

Standard library only: the 1.0.1 environment, which has neither this package nor its
dependencies, imports this module too.
"""

from __future__ import annotations

import gc
import importlib.metadata
import json
import platform
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

BATCH = 1000
"""Events per batch: dispatch this many, then drain. Big enough to amortise the drain, small
enough that the garbage collector does not dominate (one giant batch would)."""

DRAIN_EVENTS = 1000
"""Events dispatched at once by the measurements of the time to drain handlers that wait."""

COROUTINE_SLEEP_S = 0.01
"""What each ``async def`` handler of the coroutine I/O measurements awaits: ``asyncio.sleep(0.01)``."""

PATTERN_COUNTS = (1, 11, 100, 1000, 10_000)
"""How many patterns are registered: the one that matches and ``count - 1`` that do not."""

MATCHING_PATTERN = r"orders::\d+::paid"
"""The pattern whose handler counts: every name dispatched by the pattern measurements matches it."""

SEEN_IDS = 1_000_000
"""The ids of the names dispatched again and again (``orders::1000000::paid`` and the 999 after it)."""

NEW_IDS = 2_000_000
"""Where the ids of new names start; each is used once. Seven digits, as the seen names': the
same length."""

JSON = dict[str, Any]


def noise_patterns(count: int) -> list[str]:
    """The ``count - 1`` patterns that match none of the names, in the names' namespace."""
    return [f"orders::{n}::(shipped|refunded)" for n in range(count - 1)]


class Prebuilt:
    """Lists built before they are timed, one list per batch call: what the timed code consumes.

    ``make(index)`` builds the list of the ``index``-th batch call of the measurement (warm-up and
    calibration included); ``prepare(calls)`` builds the next ``calls`` lists and ``take()``
    returns them one by one. Building them outside the timing keeps string formatting out of it.
    """

    def __init__(self, make: Callable[[int], list[str]]) -> None:
        self._make = make
        self._made = 0
        self._ready: Iterator[list[str]] = iter(())

    def prepare(self, calls: int) -> None:
        """Build the lists of the next ``calls`` batch calls (dropping any not taken)."""
        self._ready = iter([self._make(index) for index in range(self._made, self._made + calls)])
        self._made += calls

    def take(self) -> list[str]:
        """The list of this batch call."""
        return next(self._ready)


def new_names(events: int) -> Prebuilt:
    """Batches of ``events`` names never dispatched before: ``orders::<id>::paid``, each id once."""
    return Prebuilt(lambda index: [f"orders::{NEW_IDS + index * events + i}::paid" for i in range(events)])


def seen_names(events: int) -> Prebuilt:
    """Batches of the same ``events`` names, each batch's strings built anew as a new name's are.

    A name dispatched by an application is a new string each time, even when the name is not
    new: its hash is computed again, as a new name's is, so the two workloads differ only in
    whether the name has been seen before.
    """
    return Prebuilt(lambda index: [f"orders::{SEEN_IDS + i}::paid" for i in range(events)])


@dataclass(frozen=True)
class Settings:
    """How long to measure: the full run, or a quick smoke run whose figures are only indicative."""

    quick: bool
    repeats: int
    """Samples per measurement; the best one is reported."""
    target_ns: int
    """Roughly how long one sample lasts."""

    @classmethod
    def from_quick(cls, quick: bool) -> Settings:
        """The settings of a full run, or of a quick one."""
        if quick:
            return cls(quick=True, repeats=3, target_ns=10_000_000)
        return cls(quick=False, repeats=7, target_ns=60_000_000)


@dataclass(frozen=True)
class Timing:
    """The samples of one measurement, in nanoseconds per event, and how many events were timed."""

    samples: list[float]
    events: int
    """Every event the batch function produced, warm-up and calibration included."""

    def as_json(self, handled: int) -> JSON:
        """The JSON form, with the number of handler calls to check against ``events``."""
        return {"samples": self.samples, "dispatched": self.events, "handled": handled}


class Tally:
    """Counts handler calls, so that each measurement can prove every event was handled."""

    __slots__ = ("calls",)

    def __init__(self) -> None:
        self.calls = 0


def ns_per_event(
    batch: Callable[[], None],
    settings: Settings,
    *,
    events_per_batch: int = BATCH,
    prebuilt: Sequence[Prebuilt] = (),
) -> Timing:
    """Time ``batch`` (which handles ``events_per_batch`` events) and return ns per event per sample.

    One call warms up and calibrates; then each sample runs as many calls as fill about
    ``settings.target_ns``, after a garbage collection so that no sample pays for the last one's
    garbage. The garbage collector stays on while timing: users do not turn it off. The lists
    of ``prebuilt``, which each call takes one of, are built before each sample, untimed.
    """
    for lists in prebuilt:
        lists.prepare(1)
    start = time.perf_counter_ns()
    batch()
    one_call = max(time.perf_counter_ns() - start, 1)
    calls = max(1, round(settings.target_ns / one_call))
    samples: list[float] = []
    for _ in range(settings.repeats):
        for lists in prebuilt:
            lists.prepare(calls)
        gc.collect()
        start = time.perf_counter_ns()
        for _ in range(calls):
            batch()
        elapsed = time.perf_counter_ns() - start
        samples.append(elapsed / (calls * events_per_batch))
    return Timing(samples, (1 + calls * settings.repeats) * events_per_batch)


def names_batch(dispatcher: Any, names: Prebuilt) -> Callable[[], None]:
    """A batch call: ``dispatcher.Dispatch(name, i)`` for each name of the next list, then
    ``dispatcher.ClearQueue()``. The same loop for this package's dispatcher and 1.0.1's."""

    def batch() -> None:
        for i, name in enumerate(names.take()):
            dispatcher.Dispatch(name, i)
        dispatcher.ClearQueue()

    return batch


def names_timing(
    batch: Callable[[], None],
    tally: Tally,
    settings: Settings,
    prebuilt: Sequence[Prebuilt],
    *,
    events_per_batch: int = BATCH,
    warm: bool = False,
) -> JSON:
    """Time ``batch``, which takes its lists from ``prebuilt``; with ``warm``, call it once first,
    untimed (seen names are resolved there). ``handled`` counts the calls ``tally`` saw while timed."""
    if warm:
        for lists in prebuilt:
            lists.prepare(1)
        batch()
    before = tally.calls
    timing = ns_per_event(batch, settings, events_per_batch=events_per_batch, prebuilt=prebuilt)
    return timing.as_json(tally.calls - before)


def drain_seconds(run: Callable[[], None], tally: Tally, events: int, settings: Settings) -> JSON:
    """Time ``run()``, which dispatches ``events`` events and returns when every handler has finished.

    Returns the samples in seconds (two in a quick run, three otherwise), with the events
    dispatched and the handler calls ``tally`` counted meanwhile, for the exactly-once check.
    """
    samples: list[float] = []
    handled = 0
    for _ in range(2 if settings.quick else 3):
        before = tally.calls
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
        handled += tally.calls - before
    return {"events": events, "samples_s": samples, "dispatched": events * len(samples), "handled": handled}


def progress(message: str) -> None:
    """Say what is being measured, on stderr (stdout carries the JSON)."""
    print(f"    {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str], sections: Iterable[str]) -> tuple[list[str], Settings]:
    """``[--quick] SECTION...`` -> the sections to run (all when none is named) and the settings."""
    known = list(sections)
    quick = "--quick" in argv
    chosen = [arg for arg in argv if arg != "--quick"]
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise SystemExit(f"unknown section(s) {unknown!r}; choose from {known!r}")
    return chosen or known, Settings.from_quick(quick)


def describe_environment(distributions: Iterable[str]) -> JSON:
    """The interpreter and the versions of ``distributions`` installed in it."""
    versions: dict[str, str] = {}
    for name in distributions:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "versions": versions,
    }


def emit(environment: JSON, results: JSON) -> None:
    """Print the results as one JSON document on stdout, for ``benchmarks.run``."""
    json.dump({"environment": environment, "results": results}, sys.stdout)
    sys.stdout.write("\n")
