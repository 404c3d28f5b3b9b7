"""What watching a model costs a save and a query: ``python -m benchmarks.models``.

``scripts/bench --models`` runs it in ``.venv-bench``, where django-lifecycle is installed. On
SQLite in memory, the same model (a ``CharField``, an ``IntegerField`` and a ``JSONField``) in
each variant, each with its own table:

``unobserved``   nothing watches it: the baseline of every ratio;
``again``        the same again, with a table of its own: its ratio to the first is what the
                 run's noise alone makes of two identical variants;
``receiver``     a ``post_save`` receiver that does nothing;
``observer``     an Observer of this package with ``created`` and ``updated`` (changes tracked);
``untracked``    the same Observer with ``track_changes = False``;
``lifecycle``    django-lifecycle's ``LifecycleModelMixin`` with ``AFTER_CREATE`` and
                 ``AFTER_UPDATE`` hooks (skipped where django-lifecycle is not installed);
``post_init``    a ``post_init`` receiver that does nothing: what a snapshot taken there pays
                 before it does anything.

Every handler, receiver and hook only counts its calls. Per round, in an order shuffled anew
for each kind of measurement, each variant times:

``create``  ``Model.objects.create(...)`` 200 times, then ``Dispatcher.ClearQueue()``, so that
            the Observer's methods run inside the figure (the others run inside ``save()``);
``update``  ``instance.count += 1; instance.save()`` on those 200, then ``ClearQueue()``;
``load``    ``list(Model.objects.all())`` of the table's 1,000 rows (the 200 are deleted first).

Each figure is the median over the rounds, per save or per 1,000 rows; each ratio is the median
over the rounds of the variant's figure divided by the unobserved model's in the same round.
Goals: an observed save at most 1.08x an unobserved one, loading observed rows at most 1.15x.
The results also give the ``again`` variant's ratios: how far from 1.00x the run's noise puts two
identical models, and so how close to a goal a figure can be and still be told from it.
Writes ``benchmarks/models_results.md`` unless ``--quick`` (which prints the table only) or given
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
RESULTS = ROOT / "benchmarks" / "models_results.md"
SAVES = 200
ROWS = 1000
KINDS = ("create", "update", "load")
SAVE_GOAL = 1.08
LOAD_GOAL = 1.15


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
    """One way of watching the model, and what it measured."""

    key: str
    label: str
    model: Any
    counters: tuple[str, str] | None
    """The handler calls that a create and an update add to (``None``: nothing to count per save)."""
    samples: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    """Nanoseconds per save (create, update) or per row (load), one per round."""
    instances: list[Any] = field(default_factory=list)

    def median(self, kind: str) -> float:
        return float(statistics.median(self.samples[kind]))

    def ratio(self, kind: str, base: Variant) -> float:
        """The median over the rounds of this variant's figure divided by ``base``'s in the same round.

        Each round measures every variant back to back, so what slows the machine for a while
        slows both sides of a round's ratio alike.
        """
        pairs = zip(self.samples[kind], base.samples[kind], strict=True)
        return float(statistics.median(ours / theirs for ours, theirs in pairs))


def variants() -> list[Variant]:
    from benchmarks import _watched as w

    found = [
        Variant("unobserved", "Unobserved", w.Unobserved, None),
        Variant("again", "Unobserved again, a table of its own (the run's noise)", w.UnobservedAgain, None),
        Variant("receiver", "A no-op `post_save` receiver", w.WithReceiver, ("receiver", "receiver")),
        Variant(
            "observer",
            "This package: Observer with `created` and `updated`",
            w.Observed,
            ("observer:created", "observer:updated"),
        ),
        Variant(
            "untracked",
            "… the same Observer, `track_changes = False`",
            w.ObservedUntracked,
            ("untracked:created", "untracked:updated"),
        ),
    ]
    lifecycle = w.lifecycle_model()
    if lifecycle is not None:
        found.append(
            Variant(
                "lifecycle",
                "django-lifecycle: `AFTER_CREATE` and `AFTER_UPDATE` hooks",
                lifecycle,
                ("lifecycle:created", "lifecycle:updated"),
            )
        )
    found.append(Variant("post_init", "A no-op `post_init` receiver (reference)", w.WithInitReceiver, None))
    return found


def prepare(variant: Variant) -> None:
    """Create the table and its 1,000 rows (``bulk_create``: no signal, no event)."""
    from django.db import connection

    with connection.schema_editor() as editor:
        editor.create_model(variant.model)
    variant.model.objects.bulk_create(
        [variant.model(name=f"row {n}", count=n, data={"tags": ["a", "b"], "n": n}) for n in range(ROWS)]
    )


def timed(run: Callable[[], None]) -> int:
    gc.collect()
    start = time.perf_counter_ns()
    run()
    return time.perf_counter_ns() - start


def measure(variant: Variant, kind: str) -> None:
    from django.db import connection

    from django_event_system import Dispatcher

    model = variant.model
    if kind == "create":

        def create() -> None:
            variant.instances = [
                model.objects.create(name="saved", count=n, data={"tags": ["a", "b"], "n": n}) for n in range(SAVES)
            ]
            Dispatcher.ClearQueue()

        variant.samples[kind].append(timed(create) / SAVES)
    elif kind == "update":

        def update() -> None:
            for instance in variant.instances:
                instance.count += 1
                instance.save()
            Dispatcher.ClearQueue()

        variant.samples[kind].append(timed(update) / SAVES)
        with connection.cursor() as cursor:  # untimed, and without the signals of QuerySet.delete()
            cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE id > %s", [ROWS])
        variant.instances = []
    else:
        loaded: list[Any] = []

        def load() -> None:
            loaded.extend(model.objects.all())

        variant.samples[kind].append(timed(load) / ROWS)
        if len(loaded) != ROWS:
            raise SystemExit(f"{variant.key}: loaded {len(loaded)} rows, expected {ROWS}")


def check_calls(found: list[Variant], rounds: int) -> list[str]:
    """The handlers that did not run once per save they watch."""
    from benchmarks._watched import calls

    problems = []
    for variant in found:
        if variant.counters is None:
            continue
        created, updated = variant.counters
        expected = {created: rounds * SAVES, updated: rounds * SAVES}
        if created == updated:
            expected = {created: 2 * rounds * SAVES}
        for counter, count in expected.items():
            if calls[counter] != count:
                problems.append(f"{variant.key}: {counter} ran {calls[counter]} times, expected {count}")
    return problems


def fmt_us(ns: float) -> str:
    return f"{ns / 1000:.1f} µs"


def verdict(ratio: float, goal: float) -> str:
    return f"≤ {goal:.2f}x: {'met' if ratio <= goal else '**missed**'}"


def table(found: list[Variant]) -> list[str]:
    base = found[0]
    lines = [
        "| Variant | Create | ratio | Update | ratio | Load 1,000 rows | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for variant in found:
        cells = [variant.label]
        for kind in KINDS:
            value = variant.median(kind)
            ratio = variant.ratio(kind, base)
            shown = fmt_us(value) if kind != "load" else f"{value * ROWS / 1e6:.2f} ms"
            cells += [shown, f"{ratio:.2f}x"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def goal_lines(found: list[Variant]) -> list[str]:
    base = found[0]
    observer = next(v for v in found if v.key == "observer")
    create, update, load = (observer.ratio(kind, base) for kind in KINDS)
    return [
        f"- Observed save, create: {create:.2f}x ({verdict(create, SAVE_GOAL)}); update: {update:.2f}x "
        f"({verdict(update, SAVE_GOAL)})",
        f"- Loading observed rows: {load:.2f}x ({verdict(load, LOAD_GOAL)})",
        *noise_lines(found),
    ]


def noise_lines(found: list[Variant]) -> list[str]:
    """What the run's noise makes of two identical variants: the unobserved model against itself."""
    again = next(v for v in found if v.key == "again")
    figures = ", ".join(f"{kind} {again.ratio(kind, found[0]):.3f}x" for kind in KINDS)
    return [f"- The run's noise, the unobserved model against itself (a table of its own): {figures}"]


def machine() -> str:
    from benchmarks.e2e.run import cpu_model, source_commit, sqlite_version, version

    return (
        f"{cpu_model()}, {os.cpu_count()} cores; CPython {platform.python_version()}, Django {version('django')}, "
        f"gevent {version('gevent')}, django-lifecycle {version('django-lifecycle')}, SQLite "
        f"{sqlite_version()}; django-event-system at commit {source_commit()}"
    )


def report(found: list[Variant], rounds: int, elapsed: float, command: str, load: tuple[float, ...]) -> str:
    return "\n".join(
        [
            "# What watching a model costs",
            "",
            f"Written by `{command}` on {datetime.date.today().isoformat()}, in {elapsed:.0f} s: {rounds} rounds, "
            f"each figure the median of its rounds, each ratio the median of the rounds' ratios to the unobserved "
            f"model (see `benchmarks/models.py`). Create and update are "
            f"per save, {SAVES} saves then `Dispatcher.ClearQueue()`, so the Observer's methods are timed too; "
            f"load is `list(Model.objects.all())` of {ROWS:,} rows. SQLite in memory.",
            "",
            *table(found),
            "",
            "Goals:",
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
    from benchmarks._watched import calls

    calls.clear()
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
    problems = check_calls(found, rounds)
    output = args.output if args.output is not None else (None if args.quick else RESULTS)
    from benchmarks.e2e.run import fail_on, write_results

    if output is not None:
        write_results(output, report(found, rounds, elapsed, " ".join(["scripts/bench --models", *sys.argv[1:]]), load))
    fail_on(problems)


if __name__ == "__main__":
    main()
