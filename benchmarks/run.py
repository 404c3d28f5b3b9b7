"""Runs every benchmark in its environment, compares the figures and writes the report.

``scripts/bench`` sets up the environments and calls ``python -m benchmarks.run --seed-python
.venv-seed/bin/python``. The measuring modules run as subprocesses: this package and its peers in
this interpreter's environment, 1.0.1 in its own. The per-event measurements, and those of
coroutine handlers against pyee's, run in rounds that alternate the libraries, so that a slow
moment of the machine does not favour one of them; each figure is the best sample of all rounds.
Ratios compare figures of this one run only.

Writes ``benchmarks/results.md`` (the tables and the machine) and ``benchmarks/patterns.png``
(cost per event of new and seen names against registered patterns); a ``--quick`` run writes
nothing unless given ``--output``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ._common import JSON

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent


# -- running ---------------------------------------------------------------------------------


def run_module(python: str, module: str, sections: Sequence[str], *, quick: bool) -> JSON:
    """Run ``python -m benchmarks.<module> SECTION...`` and return the JSON it prints."""
    command = [python, "-m", f"benchmarks.{module}", *(["--quick"] if quick else []), *sections]
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit code {completed.returncode}")
    print(f"    ({time.perf_counter() - started:.1f} s)", file=sys.stderr, flush=True)
    result: JSON = json.loads(completed.stdout)
    return result


SAMPLED = ("samples", "samples_s", "dispatched", "handled")
"""What a timed section's results of several rounds add up."""


def merge(into: JSON, new: JSON) -> None:
    """Merge one module's results into ``into``: samples (in ns per event, or in seconds) of
    repeated sections add up, nested ones too; other figures stay as the first round gave them."""
    into.setdefault("environment", new["environment"])
    _merge_sections(into.setdefault("results", {}), new["results"])


def _merge_sections(into: JSON, new: JSON) -> None:
    for name, value in new.items():
        previous = into.get(name)
        if previous is None:
            into[name] = value
        elif not isinstance(value, dict):
            continue
        elif any(key in value for key in SAMPLED):
            for key in SAMPLED:
                if key in value:
                    previous[key] += value[key]
        else:
            _merge_sections(previous, value)


# -- figures ---------------------------------------------------------------------------------


def best(section: JSON) -> float:
    """The best (lowest) ns per event of a timed section."""
    return float(min(section["samples"]))


def fmt_ns(ns: float) -> str:
    """A cost per event, in the unit that keeps three significant figures readable."""
    if ns < 10_000:
        return f"{ns:,.0f} ns"
    if ns < 1_000_000:
        return f"{ns / 1000:,.1f} µs"
    return f"{ns / 1_000_000:,.2f} ms"


def fmt_bytes(count: float) -> str:
    """A memory size in bytes, KiB or MiB."""
    if count < 10_000:
        return f"{count:,.0f} B"
    if count < 10 * 1024 * 1024:
        return f"{count / 1024:,.0f} KiB"
    return f"{count / 1024 / 1024:,.1f} MiB"


@dataclass(frozen=True)
class Row:
    """One line of the main table."""

    number: str
    measurement: str
    ours: str
    peer: str
    ratio: str
    goal: str = ""
    met: bool | None = None

    def cells(self) -> list[str]:
        """The Markdown cells, the goal marked as met or missed."""
        goal = self.goal
        if self.met is not None:
            goal = f"{goal}: {'met' if self.met else '**missed**'}"
        return [self.number, self.measurement, self.ours, self.peer, self.ratio, goal]


def check_handled(name: str, section: JSON, problems: list[str]) -> None:
    """Note each measurement in ``section`` (or nested in it) whose handlers did not run once per
    dispatched event."""
    if "dispatched" in section and section["handled"] != section["dispatched"]:
        problems.append(f"{name}: {section['dispatched']} events dispatched but {section['handled']} handled")
    for key, value in section.items():
        if isinstance(value, dict):
            check_handled(f"{name} {key}", value, problems)


def main_rows(ours: JSON, peers: JSON, seed: JSON, problems: list[str]) -> list[Row]:
    """The main table: each measurement of this package against its peer, with the goal."""
    rows: list[Row] = []
    for name, results in [("this package", ours), ("peer", peers), ("1.0.1", seed)]:
        check_handled(name, results, problems)

    queued, signal, floor = best(ours["queued"]), best(peers["signal"]), best(peers["floor"])
    rows.append(
        Row(
            "1",
            "Queued `Dispatch` x1000 + `ClearQueue()`, one handler (per event)",
            fmt_ns(queued),
            f"Django `Signal.send`: {fmt_ns(signal)}",
            f"{queued / signal:.2f}x",
            "≤ 0.6x",
            queued / signal <= 0.6,
        )
    )
    rows.append(
        Row("1", "… against the floor: bare `deque` append + drain", "", f"{fmt_ns(floor)}", f"{queued / floor:.2f}x")
    )
    if "queued" in seed:
        seed_queued = best(seed["queued"])
        rows.append(
            Row(
                "1",
                "… against 1.0.1 `Dispatch` + `ClearQueue()`",
                "",
                fmt_ns(seed_queued),
                f"{queued / seed_queued:.2f}x",
            )
        )

    scaling, seed_scaling = ours["scaling"], seed.get("scaling", {})
    low, high = best(scaling["1"]["seen"]), best(scaling["10000"]["seen"])
    rows.append(
        Row(
            "2",
            "Queued dispatch of a seen name, 10,000 patterns registered (9,999 that do not match)",
            fmt_ns(high),
            f"this package, 1 pattern: {fmt_ns(low)}",
            f"{high / low:.2f}x",
            "≤ 1.5x",
            high / low <= 1.5,
        )
    )
    rows.append(
        Row(
            "2",
            "… against Django `Signal.send` (row 1)",
            "",
            fmt_ns(signal),
            f"{high / signal:.2f}x",
            "≤ 0.6x",
            high / signal <= 0.6,
        )
    )
    if seed_scaling:
        seed_high = best(seed_scaling["10000"]["seen"])
        rows.append(Row("2", "… against 1.0.1 with 10,000 patterns", "", fmt_ns(seed_high), f"{high / seed_high:.4f}x"))
    cache = ours["cache"]
    rows.append(
        Row(
            "2",
            f"Resolution cache after {cache['names']:,} distinct names (`orders::<id>::paid`)",
            f"{cache['cached_names']:,} names cached over two generations (bound {cache['cache_size']:,}), "
            f"{fmt_bytes(cache['retained_bytes'])} retained",
            "",
            "",
            "bounded",
            cache["cached_names"] <= cache["cache_size"],
        )
    )

    sync, pyee, blinker = best(ours["sync"]), best(peers["pyee"]), best(peers["blinker"])
    rows.append(
        Row(
            "3",
            "Sync-mode `Dispatch`, one handler (per event)",
            fmt_ns(sync),
            f"pyee `emit`: {fmt_ns(pyee)}",
            f"{sync / pyee:.2f}x",
            "≤ 0.6x",
            sync / pyee <= 0.6,
        )
    )
    rows.append(Row("3", "… against blinker `Signal.send`", "", fmt_ns(blinker), f"{sync / blinker:.2f}x"))

    io = ours["io"]
    io_s = min(io["samples_s"])
    peer_text, ratio_text = "", ""
    if "io" in seed:
        seed_io = seed["io"]
        seed_s = seed_io["all_handled_s"] * io["events"] / seed_io["events"]
        label = "1.0.1" if seed_io["events"] == io["events"] else f"1.0.1, extrapolated from {seed_io['events']} events"
        peer_text = f"{label}: {seed_s:,.1f} s"
        ratio_text = f"{io_s / seed_s:.3f}x"
    rows.append(
        Row(
            "4",
            f"{io['events']:,} events whose handler does `gevent.sleep(0.05)`: time to drain",
            f"{io_s:.2f} s",
            peer_text,
            ratio_text,
            "< 2 s",
            io_s < 2,
        )
    )

    memory = ours["memory"]
    overhead = memory["overhead_per_event"]
    peer_text, ratio_text = "", ""
    if "memory" in seed:
        seed_overhead = seed["memory"]["overhead_per_event"]
        peer_text, ratio_text = f"1.0.1: {seed_overhead:,.0f} B", f"{overhead / seed_overhead:.2f}x"
    rows.append(
        Row(
            "5",
            f"Memory per queued event beyond its payload ({memory['events']:,} queued)",
            f"{overhead:,.0f} B",
            peer_text,
            ratio_text,
            "≤ 300 B",
            overhead <= 300,
        )
    )

    coroutine, pyee_coroutine = best(ours["coroutine"]), best(peers["pyee_coroutine"])
    rows.append(
        Row(
            "6",
            "Queued `Dispatch` x1000 + `ClearQueue()`, one `async def` handler that only counts (per event)",
            fmt_ns(coroutine),
            f"pyee `AsyncIOEventEmitter.emit` x1000, until all done: {fmt_ns(pyee_coroutine)}",
            f"{coroutine / pyee_coroutine:.2f}x",
        )
    )

    pyee_io_s = min(peers["pyee_coroutine_io"]["samples_s"])
    narrow, wide = ours["coroutine_io"], ours["coroutine_io_pool1000"]
    for io, measurement in [
        (
            narrow,
            f"{narrow['events']:,} events whose `async def` handler does `await asyncio.sleep({narrow['sleep_s']})`: "
            f"time to drain, default pool ({narrow['pool_size']} at a time)",
        ),
        (wide, f"… with `EventDispatcher(pool_size={wide['pool_size']})`: all at once"),
    ]:
        io_s = min(io["samples_s"])
        rows.append(
            Row(
                "7",
                measurement,
                fmt_ns(io_s * 1e9),
                f"pyee, all at once: {fmt_ns(pyee_io_s * 1e9)}",
                f"{io_s / pyee_io_s:.2f}x",
            )
        )
    return [*rows, *new_name_rows(scaling, seed_scaling), *registration_rows(scaling, ours["churn_memory"])]


def new_name_rows(scaling: JSON, seed_scaling: JSON) -> list[Row]:
    """Row 8: new names against registered patterns, against seen names and against 1.0.1."""
    low, high = best(scaling["11"]["new"]), best(scaling["10000"]["new"])
    # The goal against seen names holds at each K: the worst one is the row's.
    ratios = {int(count): best(section["new"]) / best(section["seen"]) for count, section in scaling.items()}
    worst = max(ratios, key=lambda count: ratios[count])
    rows = [
        Row(
            "8",
            "Queued dispatch of a new name (an id never dispatched before), 10,000 patterns registered",
            fmt_ns(high),
            f"this package, 11 patterns: {fmt_ns(low)}",
            f"{high / low:.2f}x",
            "≤ 2x",
            high / low <= 2,
        ),
        Row(
            "8",
            f"… against a seen name with as many patterns (the highest ratio, at K = {worst:,})",
            "",
            f"{fmt_ns(best(scaling[str(worst)]['new']))} against {fmt_ns(best(scaling[str(worst)]['seen']))}",
            f"{ratios[worst]:.2f}x",
            "≤ 3x",
            ratios[worst] <= 3,
        ),
    ]
    if seed_scaling:
        seed_high = best(seed_scaling["10000"]["new"])
        rows.append(
            Row("8", "… against 1.0.1, new names, 10,000 patterns", "", fmt_ns(seed_high), f"{high / seed_high:.4f}x")
        )
    return rows


def registration_rows(scaling: JSON, churn: JSON) -> list[Row]:
    """Rows 9 and 10: new names with a handler registered and cancelled every 100 events, and the
    memory that register-and-cancel leaves."""
    without = best(scaling["10000"]["new"])
    rows: list[Row] = []
    for kind, measurement in [
        (
            "literal",
            "New names, 10,000 patterns, a literal handler (`request::<i>`) registered and cancelled every 100 events",
        ),
        ("regex", "… a regex handler (`request::<i>::(.*)`) instead"),
    ]:
        ns = best(scaling["10000"][f"new_{kind}_registrations"])
        rows.append(Row("9", measurement, fmt_ns(ns), f"no registrations: {fmt_ns(without)}", f"{ns / without:.2f}x"))
    for kind, pattern in [("regex", "`request::<i>::(.*)`"), ("literal", "`request::<i>`")]:
        memory = churn[kind]
        retained = memory["retained_bytes"]
        rows.append(
            Row(
                "10",
                f"Memory kept after {memory['registrations']:,} register-and-cancel of distinct patterns ({pattern})",
                f"{fmt_bytes(retained)} ({fmt_bytes(memory['retained_bytes_without_re_cache'])} after `re.purge()`)",
                "1.0.1 cannot cancel",
                "",
                "≤ 2 MB",
                retained <= 2_000_000 and memory["still_registered"] == 0,
            )
        )
    return rows


def scaling_rows(ours: JSON, seed: JSON) -> list[list[str]]:
    """The pattern-scaling table: cost per event of seen and new names, and registration time, for each K."""
    rows: list[list[str]] = []
    seen_base, new_base = best(ours["scaling"]["1"]["seen"]), best(ours["scaling"]["11"]["new"])
    for count, section in ours["scaling"].items():
        seen, new = best(section["seen"]), best(section["new"])
        row = [
            f"{int(count):,}",
            fmt_ns(seen),
            f"{seen / seen_base:.2f}x",
            fmt_ns(new),
            f"{new / new_base:.2f}x",
            f"{new / seen:.2f}x",
            f"{section['registration_s']:.2f} s",
        ]
        if "scaling" in seed:
            seed_section = seed["scaling"][count]
            row += [
                fmt_ns(best(seed_section["seen"])),
                fmt_ns(best(seed_section["new"])),
                f"{seed_section['registration_s']:.2f} s",
            ]
        rows.append(row)
    return rows


def registration_scaling_rows(ours: JSON) -> list[list[str]]:
    """New names with a handler registered and cancelled every 100 events, for each K."""
    rows: list[list[str]] = []
    for count, section in ours["scaling"].items():
        new = best(section["new"])
        row = [f"{int(count):,}", fmt_ns(new)]
        for kind in ("literal", "regex"):
            ns = best(section[f"new_{kind}_registrations"])
            row += [fmt_ns(ns), f"{ns / new:.2f}x"]
        rows.append(row)
    return rows


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# -- the machine -----------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo (or what the platform module knows)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_revision() -> str:
    """The commit measured, marked when the working tree had changes."""
    try:
        revision = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{revision} (src/ modified)" if dirty else revision


def machine_lines(ours_env: JSON, peers_env: JSON, seed_env: JSON | None) -> list[str]:
    """The machine and the software that ran, as Markdown bullet points."""
    import matplotlib

    lines = [
        f"- CPU: {cpu_model()}, {os.cpu_count()} cores; {platform.system()} {platform.release()}",
        f"- This package: django-event-system {ours_env['versions']['django-event-system']} at commit "
        f"{git_revision()}; {ours_env['implementation']} {ours_env['python']}, "
        f"Django {ours_env['versions']['django']}, gevent {ours_env['versions']['gevent']}, "
        f"greenlet {ours_env['versions']['greenlet']}",
        f"- Peers: Django {peers_env['versions']['django']}, pyee {peers_env['versions']['pyee']}, "
        f"blinker {peers_env['versions']['blinker']} (same interpreter); matplotlib {matplotlib.__version__}",
    ]
    if seed_env is not None:
        lines.append(
            f"- 1.0.1: django-event-system {seed_env['versions']['django-event-system']} on "
            f"{seed_env['implementation']} {seed_env['python']}, Django {seed_env['versions']['django']}, "
            f"gevent {seed_env['versions']['gevent']}, greenlet {seed_env['versions']['greenlet']}"
        )
    return lines


# -- the plot --------------------------------------------------------------------------------


LabelPlace = tuple[int, int, str]
"""Where a point's figure goes on the plot: an offset in points (x, y) and a horizontal alignment."""


def plot(ours: JSON, seed: JSON, path: Path) -> None:
    """Plot the cost per event against the number of registered patterns, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5.5), dpi=110)
    # (label, results, which names, colour, line style, where each point's figure goes, or None
    # where it would sit on another line's). This package's new names and 1.0.1's meet at a few
    # patterns: 1.0.1's figures go below and right of its line.
    series: list[tuple[str, JSON, str, str, str, LabelPlace | None]] = [
        ("this package, new names", ours["scaling"], "new", "tab:blue", "-", (0, 8, "center")),
        ("this package, seen names", ours["scaling"], "seen", "tab:blue", "--", (0, -14, "center")),
    ]
    if "scaling" in seed:
        series += [
            ("1.0.1, new names", seed["scaling"], "new", "tab:red", "-", (7, -12, "left")),
            ("1.0.1, seen names (nothing cached: as new ones)", seed["scaling"], "seen", "tab:red", "--", None),
        ]
    for label, scaling, names, colour, style, place in series:
        counts = [int(count) for count in scaling]
        costs = [best(section[names]) for section in scaling.values()]
        marker = "o" if names == "new" else "s"
        axes.plot(counts, costs, marker=marker, color=colour, linestyle=style, label=label, linewidth=2)
        if place is None:
            continue
        dx, dy, align = place
        for count, cost in zip(counts, costs, strict=True):
            axes.annotate(
                fmt_ns(cost), (count, cost), textcoords="offset points", xytext=(dx, dy), ha=align, fontsize=8
            )
    axes.set_xscale("log")
    axes.set_yscale("log")
    low, high = axes.get_ylim()
    axes.set_ylim(low / 2, high * 2)  # room for the labels
    axes.set_xlim(0.5, 20_000)
    axes.set_xlabel("registered patterns (one matches the names, the others do not)")
    axes.set_ylabel("queued dispatch + drain, ns per event (lower is better)")
    axes.set_title("Cost of dispatching a new name and a seen one, against registered patterns")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


# -- the report ------------------------------------------------------------------------------


def report(ours: JSON, peers: JSON, seed: JSON, *, quick: bool, rounds: int, seconds: float) -> tuple[str, list[str]]:
    """The Markdown report and the problems found (handlers that did not run once per event)."""
    problems: list[str] = []
    rows = main_rows(ours["results"], peers["results"], seed.get("results", {}), problems)
    seed_results = seed.get("results", {})
    scaling_header = ["K", "seen name", "vs K=1", "new name", "vs K=11", "new / seen", "registering"]
    if "scaling" in seed_results:
        scaling_header += ["1.0.1 seen", "1.0.1 new", "1.0.1 registering"]
    registration_header = ["K", "new name", "+ literal handler", "ratio", "+ regex handler", "ratio"]
    today = datetime.date.today().isoformat()
    parts = [
        "# Benchmark results",
        "",
        f"Written by `scripts/bench{' --quick' if quick else ''}` on {today}, in {seconds:.0f} s. "
        f"Each per-event figure is the best sample (batches of 1,000 events) of {rounds} "
        f"round{'s' if rounds > 1 else ''} that alternate the libraries, and so is each time to drain "
        "coroutine handlers (row 7); ratios divide this package's figure by the peer's, both measured in this run.",
    ]
    if quick:
        parts += ["", "**A quick run: fewer samples and events, figures only indicative.**"]
    parts += [
        "",
        table(["#", "Measurement", "This package", "Compared with", "Ratio", "Goal"], [row.cells() for row in rows]),
        "",
        "## Cost per event against registered patterns",
        "",
        "K patterns are registered: `orders::\\d+::paid`, which every name dispatched matches, and K - 1 "
        "in the same namespace that match none (`orders::<n>::(shipped|refunded)` for n from 0 to K - 2). "
        "Cost per event of queued dispatch + drain, names built before they are timed: a seen name is one "
        "of 1,000 (`orders::1000000::paid` to `orders::1000999::paid`) dispatched again and again, a new "
        "name has an id never dispatched before (from `orders::2000000::paid` on); registering is the "
        "time to register the K patterns.",
        "",
        table(scaling_header, scaling_rows(ours["results"], seed_results)),
        "",
        "![Cost per event against registered patterns](patterns.png)",
        "",
        "## New names with registrations",
        "",
        "The new names above, with a handler registered and cancelled every 100 events, each time with a "
        "pattern not used before: a literal name (`request::<i>`) or a regular expression "
        "(`request::<i>::(.*)`). Ratios are to the new names without registrations, same K.",
        "",
        table(registration_header, registration_scaling_rows(ours["results"])),
        "",
        "## Machine",
        "",
        *machine_lines(ours["environment"], peers["environment"], seed.get("environment")),
    ]
    if problems:
        parts += ["", "## Problems", "", *(f"- {problem}" for problem in problems)]
    return "\n".join(parts) + "\n", problems


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmarks, print the report and write it with the plot."""
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed-python", help="the interpreter that has django-event-system 1.0.1 (skipped if absent)")
    parser.add_argument("--quick", action="store_true", help="fewer samples and events: a smoke run")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of per-event timings (default 3, quick 1)")
    parser.add_argument("--output", type=Path, default=None, help="where to write results.md and patterns.png")
    options = parser.parse_args(argv)
    rounds: int = options.rounds or (1 if options.quick else 3)
    output: Path | None = options.output or (None if options.quick else HERE)
    quick: bool = options.quick
    seed_python: str | None = options.seed_python

    started = time.perf_counter()
    ours: JSON = {}
    peers: JSON = {}
    seed: JSON = {}
    python = sys.executable
    for round_number in range(1, rounds + 1):
        print(
            f"==> round {round_number} of {rounds}: per-event costs, patterns, coroutine handlers",
            file=sys.stderr,
            flush=True,
        )
        coroutines = ["coroutine", "coroutine_io", "coroutine_io_pool1000"]  # after the others, as pyee's
        merge(ours, run_module(python, "ours", ["queued", "sync", "scaling", *coroutines], quick=quick))
        merge(peers, run_module(python, "peers", [], quick=quick))
        if seed_python:
            merge(seed, run_module(seed_python, "seed", ["queued", "scaling"], quick=quick))
    print("==> cache, registrations' memory, cooperative I/O, memory", file=sys.stderr, flush=True)
    merge(ours, run_module(python, "ours", ["cache", "churn_memory", "io", "memory"], quick=quick))
    if seed_python:
        merge(seed, run_module(seed_python, "seed", ["io", "memory"], quick=quick))
    seconds = time.perf_counter() - started

    markdown, problems = report(ours, peers, seed, quick=quick, rounds=rounds, seconds=seconds)
    print()
    print(markdown)
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        (output / "results.md").write_text(markdown, encoding="utf-8")
        plot(ours["results"], seed.get("results", {}), output / "patterns.png")
        print(f"wrote {output / 'results.md'} and {output / 'patterns.png'}", file=sys.stderr)
    if problems:
        raise SystemExit("some handlers did not run once per event: " + "; ".join(problems))


if __name__ == "__main__":
    main()
