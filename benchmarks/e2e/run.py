"""Run the end-to-end benchmark: ``python -m benchmarks.e2e.run`` (``scripts/bench-e2e`` calls it).

For each load shape and each variant (``none``, ``signal``, ``observer``; see
:mod:`benchmarks.e2e`) it starts ``benchmarks.e2e.serve`` on a fresh SQLite file in a temporary
directory, loads it from a separate process (``wrk`` with ``post.lua``, or ``benchmarks.e2e.load``
when ``wrk`` is missing) for a warm-up and then for the measured run, asks the server's
``/drain/`` view to handle what is still queued and to count the rows and the handler's calls,
and stops the server. With ``--rounds N`` the variants are measured N times each, alternating,
and each figure is the median of the rounds. It prints the tables and, unless ``--quick``,
writes ``benchmarks/e2e_results.md``.

The two load shapes, both with 50 connections:

``saturated``  each connection sends its next request at once: the server's one process is always
               busy, every request waits behind the others, so the latency is the queue's and
               follows the CPU each request costs; this shape measures throughput. Its ``none``
               figure is the server's capacity on this machine, measured first.
``paced``      a fixed fraction (``--fraction``, 0.5 by default) of that capacity, the same rate
               for every variant: each connection pauses between an answer and its next request,
               as users between clicks, for as long as makes the rate (the warm-up measures how
               long the variant takes to answer, and the pause is what is left of the interval).
               The server has the same share of CPU to spare on any machine, so a request's
               latency is what it waits for, and the p50 goal is judged here. ``--pause`` sets a
               fixed pause instead.

It fails (exit status 1) when a variant's handler did not handle every saved row exactly once,
when a request failed, or when a server logged an error.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from benchmarks.e2e import VARIANT_ENV, VARIANTS, Variant

ROOT = Path(__file__).resolve().parent.parent.parent
HERE = Path(__file__).resolve().parent
RESULTS = ROOT / "benchmarks" / "e2e_results.md"
RESULT_PREFIX = "E2E-RESULT "
P50_GOAL = 1.10
"""Under the paced load, the ``observer`` variant's p50 may be at most this many times the ``none`` variant's."""

Shape = Literal["paced", "saturated"]
SHAPES: tuple[Shape, ...] = ("saturated", "paced")
"""In the order they are measured: the saturated rate with no handler sets the paced rate."""

LABELS: dict[Variant, str] = {
    "none": "No handler",
    "signal": "`post_save` receiver (synchronous)",
    "observer": "This package: `Observer.created`",
    "bounded": "This package, `MAX_PENDING=2000`",
}


@dataclass(frozen=True)
class Options:
    """How to run: the load's shape and which client applies it."""

    duration: float
    warmup: float
    connections: int
    fraction: float
    """The paced shape's rate, as a fraction of the saturated rate with no handler."""
    pause_ms: float | None
    """A fixed pause for the paced shape instead (ms between an answer and the next request)."""
    rounds: int
    client: str
    """``wrk`` or ``python``."""
    shapes: tuple[Shape, ...]
    pool_size: int
    """The event system's ``POOL_SIZE`` in the variants that install it."""


@dataclass(frozen=True)
class Measurement:
    """One measured run of one variant: what the client saw and what the server counted."""

    variant: Variant
    shape: Shape
    load: dict[str, Any]
    """The client's ``E2E-RESULT`` line: requests, duration and latency percentiles in µs, errors."""
    pause_ms: float
    """Each connection's pause between an answer and its next request (0 when saturated)."""
    counts: dict[str, Any]
    """The ``/drain/`` view's answer: rows, handled, distinct, unhandled, unknown, backlog..."""
    cpu_seconds: float | None
    """CPU time the server used during the measured load (``None`` where ``/proc`` is missing)."""
    server_log: str
    """What the server wrote to stderr."""

    @property
    def requests_per_second(self) -> float:
        return float(self.load["requests"]) / (float(self.load["duration_us"]) / 1e6)

    @property
    def failed_requests(self) -> int:
        keys = ("connect_errors", "read_errors", "write_errors", "non_2xx", "timeouts")
        return sum(int(self.load[key]) for key in keys)

    @property
    def exactly_once(self) -> bool:
        """Every saved row handled once, no handler call for a row that is not there (none: no call at all)."""
        counts = self.counts
        if self.variant == "none":
            return bool(counts["handled"] == 0)
        return bool(
            counts["handled"] == counts["distinct"] == counts["rows"]
            and counts["unhandled"] == 0
            and counts["unknown"] == 0
        )

    @property
    def problems(self) -> list[str]:
        """What went wrong in this run, if anything."""
        found = []
        if not self.exactly_once:
            found.append(
                f"{self.variant} ({self.shape}): the handler did not handle every row exactly once: {self.counts}"
            )
        if self.failed_requests:
            found.append(f"{self.variant} ({self.shape}): {self.failed_requests} requests failed: {self.load}")
        if "Traceback" in self.server_log or "ERROR" in self.server_log:
            found.append(f"{self.variant} ({self.shape}): the server logged errors:\n{self.server_log}")
        return found


# -- running one variant --------------------------------------------------------------------


class Server:
    """``benchmarks.e2e.serve`` for one variant, on a fresh database in a temporary directory."""

    def __init__(self, variant: Variant, pool_size: int) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix=f"des-e2e-{variant}-"))
        self.stderr_path = self.workdir / "server.log"
        env = {
            **os.environ,
            VARIANT_ENV: variant,
            "E2E_DATABASE": str(self.workdir / "e2e.sqlite3"),
            "E2E_POOL_SIZE": str(pool_size),
            "DJANGO_SETTINGS_MODULE": "benchmarks.e2e.settings",
            "PYTHONUNBUFFERED": "1",
        }
        with self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.e2e.serve"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("listening on "):
            self.process.kill()
            raise SystemExit(f"the {variant} server did not start:\n{line}{self.log()}")
        self.url = line.split()[-1]

    def log(self) -> str:
        return self.stderr_path.read_text()

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the server process so far, from ``/proc``."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        # After the command name: utime and stime are fields 14 and 15 of stat(5), in clock ticks.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """SIGTERM, then wait for the server to print ``stopped`` and exit."""
        self.process.send_signal(signal.SIGTERM)
        assert self.process.stdout is not None
        rest, _ = self.process.communicate(timeout=120)
        if self.process.returncode != 0 or "stopped" not in rest:
            raise SystemExit(f"the server exited with {self.process.returncode}:\n{rest}{self.log()}")

    def cleanup(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def apply_load(url: str, options: Options, pause: float, duration: float) -> dict[str, Any]:
    """Load ``url`` for ``duration`` seconds, each connection pausing ``pause`` ms between an answer
    and its next request, with the chosen client; return its result line's JSON."""
    if options.client == "wrk":
        command = [
            "wrk",
            "--threads",
            "1",
            "--connections",
            str(options.connections),
            "--duration",
            f"{max(1, round(duration))}s",
            "--latency",
            "--script",
            str(HERE / "post.lua"),
            url,
        ]
    else:
        command = [
            sys.executable,
            "-m",
            "benchmarks.e2e.load",
            url,
            "--connections",
            str(options.connections),
            "--duration",
            str(duration),
            "--pause",
            str(pause),
        ]
    env = {**os.environ, "E2E_PAUSE_MS": str(pause)}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    for line in result.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            loaded: dict[str, Any] = json.loads(line.removeprefix(RESULT_PREFIX))
            return loaded
    raise SystemExit(f"{command[0]} printed no result (exit {result.returncode}):\n{result.stdout}{result.stderr}")


def pause_for(rate: float, connections: int, answer_ms: float) -> float:
    """The pause (ms) that makes ``connections`` closed-loop connections send ``rate`` requests/s.

    Each connection sends one request per interval, ``connections / rate`` seconds: the time the
    server takes to answer (``answer_ms``, measured) and the pause. With the median answer time
    the rate comes out a little above ``rate`` (the mean is longer), by well under 1% at the
    default rate, where the interval is some 50 ms and an answer about 1 ms.
    """
    return max(0.0, 1000 * connections / rate - answer_ms)


def measure(variant: Variant, shape: Shape, options: Options, rate: float | None) -> Measurement:
    """Serve ``variant``, warm it up, load it, drain it, stop it.

    ``rate`` is the paced shape's requests/s (``None`` when saturated, or with a fixed pause). The
    warm-up, paced at the interval that rate gives, measures how long this variant takes to
    answer (the client's median latency: a few slow answers, when the machine is busy elsewhere,
    move the mean far more); a short second run, at the pause that leaves, measures it again on
    the warm server (the warm-up's first answers are slow), and the measured run pauses for what
    is left.
    """
    server = Server(variant, options.pool_size)
    try:
        paced = shape == "paced" and rate is not None and options.pause_ms is None
        pause = 0.0
        if shape == "paced":
            pause = options.pause_ms if options.pause_ms is not None else pause_for(rate or 1, options.connections, 0)
        runs = [options.warmup] if options.warmup > 0 else []
        if paced:
            runs.append(max(1.0, options.warmup / 2))
        for duration in runs:
            settling = apply_load(server.url, options, pause, duration)
            if paced and rate is not None:
                pause = pause_for(rate, options.connections, float(settling["p50_us"]) / 1000)
        cpu_before = server.cpu_seconds()
        load = apply_load(server.url, options, pause, options.duration)
        cpu_after = server.cpu_seconds()
        with urllib.request.urlopen(server.url + "/drain/", timeout=600) as response:
            counts: dict[str, Any] = json.loads(response.read())
        server.stop()
        cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
        return Measurement(variant, shape, load, pause, counts, cpu, server.log())
    finally:
        server.cleanup()


# -- reporting -------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def ms(microseconds: float) -> str:
    return f"{microseconds / 1000:.1f} ms"


@dataclass(frozen=True)
class Summary:
    """One variant's figures under one load shape over the rounds: medians of rates and latencies, sums of counts."""

    variant: Variant
    rounds: list[Measurement]

    @property
    def requests_per_second(self) -> float:
        return median([m.requests_per_second for m in self.rounds])

    def latency_us(self, key: str) -> float:
        return median([float(m.load[key]) for m in self.rounds])

    def count(self, key: str) -> int:
        return sum(int(m.counts[key]) for m in self.rounds)

    @property
    def pause_ms(self) -> float:
        return median([m.pause_ms for m in self.rounds])

    @property
    def cpu_per_request_us(self) -> float | None:
        values = [m.cpu_seconds / m.load["requests"] * 1e6 for m in self.rounds if m.cpu_seconds is not None]
        return median(values) if values else None

    @property
    def exactly_once(self) -> bool:
        return all(m.exactly_once for m in self.rounds)

    def done_after_ms(self, key: str) -> str:
        values = [float(m.counts[key]) for m in self.rounds if m.counts[key] is not None]
        return f"{median(values) * 1000:.1f} ms" if values else ""


Summaries = dict[Shape, dict[Variant, Summary]]


def shape_title(shape: Shape, options: Options, rate: float | None) -> str:
    if shape == "paced":
        if options.pause_ms is not None:
            return (
                f"Paced: {options.connections} connections, each pausing {options.pause_ms:g} ms between an "
                "answer and its next request"
            )
        return (
            f"Paced: {options.fraction:.0%} of the saturated rate with no handler, {rate or 0:,.0f} requests/s "
            f"offered to every variant by {options.connections} connections, each pausing between an answer "
            "and its next request"
        )
    return f"Saturated: {options.connections} connections, each sending its next request at once"


def table(summaries: dict[Variant, Summary]) -> list[str]:
    """The results table of one load shape in Markdown."""
    baseline = summaries["none"].latency_us("p50_us") if "none" in summaries else None
    lines = [
        "| Variant | Requests/s | Pause | p50 | p99 | p50 vs no handler | Server CPU per request "
        "| Rows saved | Handler calls | Exactly once |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for variant, summary in summaries.items():
        p50 = summary.latency_us("p50_us")
        ratio = f"{p50 / baseline:.2f}x" if baseline else ""
        cpu = summary.cpu_per_request_us
        once = "n/a (no handler)" if variant == "none" else ("yes" if summary.exactly_once else "**NO**")
        lines.append(
            f"| {LABELS[variant]} | {summary.requests_per_second:,.0f} | {summary.pause_ms:.1f} ms | {ms(p50)} "
            f"| {ms(summary.latency_us('p99_us'))} | {ratio} | {'' if cpu is None else f'{cpu:,.0f} µs'} "
            f"| {summary.count('rows'):,} | {summary.count('handled'):,} | {once} |"
        )
    return lines


def goal_line(summaries: Summaries) -> str | None:
    """The verdict on the p50 goal (paced load), when both variants it compares were measured."""
    paced = summaries.get("paced", {})
    if "none" not in paced or "observer" not in paced:
        return None
    ratio = paced["observer"].latency_us("p50_us") / paced["none"].latency_us("p50_us")
    verdict = "met" if ratio <= P50_GOAL else "**missed**"
    every = all(s.exactly_once for by_variant in summaries.values() for s in by_variant.values())
    return (
        f"Goal: under the paced load, this package's p50 within {P50_GOAL - 1:.0%} of no handler's: "
        f"{ratio:.2f}x, {verdict}. Every event handled exactly once, in every run: "
        + ("yes" if every else "**no**")
        + "."
    )


def handler_lines(summaries: Summaries) -> list[str]:
    """What the handlers saw: from the save until the handler returned, the backlog, the drain."""
    lines = [
        "| Load | Variant | Save → handler returned, p50 | p99 | Events still queued when the load stopped "
        "| Most events queued | Oldest pending event | Server's peak memory | `/drain/` took |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for shape, by_variant in summaries.items():
        for variant, summary in by_variant.items():
            if variant == "none":
                continue
            drain = median([float(m.counts["drain_seconds"]) for m in summary.rounds])
            peak = max((int(m.counts.get("peak_pending") or 0) for m in summary.rounds), default=0)
            ages = [float(m.counts["peak_age"]) for m in summary.rounds if m.counts.get("peak_age") is not None]
            memory = [int(m.counts["peak_memory_kib"]) for m in summary.rounds if m.counts.get("peak_memory_kib")]
            lines.append(
                f"| {shape} | {LABELS[variant]} | {summary.done_after_ms('done_after_p50')} "
                f"| {summary.done_after_ms('done_after_p99')} | {summary.count('backlog'):,} "
                f"| {peak:,} | {f'{max(ages) * 1000:,.0f} ms' if ages else 'not stamped'} "
                f"| {f'{max(memory) / 1024:,.0f} MiB' if memory else ''} | {drain * 1000:.0f} ms |"
            )
    return lines


def version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    """The processor's name, from ``/proc/cpuinfo`` where there is one."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return cpu


def source_commit() -> str:
    """The commit the package's code comes from, and whether ``src/`` differs from it."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True)
    return (commit.stdout.strip() or "unknown") + (" (src/ modified)" if dirty.stdout.strip() else "")


def machine_lines(options: Options, load_before: tuple[float, ...], load_after: tuple[float, ...]) -> list[str]:
    """Where and with what the figures were measured."""
    cpu = cpu_model()
    if options.client == "wrk":
        probe = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        client = (probe.stdout + probe.stderr).splitlines()[0].split(" [")[0]
    else:
        client = "benchmarks/e2e/load.py (wrk was not found)"
    where = source_commit()
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; {platform.system()} {platform.release()}",
        f"- Load average (1, 5, 15 min) before the run: {', '.join(f'{v:.2f}' for v in load_before)}; "
        f"after: {', '.join(f'{v:.2f}' for v in load_after)}",
        f"- django-event-system {version('django-event-system')} at commit {where}; CPython "
        f"{platform.python_version()}, Django {version('django')}, gevent {version('gevent')}, "
        f"greenlet {version('greenlet')}, SQLite {sqlite_version()}",
        f"- Load: {client}, one thread, {options.connections} connections, "
        f"{options.warmup:g} s warm-up then {options.duration:g} s per variant and load shape, "
        f"{options.rounds} round(s); `POOL_SIZE` {options.pool_size} in the variants with this package",
    ]


def sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


def report(
    summaries: Summaries,
    options: Options,
    rate: float | None,
    elapsed: float,
    command: str,
    load_before: tuple[float, ...],
    load_after: tuple[float, ...],
) -> str:
    """The Markdown of ``e2e_results.md``."""
    goal = goal_line(summaries)
    lines = [
        "# End-to-end benchmark results",
        "",
        f"Written by `{command}` on {datetime.date.today().isoformat()}, in {elapsed:.0f} s.",
        "",
        "A Django view saves a row per request, served by gevent's WSGI server (monkey-patched, one "
        "process, loopback, SQLite in WAL mode); a handler of each new row waits 50 ms on "
        "`gevent.sleep(0.05)`. Latencies are those the load client measured from request to answer; "
        "each figure is the median of the rounds. Rows saved and handler calls cover the warm-up too "
        "and are counted by the server after the load stopped and the queue was drained. The paced load "
        "is the same rate for every variant, a fraction of the saturated rate with no handler measured "
        "first; each connection's pause (the table's) is what is left of its interval once the variant "
        "has answered, as measured in the warm-up.",
        "",
    ]
    for shape, by_variant in summaries.items():
        lines += [f"## {shape_title(shape, options, rate)}", "", *table(by_variant), ""]
    if goal:
        lines += [goal, ""]
    lines += [
        "## The handlers",
        "",
        "The time from each row's save until its handler returned (the handler itself waits 50 ms), "
        "the events still waiting for a worker when the load stopped, and how long the `/drain/` view "
        "took to finish the requests still running and handle the rest.",
        "",
        *handler_lines(summaries),
        "",
        "## Machine",
        "",
        *machine_lines(options, load_before, load_after),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    """Parse the arguments, run the variants, print the tables, write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of measured load per variant")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before each measured run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument(
        "--fraction",
        type=float,
        default=0.5,
        help="the paced load's rate, as a fraction of the saturated rate with no handler (0.5 by default)",
    )
    parser.add_argument(
        "--pause", type=float, default=None, help="a fixed pause between requests for the paced load, in ms, instead"
    )
    parser.add_argument("--rounds", type=int, default=1, help="measure each variant this many times, alternating")
    parser.add_argument("--quick", action="store_true", help="5 s per variant, 1 s warm-up; writes nothing")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--shapes", nargs="+", choices=SHAPES, default=list(SHAPES))
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the results")
    parser.add_argument(
        "--pool-size", type=int, default=100, help="POOL_SIZE of the variants with this package (100 by default)"
    )
    args = parser.parse_args()
    for name in ("duration", "connections", "rounds", "pool_size", "fraction"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.pause is not None and args.pause < 0:
        parser.error("--pause must not be negative")
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    elif client == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not on PATH (install it, e.g. 'apt-get install wrk', or use --client python)")
    options = Options(
        duration=5.0 if args.quick else args.duration,
        warmup=1.0 if args.quick else args.warmup,
        connections=args.connections,
        fraction=args.fraction,
        pause_ms=args.pause,
        rounds=args.rounds,
        client=client,
        shapes=tuple(s for s in SHAPES if s in args.shapes),
        pool_size=args.pool_size,
    )
    variants: list[Variant] = [v for v in VARIANTS if v in args.variants]
    load_before = os.getloadavg()
    print(
        f"load average {', '.join(f'{v:.2f}' for v in load_before)} on {os.cpu_count()} cores; {client}, "
        f"{options.connections} connections, {options.warmup:g} s warm-up + {options.duration:g} s "
        f"per variant and load shape ({', '.join(options.shapes)})",
        flush=True,
    )
    started = time.monotonic()
    measured: dict[Shape, dict[Variant, list[Measurement]]] = {s: {v: [] for v in variants} for s in options.shapes}
    rate: float | None = None
    calibrated = "saturated" in options.shapes and "none" in variants
    if "paced" in options.shapes and options.pause_ms is None and not calibrated:
        capacity = measure("none", "saturated", options, None)
        rate = options.fraction * capacity.requests_per_second
        print(f"capacity with no handler: {capacity.requests_per_second:,.0f} req/s; paced at {rate:,.0f}", flush=True)
    for round_number in range(1, options.rounds + 1):
        for shape in options.shapes:
            for variant in variants:
                m = measure(variant, shape, options, rate if shape == "paced" else None)
                measured[shape][variant].append(m)
                print(
                    f"round {round_number} {shape:>9} {variant:>8}: {m.requests_per_second:7,.0f} req/s, "
                    f"pause {m.pause_ms:.1f} ms, p50 {ms(m.load['p50_us'])}, p99 {ms(m.load['p99_us'])}; "
                    f"rows {m.counts['rows']:,}, handled {m.counts['handled']:,}",
                    flush=True,
                )
                if rate is None and shape == "saturated" and variant == "none" and options.pause_ms is None:
                    # The first round's capacity sets the paced rate of every round.
                    rate = options.fraction * m.requests_per_second
                    print(f"paced load: {rate:,.0f} req/s ({options.fraction:.0%} of that)", flush=True)
    elapsed = time.monotonic() - started
    load_after = os.getloadavg()
    summaries: Summaries = {
        shape: {v: Summary(v, rounds) for v, rounds in by_variant.items()} for shape, by_variant in measured.items()
    }
    for shape, by_variant in summaries.items():
        print(f"\n{shape_title(shape, options, rate)}\n")
        print("\n".join(table(by_variant)))
    goal = goal_line(summaries)
    if goal:
        print(f"\n{goal}")
    problems = [
        p for by_variant in measured.values() for rounds in by_variant.values() for m in rounds for p in m.problems
    ]
    if not args.quick:
        command = " ".join(["scripts/bench-e2e", *sys.argv[1:]])
        write_results(args.output, report(summaries, options, rate, elapsed, command, load_before, load_after))
    fail_on(problems)


def write_results(path: Path, text: str) -> None:
    """Write a results file and say where."""
    path.write_text(text)
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def fail_on(problems: list[str]) -> None:
    """Exit with status 1, listing them, if anything went wrong."""
    if problems:
        print("\n".join(problems), file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
