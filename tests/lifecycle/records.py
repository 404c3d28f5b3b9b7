"""What the programs of the lifecycle tests write down, for the test that started them to count.

Each event carries an id in its name: ``lifecycle::<id>``, or ``request::<id>`` from the views of
``tests.django.testapp``, which the servers serve. A program appends ``<id> <pid>`` to
``dispatched.txt`` before it dispatches and its handler appends the same to ``handled.txt``, in the
directory named by ``$LIFECYCLE_OUT``. Each append is one ``write`` on a file opened with
``O_APPEND``, so that processes and threads that write at once never mix their lines. No Django
here: the plain scripts use it too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from django_event_system import Dispatcher, Registration

__all__ = ["DISPATCHED", "HANDLED", "OUT", "START_UP_EVENTS", "dispatch", "dispatch_at_start_up", "handled", "listen"]

OUT = "LIFECYCLE_OUT"
DISPATCHED = "dispatched.txt"
HANDLED = "handled.txt"
PREFIX = "lifecycle::"
PATTERN = r"(?:lifecycle|request)::.*"
START_UP_EVENTS = "LIFECYCLE_START_UP_EVENTS"


def _append(filename: str, ids: Iterable[str]) -> None:
    pid = os.getpid()
    lines = "".join(f"{event_id} {pid}\n" for event_id in ids).encode()
    fd = os.open(Path(os.environ[OUT]) / filename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, lines)
    finally:
        os.close(fd)


def dispatch(*ids: str) -> None:
    """Write the ids down as dispatched, then dispatch ``lifecycle::<id>`` for each."""
    _append(DISPATCHED, ids)
    for event_id in ids:
        Dispatcher.Dispatch(PREFIX + event_id)


def dispatch_at_start_up() -> None:
    """Dispatch ``$LIFECYCLE_START_UP_EVENTS`` events (none if unset), named after this process."""
    count = int(os.environ.get(START_UP_EVENTS, "0"))
    dispatch(*(f"start-up-{os.getpid()}-{number}" for number in range(count)))


def handled(event_id: str) -> None:
    """Write ``event_id`` down as handled, by this process."""
    _append(HANDLED, [event_id])


def _record(name: str) -> None:
    handled(name.partition("::")[2])


def listen() -> Registration:
    """Register the handler that writes down the id of every event it handles."""
    return Dispatcher.RegisterHandler(PATTERN, _record)
