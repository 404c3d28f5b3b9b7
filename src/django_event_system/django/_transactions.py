"""After-commit delivery: model events reach after-commit handlers only once the transaction commits.

An Observer or EventListener with ``after_commit = True`` receives the created, updated, saved
and deleted events of models only when the surrounding transaction commits, never when it rolls
back, and at once in autocommit. The other handlers of the same event receive it right away.

When a model signal fires, the handlers for the event are split in two: the others get the
event queued now; the after-commit ones get it from ``transaction.on_commit``, queued too. Both
halves go through the queue, so no handler ever runs in the stack of the code that saved.
"""

from __future__ import annotations

import functools

from django.db import transaction
from django.db.models import Model

from ..core import EventDispatcher, EventListener, Handler

__all__ = ["COMMIT_ACTIONS", "dispatch_model_event", "wants_after_commit"]

COMMIT_ACTIONS = frozenset({"created", "updated", "saved", "deleted"})
"""The model actions whose events after-commit handlers receive only after the commit."""


def wants_after_commit(callback: Handler) -> bool:
    """Whether a registered callback belongs to an after-commit Observer or EventListener."""
    flag = getattr(callback, "__event_system_after_commit__", None)
    if flag is None:
        listener = getattr(callback, "instance", None)
        flag = isinstance(listener, EventListener) and getattr(listener, "after_commit", False) is True
    return flag is True


def _split(callbacks: tuple[Handler, ...]) -> tuple[list[Handler], list[Handler]]:
    now: list[Handler] = []
    later: list[Handler] = []
    for callback in callbacks:
        (later if wants_after_commit(callback) else now).append(callback)
    return now, later


def dispatch_model_event(dispatcher: EventDispatcher, name: str, instance: Model, using: str | None) -> None:
    """Dispatch a commit-sensitive model event, holding it back for after-commit handlers."""
    now, later = _split(dispatcher.registry.resolve(name))
    if not later:
        dispatcher.Dispatch(name, instance)
        return
    # The interceptors (the testing helpers) see the event once, here; if they take it, no half
    # is delivered.
    if dispatcher.deliver_to(now, name, (instance,)):
        transaction.on_commit(functools.partial(_deliver_committed, dispatcher, name, instance), using=using)


def _deliver_committed(dispatcher: EventDispatcher, name: str, instance: Model) -> None:
    # Resolved again: handlers registered or cancelled since the save count as they are now.
    _, later = _split(dispatcher.registry.resolve(name))
    dispatcher.deliver_to(later, name, (instance,), intercept=False)
