"""Helpers of the lifecycle tests: start a program, wait for it, stop it, count what it handled.

A program is ``python <args>`` run from the repository in a subprocess whose output goes to a
log file in the test's directory (a pipe nobody reads would fill up and stall it). Every wait
is bounded: the bounds only guard against hangs, they measure nothing. Every program is stopped
by its own pid, SIGTERM first and SIGKILL if it is still there after a while.
"""

from __future__ import annotations

import collections
import importlib.util
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
import urllib.error
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.django.test_server import get, wait_for
from tests.lifecycle.records import DISPATCHED, HANDLED, OUT, START_UP_EVENTS

__all__ = [
    "FD_SLACK",
    "HANDLED_WITHIN",
    "HANG_GUARD",
    "START_UP_EVENTS",
    "Program",
    "assert_handled_once",
    "dispatched",
    "handlers",
    "program",
    "require_module",
    "result",
    "run",
    "started",
    "wait_for",
    "wait_until_handled",
]

REPO = Path(__file__).resolve().parents[2]
SETTINGS = "tests.lifecycle.project.settings"

HANG_GUARD = 30.0
"""Seconds a program may take to start, to end or to stop before the test calls it a hang."""

HANDLED_WITHIN = 10.0
"""Seconds events that should be handled now may take before the test calls them unhandled."""

FD_SLACK = 2
"""Open file descriptors a process may gain between two counts without being said to leak them."""


def require_module(name: str) -> None:
    """Skip the test when ``name`` cannot be imported (a server it runs); fail instead under CI=true."""
    if importlib.util.find_spec(name) is None:
        reason = f"{name} is not installed (it comes with the dev extra)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}, and CI=true requires it", pytrace=False)
        pytest.skip(reason)


class Program:
    """``python <args>`` running in a subprocess, writing what it handles to ``out``.

    :param env: variables added to this process's environment.
    :param fd_limit: the most file descriptors it may open (``ulimit -n``).
    """

    def __init__(
        self, args: Iterable[str], out: Path, *, name: str, env: Mapping[str, str] | None, fd_limit: int | None
    ) -> None:
        self.name = name
        self.log = out / f"{name}.log"
        self.url = ""
        self.requests = 0
        environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            OUT: str(out),
            **(env or {}),
        }

        def limit_fds() -> None:
            assert fd_limit is not None
            resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, fd_limit))

        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, *args],
                cwd=REPO,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=None if fd_limit is None else limit_fds,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        """What it has printed so far, standard error included."""
        return self.log.read_text(errors="replace")

    def fail(self, why: str) -> NoReturn:
        """Fail the test with ``why`` and the end of what the program printed."""
        tail = "\n".join(self.output().splitlines()[-40:])
        pytest.fail(f"{self.name} (pid {self.pid}) {why}; the end of what it printed:\n{tail}", pytrace=False)

    def wait_for_line(self, pattern: str, timeout: float = HANG_GUARD) -> re.Match[str]:
        """Wait until it prints a match of ``pattern``; fail if it exits or takes longer than ``timeout``."""
        deadline = time.monotonic() + timeout
        while (match := re.search(pattern, self.output(), re.MULTILINE)) is None:
            if self.process.poll() is not None:
                self.fail(f"exited with {self.process.returncode} before printing {pattern!r}")
            if time.monotonic() > deadline:
                self.fail(f"printed no {pattern!r} within {timeout} s")
            time.sleep(0.05)
        return match

    def serving(self, listening: str) -> None:
        """Wait until the server prints the address it listens on (group 1 of ``listening``)."""
        self.url = self.wait_for_line(listening)[1]

    def get(self, path: str) -> Any:
        """GET ``path`` from the server (see :meth:`serving`) and decode its JSON; fail the test if it fails."""
        self.requests += 1
        try:
            return get(self.url + path)
        except OSError as exc:
            error = exc
        if isinstance(error, urllib.error.HTTPError):
            error.close()  # it holds the connection
        return self.fail(f"failed request {self.requests} (GET {path}: {error})")

    def wait(self, timeout: float = HANG_GUARD) -> int:
        """Wait for it to end and return its exit code; stop it and fail if it takes longer than ``timeout``."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            self.fail(f"did not exit within {timeout} s (it hung, and was stopped)")

    def stop(self, timeout: float = HANG_GUARD) -> int:
        """SIGTERM to its pid; SIGKILL if it is still running ``timeout`` seconds later. Returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode

    def fds(self) -> int:
        """How many file descriptors it holds open now."""
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def threads(self) -> int:
        """How many threads it runs now."""
        return len(os.listdir(f"/proc/{self.pid}/task"))

    def settle(self, threads: int) -> None:
        """Wait until it runs at most ``threads`` threads again (the threads of finished requests have ended)."""
        wait_for(lambda: self.threads() <= threads, f"{self.name}'s threads to end, back to {threads}", HANG_GUARD)


@contextmanager
def started(
    *args: str,
    out: Path,
    name: str,
    env: Mapping[str, str] | None = None,
    fd_limit: int | None = None,
) -> Iterator[Program]:
    """Start ``python <args>``; stop it when the block ends, however it ends."""
    program = Program(args, out, name=name, env=env, fd_limit=fd_limit)
    try:
        yield program
    finally:
        program.stop()


def run(*args: str, out: Path, name: str, env: Mapping[str, str] | None = None) -> str:
    """Run ``python <args>`` to its end and return its output; fail if it hangs or exits with an error."""
    with started(*args, out=out, name=name, env=env) as program:
        code = program.wait()
        if code != 0:
            program.fail(f"exited with {code}")
    return program.output()


def result(output: str) -> Any:
    """The JSON that a program printed on its ``RESULT`` line."""
    (line,) = (line for line in output.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def program(name: str) -> tuple[str, ...]:
    """The arguments that run ``tests/lifecycle/programs/<name>.py``, with warnings as errors."""
    return ("-W", "error", "-m", f"tests.lifecycle.programs.{name}")


def _read(path: Path) -> list[tuple[str, int]]:
    if not path.exists():
        return []
    return [(event_id, int(pid)) for event_id, pid in (line.split() for line in path.read_text().splitlines())]


def dispatched(out: Path) -> dict[str, int]:
    """The ids that programs wrote down as dispatched, each with the pid of the process that dispatched it."""
    return dict(_read(out / DISPATCHED))


def handlers(out: Path) -> dict[str, list[int]]:
    """Each id handled so far, with the pid of the process that handled it, once per time it was handled."""
    by_id: dict[str, list[int]] = collections.defaultdict(list)
    for event_id, pid in _read(out / HANDLED):
        by_id[event_id].append(pid)
    return by_id


def _summary(ids: Iterable[str]) -> str:
    ids = sorted(ids)
    return ", ".join(ids[:5]) + (f" ... ({len(ids)} in all)" if len(ids) > 5 else "")


def assert_handled_once(out: Path, requested: Iterable[str] = ()) -> dict[str, list[int]]:
    """Assert that each event was handled exactly once, by the process that dispatched it; return :func:`handlers`.

    The events are those written down as dispatched and the ``requested`` ids (of the requests the
    test made, whose views do not write anything down). Nothing else may have been handled.
    """
    __tracebackhide__ = True
    by = dispatched(out)
    expected = by.keys() | set(requested)
    seen = handlers(out)
    missing = expected - seen.keys()
    twice = [f"{event_id} x{len(pids)} (by {pids})" for event_id, pids in seen.items() if len(pids) > 1]
    elsewhere = [
        f"{event_id} (dispatched by {by[event_id]}, handled by {pids[0]})"
        for event_id, pids in seen.items()
        if event_id in by and len(pids) == 1 and pids[0] != by[event_id]
    ]
    unexpected = seen.keys() - expected
    problems = [
        f"{len(found)} {what}: {_summary(found)}"
        for what, found in [
            ("never handled", missing),
            ("handled more than once", twice),
            ("handled by another process than the one that dispatched them", elsewhere),
            ("handled but never dispatched", unexpected),
        ]
        if found
    ]
    assert not problems, f"of {len(expected)} events, " + "; ".join(problems)
    return seen


def wait_until_handled(out: Path, expected: Iterable[str], what: str, timeout: float = HANDLED_WITHIN) -> None:
    """Wait until every expected id has been handled; fail after ``timeout`` seconds, saying which were not."""
    __tracebackhide__ = True
    expected = set(expected)

    def missing() -> set[str]:
        return expected - handlers(out).keys()

    deadline = time.monotonic() + timeout
    while left := missing():
        if time.monotonic() > deadline:
            pytest.fail(
                f"{what}: {len(expected) - len(left)} of {len(expected)} were handled within {timeout} s; "
                f"not handled: {_summary(left)}",
                pytrace=False,
            )
        time.sleep(0.05)
