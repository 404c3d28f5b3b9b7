"""What watching a model costs a save, counted in instructions: ``python -m benchmarks.models_instructions``.

``scripts/bench --models-instructions`` runs it in ``.venv-bench``. The clock of
``benchmarks.models`` is what a user feels, but on a shared machine it moves with the other
tenants by more than the differences it measures; the count of instructions that callgrind
(valgrind's tool) reports does not. Each variant of ``benchmarks.models`` (the same models and
handlers, SQLite in memory) runs in a process of its own under callgrind, ``PYTHONHASHSEED=0``,
the garbage collector on:

``create``  after a warm-up, batches of 200 ``objects.create(...)`` and ``Dispatcher.ClearQueue()``;
``update``  after a warm-up, batches of 4 x 200 ``save()`` of the same 200 rows and ``ClearQueue()``.

Each is run twice, with 1 and with 3 batches, so that what the process does once (start, set up,
warm up) cancels out: the figure per save is the difference divided by the saves of 2 batches.
The ratios are to the unobserved model. Writes ``benchmarks/models_instructions.md`` unless
``--output -`` (prints only). A run takes a few minutes (two processes at a time).
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "models_instructions.md"
SAVES = 200
UPDATE_LOOPS = 4
KINDS = ("create", "update")
COUNTED = ("unobserved", "receiver", "observer", "untracked", "lifecycle")
"""The variants counted: those of ``benchmarks.models`` that watch saves (lifecycle where installed)."""


def child(key: str, kind: str, batches: int) -> None:
    """Run in the process that callgrind counts: the warm-up, then ``batches`` batches of ``kind``."""
    from benchmarks import models

    models.configure()
    from django_event_system import Dispatcher

    variant = next((v for v in models.variants() if v.key == key), None)
    if variant is None:
        raise SystemExit(f"no variant {key!r} here (django-lifecycle not installed?)")
    models.prepare(variant)
    model = variant.model
    instances = [model.objects.create(name="saved", count=n, data={"tags": ["a", "b"], "n": n}) for n in range(SAVES)]
    for instance in instances:
        instance.count += 1
        instance.save()
    Dispatcher.ClearQueue()
    for _ in range(batches):
        if kind == "create":
            for n in range(SAVES):
                model.objects.create(name="saved", count=n, data={"tags": ["a", "b"], "n": n})
        else:
            for _ in range(UPDATE_LOOPS):
                for instance in instances:
                    instance.count += 1
                    instance.save()
        Dispatcher.ClearQueue()


def count(key: str, kind: str, batches: int) -> int:
    """The instructions of one child process, as callgrind collected them."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "benchmarks.models_instructions",
        "--child",
        key,
        kind,
        str(batches),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{key} {kind} x{batches} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_save(key: str, kind: str) -> float:
    once, thrice = count(key, kind, 1), count(key, kind, 3)
    saves = 2 * SAVES * (UPDATE_LOOPS if kind == "update" else 1)
    return (thrice - once) / saves


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument(
        "--output", default=str(RESULTS), help=f"where to write the results ({RESULTS.name}; - prints only)"
    )
    parser.add_argument("--child", nargs=3, metavar=("VARIANT", "KIND", "BATCHES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        key, kind, batches = args.child
        child(key, kind, int(batches))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind): it counts the instructions")
    from benchmarks import models

    models.configure()
    labels = {variant.key: variant.label for variant in models.variants()}
    keys = [key for key in COUNTED if key in labels]
    started = time.monotonic()
    jobs = [(key, kind) for key in keys for kind in KINDS]
    with ThreadPoolExecutor(max_workers=2) as pool:
        figures = dict(zip(jobs, pool.map(lambda job: per_save(*job), jobs), strict=True))
    elapsed = time.monotonic() - started
    lines = [
        "| Variant | Create, instructions per save | ratio | Update, instructions per save | ratio |",
        "|---|---|---|---|---|",
    ]
    for key in keys:
        cells = [labels[key]]
        for kind in KINDS:
            value, base = figures[key, kind], figures["unobserved", kind]
            cells += [f"{value / 1000:,.1f}k", f"{value / base:.3f}x"]
        lines.append("| " + " | ".join(cells) + " |")
    print("\n".join(lines))
    if args.output != "-":
        text = [
            "# What watching a model costs a save, in instructions",
            "",
            f"Written by `scripts/bench --models-instructions` on {datetime.date.today().isoformat()}, in "
            f"{elapsed:.0f} s: instructions per save counted by callgrind, each the difference between a "
            f"process with 3 batches and one with 1 (see `benchmarks/models_instructions.py`). A create batch "
            f"is {SAVES} creates, an update batch {UPDATE_LOOPS} x {SAVES} saves, each followed by "
            "`Dispatcher.ClearQueue()`, so the handlers are counted too. SQLite in memory.",
            "",
            *lines,
            "",
            f"Machine: {models.machine()}.",
            "",
        ]
        Path(args.output).write_text("\n".join(text), encoding="utf-8")
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
