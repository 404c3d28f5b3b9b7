"""The handler every variant that has one runs: 50 ms of cooperative I/O, then a tally."""

from __future__ import annotations

import time
from typing import Any

import gevent

from .models import Row

HANDLER_SECONDS = 0.05


class Tally:
    """What the handler saw, for the drain view to check against the table."""

    def __init__(self) -> None:
        self.handled: list[int] = []
        """The primary key of each row handled, once per call."""
        self.done_after: list[float] = []
        """Seconds from each row's ``saved_at`` until its handler returned."""


tally = Tally()


def slow_io(row: Row) -> None:
    """Wait 50 ms on the hub, as a call to a mail or payment API would, then count the row."""
    gevent.sleep(HANDLER_SECONDS)
    tally.handled.append(row.pk)
    tally.done_after.append(time.monotonic() - row.saved_at)


def on_post_save(sender: type[Row], instance: Row, created: bool, **kwargs: Any) -> None:
    """The ``signal`` variant's receiver: runs inside ``save()``, so the request waits for it."""
    if created:
        slow_io(instance)
