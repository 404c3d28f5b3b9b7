"""Change listeners: the callbacks that a part with a ``version`` calls after each change.

The pattern registry and the interceptor chain each keep one. A listener is for code that keeps
something computed from them and must not wait for its next ``version`` check to update it (the
Django adapter reconnects a model's signals).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["ChangeListeners"]


class ChangeListeners:
    """The listeners of one part: added and removed under their own lock, called outside it."""

    __slots__ = ("_listeners", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: tuple[Callable[[], None], ...] = ()

    def add(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after each change from now on."""
        with self._lock:
            self._listeners = (*self._listeners, listener)

    def remove(self, listener: Callable[[], None]) -> None:
        """Stop calling ``listener`` (compared by equality, so a bound method can be passed again)."""
        with self._lock:
            self._listeners = tuple(each for each in self._listeners if each != listener)

    def notify(self) -> None:
        """Call every listener, in the order they were added."""
        for listener in self._listeners:
            listener()
