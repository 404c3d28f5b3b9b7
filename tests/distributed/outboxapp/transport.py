"""The transport of the outbox scenarios: Celery's, counting each publish in a file.

``DES_CELERY_OUT/publishes.log`` gets a line ``<pid> <event id> <handler>`` per message
published; ``DES_PUBLISH_DELAY`` (seconds) slows each publish down, so that a test can stop a
relay in the middle of a batch.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from django_event_system.core import Message, Transport
from django_event_system.transports.celery import CeleryTransport


class CountingTransport(CeleryTransport):
    """Publishes through Celery, then appends the publish to the log."""

    def enqueue(self, message: Message, *, delay: float = 0.0, attempt: int = 0) -> None:
        pause = float(os.environ.get("DES_PUBLISH_DELAY", "0"))
        if pause:
            time.sleep(pause)
        super().enqueue(message, delay=delay, attempt=attempt)
        out = os.environ.get("DES_CELERY_OUT")
        if out:
            with (Path(out) / "publishes.log").open("a") as log:  # one short append per line
                log.write(f"{os.getpid()} {message.event_id} {message.handler}\n")


def counting() -> Transport:
    """The transport that QUEUED['TRANSPORT'] names."""
    from tests.distributed.django_celery import app

    return CountingTransport(app)
