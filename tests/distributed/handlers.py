"""Queued handlers that the Celery tests dispatch to, imported by the test process and the workers.

Each handler writes a file named after the event's token into the directory named by the
``DES_CELERY_OUT`` environment variable, so that a test can see what a worker in another thread
or process did.
"""

from __future__ import annotations

import decimal
import os
import time
import uuid
from pathlib import Path
from typing import Any

from django_event_system.core import Event, EventDispatcher, Queued, current_delivery

bus = EventDispatcher()
"""The dispatcher of the Celery tests' handlers: the global Dispatcher stays untouched."""


def write(name: str, text: str) -> None:
    """Write ``text`` to the file ``name`` in the output directory, atomically."""
    out = Path(os.environ["DES_CELERY_OUT"])
    partial = out / f".{name}.partial"
    partial.write_text(text)
    partial.replace(out / name)


def record_handling(kind: str, token: str) -> None:
    """Record one handling of an event: a file of its own, so that a test can count them."""
    write(f"handled-{kind}-{token}-{uuid.uuid4().hex[:8]}", str(os.getpid()))


def handlings(out: Path, kind: str, token: str) -> int:
    """How many times the event ``kind`` with ``token`` was handled (see :func:`record_handling`)."""
    return len(list(out.glob(f"handled-{kind}-{token}-*")))


class Ping(Event):
    Name = "celery_tests::ping"
    dispatcher = bus
    token: str
    amount: decimal.Decimal


class Doomed(Event):
    Name = "celery_tests::doomed"
    dispatcher = bus
    token: str


class Survivor(Event):
    Name = "celery_tests::survivor"
    dispatcher = bus
    token: str


@bus.listen(Ping, queued=Queued(max_retries=0))
def record_ping(event: Ping) -> None:
    """Record the event's id and payload."""
    delivery = current_delivery()
    assert delivery is not None
    write(f"ping-{event.token}", f"{event.event_id} {event.amount} {delivery.attempt}")


def doomed_failed(event: Any, exc: Exception) -> None:
    """The failed hook: record that it ran, once per event."""
    write(f"failed-{event.token}", f"{type(exc).__name__}: {exc}")


@bus.listen(Doomed, queued=Queued(max_retries=2, retry_backoff=0.05, failed=doomed_failed))
def always_fails(event: Doomed) -> None:
    """Record each try, then fail."""
    delivery = current_delivery()
    assert delivery is not None
    write(f"try-{event.token}-{delivery.attempt}", str(delivery.attempt))
    raise RuntimeError(f"try {delivery.attempt} fails")


@bus.listen(Survivor, queued=Queued(max_retries=0))
def survive_kill(event: Survivor) -> None:
    """On the first delivery, record the process id and hang (the test kills it); then finish."""
    out = Path(os.environ["DES_CELERY_OUT"])
    if not (out / f"started-{event.token}").exists():
        write(f"started-{event.token}", str(os.getpid()))
        time.sleep(60)
    delivery = current_delivery()
    assert delivery is not None
    write(f"done-{event.token}", f"{os.getpid()} {event.event_id}")


class Noted(Event):
    """An event that ordinary tasks dispatch, for a handler in the worker's own process."""

    Name = "celery_tests::noted"
    dispatcher = bus
    token: str


@bus.listen(Noted)
def record_noted(event: Noted) -> None:
    """Count the handling (in-process, not queued)."""
    record_handling("noted", event.token)
