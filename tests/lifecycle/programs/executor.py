"""Run 201 short-lived thread pools whose tasks dispatch; nothing drains.

Each pool (``ThreadPoolExecutor(max_workers=2)``, four tasks, one event each) is shut down with
``wait=True`` when its block ends, so its threads have ended. After the last one, the program
waits (10 s at most) for the handled file to hold every event, counts its open file descriptors
after the first pool and after the last, and prints them on a ``RESULT`` line as JSON.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.lifecycle.records import HANDLED, OUT, dispatch, listen

POOLS = 201
TASKS = 4


def run_pool(number: int) -> None:
    with ThreadPoolExecutor(max_workers=2) as executor:
        list(executor.map(dispatch, (f"executor-{number}-{task}" for task in range(TASKS))))


def handled_count() -> int:
    path = Path(os.environ[OUT]) / HANDLED
    return len({line.split()[0] for line in path.read_text().splitlines()}) if path.exists() else 0


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


if __name__ == "__main__":
    listen()
    run_pool(0)
    fds_after_first = open_fds()
    for number in range(1, POOLS):
        run_pool(number)
    deadline = time.monotonic() + 10
    while handled_count() < POOLS * TASKS and time.monotonic() < deadline:
        time.sleep(0.05)
    report = {"handled": handled_count(), "fds_after_first": fds_after_first, "fds_after_last": open_fds()}
    print("RESULT", json.dumps(report))
