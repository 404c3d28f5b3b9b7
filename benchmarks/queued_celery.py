"""End-to-end throughput of queued events through Celery on Redis, against a plain Celery task.

Run from the repository root, with Redis on 127.0.0.1:6379::

    .venv/bin/python -m benchmarks.queued_celery            # 3 rounds of 2000 messages each way
    .venv/bin/python -m benchmarks.queued_celery --events 500 --rounds 1

It starts one ``celery worker`` subprocess (solo pool, this module as its app), then, in rounds
that alternate the two, sends N messages carrying the same payload (an int, a Decimal, a
datetime, a str and a list of ints) and times from the first send until the worker has handled
the last one:

``plain``   ``record.delay(payload)``: a plain Celery task that counts the call in Redis.
``queued``  ``OrderPlaced.Dispatch(...)`` and ``ClearQueue()``: an Event with a queued listener,
            sent by the Celery transport, revived in the worker; the listener counts it the same way.

Each figure is the best round; the ratio is queued / plain time (the goal is at most 1.2),
for the best rounds and the median of the rounds' own ratios. Redis
database 14 is used and flushed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis
from celery import Celery

from benchmarks._orders import OrderPlaced, payload
from django_event_system.core import EventDispatcher, Queued, configure_transport
from django_event_system.transports.celery import CeleryTransport

BROKER = os.environ.get("DES_BENCH_BROKER", "redis://127.0.0.1:6379/14")
QUEUE = "des-bench"
COUNTER = "des-bench:handled"
ROOT = Path(__file__).resolve().parent.parent

app = Celery("des-bench", broker=BROKER, set_as_current=False)
app.conf.update(
    task_default_queue=QUEUE,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_prefetch_multiplier=16,
    worker_hijack_root_logger=False,
)
_counter = redis.Redis.from_url(BROKER)

bus = EventDispatcher()
configure_transport(CeleryTransport(app))


OrderPlaced.dispatcher = bus


# An explicit key: run as a script, this module is __main__ here but not in the worker.
@bus.listen(OrderPlaced, queued=Queued(key="bench.count_order"))
def count_order(event: OrderPlaced) -> None:
    """The queued listener: count the event."""
    _counter.incr(COUNTER)


@app.task(name="bench.record", acks_late=True)
def record(payload: dict[str, Any]) -> None:
    """The plain task: count the call."""
    _counter.incr(COUNTER)


def wait_for(count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while int(_counter.get(COUNTER) or 0) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the worker handled {_counter.get(COUNTER)!r} of {count} messages in {timeout} s")
        time.sleep(0.002)


def run_plain(events: int) -> float:
    _counter.set(COUNTER, 0)
    start = time.perf_counter()
    for n in range(events):
        record.delay(payload(n))
    wait_for(events, timeout=120)
    return time.perf_counter() - start


def run_queued(events: int) -> float:
    _counter.set(COUNTER, 0)
    start = time.perf_counter()
    for n in range(events):
        OrderPlaced.Dispatch(**payload(n))
    bus.ClearQueue()
    wait_for(events, timeout=120)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="messages per round and mode")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    _counter.flushdb()
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "benchmarks.queued_celery",
            "worker",
            "--pool=solo",
            "-Q",
            QUEUE,
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])},
        start_new_session=True,
    )
    try:
        run_plain(50)  # warm up: the worker is consuming and both code paths are loaded
        run_queued(50)
        plain: list[float] = []
        queued: list[float] = []
        for _ in range(options.rounds):
            plain.append(run_plain(options.events))
            queued.append(run_queued(options.events))
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        _counter.flushdb()
    best_plain, best_queued = min(plain), min(queued)
    ratios = sorted(q / p for p, q in zip(plain, queued, strict=True))
    print(f"{options.events} messages per round, {options.rounds} rounds, Celery {celery_version()}, Redis")
    for number, (p, q) in enumerate(zip(plain, queued, strict=True), 1):
        print(f"round {number}: plain {p:6.3f} s, queued {q:6.3f} s, ratio {q / p:.2f}")
    print(f"plain Celery task : {best_plain:7.3f} s  {options.events / best_plain:8.0f} msg/s (best round)")
    print(f"queued listener   : {best_queued:7.3f} s  {options.events / best_queued:8.0f} msg/s (best round)")
    print(
        f"overhead (queued / plain time): {best_queued / best_plain:.2f}x best rounds, "
        f"{ratios[len(ratios) // 2]:.2f}x median round"
    )


def celery_version() -> str:
    import celery

    return str(celery.__version__)


if __name__ == "__main__":
    main()
