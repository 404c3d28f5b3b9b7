"""After the commit, with Django: the transactions that after-commit events and handlers wait for.

The core holds an Event whose class sets ``after_commit = True``, and the share of any event that
goes to an after-commit handler (``after_commit`` on ``RegisterHandler`` and ``listen``, on an
EventListener or an Observer), until the transaction that dispatched it commits. This module
shows it Django's transactions (:class:`TransactionCommits`, installed when the adapter is
imported): inside ``atomic()`` the held deliveries wait in an ``on_commit`` callback, registered
at the current savepoint, so that a rolled-back savepoint drops its own events and a rollback
all of them; in autocommit the event goes at once.

Model events are held here, where the model signals dispatch them, on the database that saved:
the created, updated, saved and deleted events (and those of bulk writes and many-to-many
changes) wait for the commit for the after-commit handlers (and for queued handlers, while
their messages are held); the ``-ing`` events never wait. Both
halves go through the queue, so no handler runs in the stack of the code that saved, nor in the
commit (except in sync mode).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Model

from ..core import EventDispatcher, Handler
from ..core.integration import (
    MODEL_EVENT_PREFIX,
    HandlerWrapper,
    HoldState,
    dispatch_after_commit,
    holds_for_commit,
    set_commit_hook,
)

__all__ = [
    "COMMIT_ACTIONS",
    "MODEL_EVENT_PREFIX",
    "TransactionCommits",
    "dispatch_model_event",
    "save_markers",
    "wants_after_commit",
]

COMMIT_ACTIONS = frozenset(
    {"created", "updated", "saved", "deleted", "bulk_created", "bulk_updated", "queryset_updated"}
    | {"m2m_added", "m2m_removed", "m2m_cleared"}
)
"""The model actions whose events after-commit handlers receive only after the commit."""


def wants_after_commit(callback: Handler) -> bool:
    """Whether a registered callback belongs to an after-commit Observer or EventListener."""
    return holds_for_commit(callback)


save_markers: dict[type[Model], Callable[[str, Model], str]] = {}
"""By model: what turns a commit-sensitive event's name into one that carries what the save
changed, for the Observer methods whose conditions are evaluated later (see ``_conditions``)."""


def dispatch_model_event(dispatcher: EventDispatcher, name: str, instance: Model | object, using: str | None) -> None:
    """Dispatch a commit-sensitive model event, holding it back for after-commit handlers until ``using`` commits.

    Only a dispatcher with after-commit registrations, or a handler that waits for the commit
    (a queued one while messages are held), can hold anything back; the others dispatch at once,
    without asking the commit gate.
    """
    if save_markers and isinstance(instance, Model):  # a bulk write's payload carries no save
        mark = save_markers.get(type(instance))
        if mark is not None:
            name = mark(name, instance)
    registry = dispatcher.registry
    may_hold = bool(registry.after_commit_registrations())
    if not may_hold:
        # holds_for_commit() of each handler, written out: it runs at every model event that has handlers.
        for callback in registry.resolve(name):
            if isinstance(callback, HandlerWrapper) and callback.after_commit:
                may_hold = True
                break
    if not (may_hold and dispatch_after_commit(dispatcher, name, (instance,), using=using)):
        dispatcher.Dispatch(name, instance)


class TransactionCommits:
    """The core's view of Django's transactions (see ``set_commit_hook``)."""

    own_prefix = MODEL_EVENT_PREFIX

    def pending(self, using: str | None) -> _OnCommit | None:
        """The transaction open on ``using`` (``None``: the ``QUEUED`` setting's ``DATABASE``,
        ``"default"`` unless set) in the calling code, or ``None`` in autocommit."""
        if not settings.configured:
            return None
        connection = transaction.get_connection(using or _default_database())
        if not connection.in_atomic_block:
            return None
        return _OnCommit(connection)

    def __repr__(self) -> str:
        return "<hold after-commit events until their Django transaction commits>"


def _default_database() -> str:
    # The database whose transactions count for queued messages counts here too. A bad value
    # is reported by the system check E020; until it is fixed, "default" counts.
    raw = getattr(settings, "DJANGO_EVENT_SYSTEM", None)
    queued = raw.get("QUEUED") if isinstance(raw, dict) else None  # pyright: ignore[reportUnknownVariableType, reportUnknownMemberType]
    alias = queued.get("DATABASE") if isinstance(queued, dict) else None  # pyright: ignore[reportUnknownVariableType, reportUnknownMemberType]
    return alias if isinstance(alias, str) and alias else DEFAULT_DB_ALIAS


class _OnCommit:
    """One held dispatch: an ``on_commit`` callback at the savepoint that was current then."""

    __slots__ = ("_callback", "_connection", "_released")

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._callback: Callable[[], None] | None = None
        self._released = False

    def schedule(self, release: Callable[[], None], *, robust: bool) -> None:
        def deliver_after_commit() -> None:
            self._released = True
            release()

        self._callback = deliver_after_commit
        self._connection.on_commit(deliver_after_commit, robust=robust)

    @property
    def state(self) -> HoldState:
        if self._released:
            return "released"
        # Django drops the callbacks of a rolled-back savepoint from run_on_commit, and clears
        # it on a rollback: a callback that neither ran nor waits there was discarded.
        callback = self._callback
        if callback is not None and any(entry[1] is callback for entry in self._connection.run_on_commit):
            return "held"
        return "discarded"


# Installed with the adapter: the app imports it before anything is dispatched.
set_commit_hook(TransactionCommits())
