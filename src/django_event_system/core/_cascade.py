"""The cascade depth: how deep in events dispatched by handlers the running code is.

The depth says how deep in a cascade the running code is: 0 outside handlers, 1 in the handlers
of an event dispatched by application code, n + 1 in the handlers of an event dispatched by a
handler at depth n.

It lives in a one-element list held by a context variable. Every greenlet has its own context,
so each greenlet gets its own list the first time it enters a handler; after that, entering and
leaving a level is an increment and a decrement, far cheaper than ``ContextVar.set``/``reset``
on the sync-mode dispatch path. Code that never ran a handler shares the read-only
:data:`OUTSIDE` list, whose value is always 0.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Final

__all__ = ["DEFAULT_MAX_DEPTH", "OUTSIDE", "current_depth", "depth_holder", "own_depth_holder"]

DEFAULT_MAX_DEPTH = 100
"""How deep a cascade of events dispatched by handlers may go before ``CascadeDepthError``."""

OUTSIDE: Final[list[int]] = [0]
"""The holder of every greenlet that has not run a handler. Never mutated."""

depth_holder: ContextVar[list[int]] = ContextVar("django_event_system_delivery_depth")

_get = depth_holder.get


def own_depth_holder() -> list[int]:
    """Return this greenlet's own holder, creating it on first use; safe to mutate."""
    holder = _get(OUTSIDE)
    if holder is OUTSIDE:
        holder = [0]
        depth_holder.set(holder)
    return holder


def current_depth() -> int:
    """The cascade depth of the running code (0 outside handlers)."""
    return _get(OUTSIDE)[0]
