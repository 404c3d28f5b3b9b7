"""What the events of bulk writes cost: ``python -m benchmarks.bulk``.

``scripts/bench --bulk`` runs it in ``.venv-bench``. On SQLite in memory, the same model (a
``CharField``, an ``IntegerField`` and a ``JSONField``) in each variant, each with its own table:

``plain``      Django's manager, nothing observes it: the baseline of every ratio;
``manager``    ``objects = EventManager()``, nothing observes it;
``observed``   ``objects = EventManager()`` and an Observer with ``bulk_created`` and
               ``queryset_updated``, which only count their calls.

Per round, in an order shuffled anew for each kind of measurement, each variant times:

``bulk_create``  ``Model.objects.bulk_create(...)`` of 1,000 new objects, then
                 ``Dispatcher.ClearQueue()``, so that the Observer's method runs inside the figure;
``update``       ``Model.objects.update(count=F("count") + 1)`` of those 1,000 rows, then
                 ``ClearQueue()`` (the Observer's variant reads the rows' keys first).

The rows are deleted after each round, untimed. Each figure is the median over the rounds, and
each ratio the median over the rounds of the variant's figure divided by the plain manager's in
the same round. Goal: a ``bulk_create`` with an Observer at most 1.2x the same call without one.
Writes ``benchmarks/bulk_results.md`` unless ``--quick`` (which prints the table only) or given
``--output``.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

import django

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "bulk_results.md"
ROWS = 1000
KINDS = ("bulk_create", "update")
GOAL = 1.2


def configure() -> None:
    settings.configure(
        SECRET_KEY="benchmarks-only",
        INSTALLED_APPS=["django.contrib.contenttypes", "django_event_system"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        DJANGO_EVENT_SYSTEM={"MODE": "async"},
    )
    django.setup()


@dataclass
class Variant:
    """One way of writing the model in bulk, and what it measured."""

    key: str
    label: str
    model: Any
    samples: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    """Nanoseconds per call, one per round."""

    def median(self, kind: str) -> float:
        return float(statistics.median(self.samples[kind]))

    def ratio(self, kind: str, base: Variant) -> float:
        """The median over the rounds of this variant's figure divided by ``base``'s in the same round."""
        pairs = zip(self.samples[kind], base.samples[kind], strict=True)
        return float(statistics.median(ours / theirs for ours, theirs in pairs))


calls: dict[str, int] = {"bulk_created": 0, "queryset_updated": 0}
"""The Observer's calls, and the objects or keys they received (checked at the end)."""
received: dict[str, int] = {"bulk_created": 0, "queryset_updated": 0}


def variants() -> list[Variant]:
    from django.db import models

    from django_event_system import BulkCreated, EventManager, Observer, QuerysetUpdated

    class Fields(models.Model):
        name = models.CharField(max_length=50)
        count = models.IntegerField(default=0)
        data = models.JSONField(default=dict)

        class Meta:
            abstract = True
            app_label = "bench_bulk"

    class Plain(Fields):
        objects = models.Manager()

    class WithManager(Fields):
        objects = EventManager()

    class Observed(Fields):
        objects = EventManager()

    class BulkObserver(Observer[Observed]):
        observes = Observed

        def bulk_created(self, event_name: str, created: BulkCreated[Observed]) -> None:
            calls["bulk_created"] += 1
            received["bulk_created"] += len(created.objects)

        def queryset_updated(self, event_name: str, updated: QuerysetUpdated[Observed]) -> None:
            calls["queryset_updated"] += 1
            received["queryset_updated"] += len(updated.pks)

    return [
        Variant("plain", "Django's manager, unobserved", Plain),
        Variant("manager", "`EventManager`, unobserved", WithManager),
        Variant("observed", "`EventManager` and an Observer with `bulk_created` and `queryset_updated`", Observed),
    ]


def prepare(variant: Variant) -> None:
    from django.db import connection

    with connection.schema_editor() as editor:
        editor.create_model(variant.model)


def timed(run: Callable[[], None]) -> int:
    gc.collect()
    start = time.perf_counter_ns()
    run()
    return time.perf_counter_ns() - start


def measure(variant: Variant, kind: str) -> None:
    from django.db import connection
    from django.db.models import F

    from django_event_system import Dispatcher

    model = variant.model
    if kind == "bulk_create":
        objects = [model(name=f"row {n}", count=n, data={"tags": ["a", "b"], "n": n}) for n in range(ROWS)]

        def create() -> None:
            model.objects.bulk_create(objects)
            Dispatcher.ClearQueue()

        variant.samples[kind].append(timed(create))
    else:

        def update() -> None:
            if model.objects.update(count=F("count") + 1) != ROWS:
                raise SystemExit(f"{variant.key}: update() did not find the {ROWS} rows")
            Dispatcher.ClearQueue()

        variant.samples[kind].append(timed(update))
        with connection.cursor() as cursor:  # untimed, and without the signals of QuerySet.delete()
            cursor.execute(f"DELETE FROM {model._meta.db_table}")


def check_calls(rounds: int) -> list[str]:
    """What the Observer did not receive once per call, with every object or key."""
    problems = []
    for action in calls:
        if calls[action] != rounds or received[action] != rounds * ROWS:
            problems.append(
                f"observed: {action} ran {calls[action]} times with {received[action]} items, "
                f"expected {rounds} times with {rounds * ROWS}"
            )
    return problems


def fmt_ms(ns: float) -> str:
    return f"{ns / 1e6:.2f} ms"


def table(found: list[Variant]) -> list[str]:
    base = found[0]
    lines = [
        f"| Variant | `bulk_create` of {ROWS:,} | ratio | `update()` of {ROWS:,} | ratio |",
        "|---|---|---|---|---|",
    ]
    for variant in found:
        cells = [variant.label]
        for kind in KINDS:
            cells += [fmt_ms(variant.median(kind)), f"{variant.ratio(kind, base):.2f}x"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def goal_lines(found: list[Variant]) -> list[str]:
    base = found[0]
    observed = next(v for v in found if v.key == "observed")
    ratio = observed.ratio("bulk_create", base)
    verdict = "met" if ratio <= GOAL else "**missed**"
    return [f"- `bulk_create` with an Observer: {ratio:.2f}x (≤ {GOAL:.2f}x: {verdict})"]


def machine() -> str:
    from benchmarks.e2e.run import cpu_model, source_commit, sqlite_version, version

    return (
        f"{cpu_model()}, {os.cpu_count()} cores; CPython {platform.python_version()}, Django {version('django')}, "
        f"gevent {version('gevent')}, SQLite {sqlite_version()}; django-event-system at commit {source_commit()}"
    )


def report(found: list[Variant], rounds: int, elapsed: float, command: str, load: tuple[float, ...]) -> str:
    return "\n".join(
        [
            "# What the events of bulk writes cost",
            "",
            f"Written by `{command}` on {datetime.date.today().isoformat()}, in {elapsed:.0f} s: {rounds} rounds, "
            f"each figure the median of its rounds, each ratio the median of the rounds' ratios to Django's "
            f"manager (see `benchmarks/bulk.py`). Each call is followed by `Dispatcher.ClearQueue()`, so the "
            f"Observer's methods are timed too. SQLite in memory.",
            "",
            *table(found),
            "",
            "Goal:",
            "",
            *goal_lines(found),
            "",
            f"Machine: {machine()}; load average before the run {', '.join(f'{v:.2f}' for v in load)}.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=41, help="rounds of every measurement (41 by default)")
    parser.add_argument("--quick", action="store_true", help="7 rounds; prints the table, writes nothing")
    parser.add_argument("--output", type=Path, default=None, help=f"where to write the results ({RESULTS.name})")
    args = parser.parse_args()
    rounds = 7 if args.quick else args.rounds
    if rounds < 1:
        parser.error("--rounds must be positive")
    configure()
    found = variants()
    for variant in found:
        prepare(variant)
    for variant in found:  # warm up: code paths, caches, the queue's worker
        for kind in KINDS:
            measure(variant, kind)
        for samples in variant.samples.values():
            samples.clear()
    for counter in (calls, received):
        counter.update(dict.fromkeys(counter, 0))
    load = os.getloadavg()
    started = time.monotonic()
    shuffler = random.Random(17)
    for number in range(1, rounds + 1):
        for kind in KINDS:
            order = list(found)
            shuffler.shuffle(order)
            for variant in order:
                measure(variant, kind)
        print(f"round {number}/{rounds}", file=sys.stderr, flush=True)
    elapsed = time.monotonic() - started
    print("\n".join([*table(found), "", *goal_lines(found)]))
    problems = check_calls(rounds)
    output = args.output if args.output is not None else (None if args.quick else RESULTS)
    from benchmarks.e2e.run import fail_on, write_results

    if output is not None:
        write_results(output, report(found, rounds, elapsed, " ".join(["scripts/bench --bulk", *sys.argv[1:]]), load))
    fail_on(problems)


if __name__ == "__main__":
    main()
