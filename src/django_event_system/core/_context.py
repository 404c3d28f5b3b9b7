"""Per-greenlet delivery context shared by the queue and the dispatcher."""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["delivery_depth"]

delivery_depth: ContextVar[int] = ContextVar("django_event_system_delivery_depth", default=0)
"""How deep in a cascade the running handler is: 0 outside handlers, 1 for an event dispatched
by application code, n + 1 for an event dispatched by a handler at depth n.

Every greenlet has its own context, so worker greenlets set it without affecting the code that
dispatched; a queue worker starts at 1."""
