"""Small helpers that tests in several packages share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar, cast

from django_event_system.core import EventDispatcher

V = TypeVar("V")


@contextmanager
def installed(install: Callable[[V], object], value: V) -> Iterator[V]:
    """Install ``value`` for the block with a ``set_...`` function of the core, then put back what it replaced.

    For the process-wide hooks (``set_commit_hook``, ``set_outbox``, ``set_hold_provider``,
    ``set_delivery_guard``), each of which takes one value (``None`` removes the hook) and returns
    the one it replaces. The block gets ``value``: ``with installed(set_outbox, ListOutbox()) as outbox: ...``.
    """
    previous = install(value)
    try:
        yield value
    finally:
        # What a set_... function returns is what it takes.
        cast("Callable[[object], object]", install)(previous)


@contextmanager
def registrations_cancelled(dispatcher: EventDispatcher) -> Iterator[None]:
    """Cancel, when the block ends, every registration that was made on ``dispatcher`` within it."""
    before = set(dispatcher.registry)
    try:
        yield
    finally:
        for registration in set(dispatcher.registry) - before:
            registration.cancel()
