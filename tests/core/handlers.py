"""Handlers that several core test modules register: one that waits, one that drains a dispatcher."""

from __future__ import annotations

from collections.abc import Callable

import gevent

from django_event_system.core import EventDispatcher


def slow_handler(seconds: float, record: list[str], label: str | None = None) -> Callable[[str], None]:
    """A handler that waits ``seconds`` on gevent, then appends ``label`` (or the event's name) to ``record``."""

    def slow(name: str) -> None:
        gevent.sleep(seconds)
        record.append(name if label is None else label)

    return slow


def draining_handler(
    dispatcher: EventDispatcher, event: str, record: list[str], label: str, timeout: float = 5
) -> Callable[[str], None]:
    """A handler that dispatches ``event`` on ``dispatcher`` and drains it, then appends ``label`` to ``record``.

    The drain gives up with ``TimeoutError`` after ``timeout`` seconds, so a deadlock fails the test.
    """

    def draining(name: str) -> None:
        dispatcher.Dispatch(event)
        dispatcher.ClearQueue(timeout=timeout)
        record.append(label)

    return draining
