"""Small helpers that tests in several packages share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar, cast

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
