"""After the commit: events held until the transaction that dispatched them commits.

What is held:

- every delivery of an Event whose class sets ``after_commit = True``, to every handler
  (in-process and queued);
- the share of any event that goes to a handler registered with ``after_commit=True``
  (``RegisterHandler``, ``listen``, ``AddListener``, an EventListener's or an Observer's class
  attribute); the other handlers of the event get it at once.

The core knows no database. An adapter installs a :class:`CommitHook` with
:func:`set_commit_hook` (the Django adapter does, when it is imported). Asked in the dispatching
code's stack, the hook returns ``None`` when no transaction is open there, and the event goes at
once; else a :class:`PendingCommit`, which runs a callback when the transaction commits and never
if it (or the savepoint the event was dispatched in) rolls back. That callback queues the held
deliveries, so no handler runs inside the commit either (except in sync mode). Without a hook
there is no transaction to wait for: after-commit events and handlers get their events at once.

The decision is taken by :class:`_CommitGate`, an interceptor that a dispatcher has only while it
needs one: while it has after-commit registrations (other than those of the names the adapter
routes itself, its model events) or is the ``dispatcher`` of an after-commit Event class. Every
other dispatcher keeps its fast path. The gate's per-name work (which handlers hold back) is done
once per name, for as long as the registry's resolution cache stands, like the resolution itself.
"""

from __future__ import annotations

import contextvars
import functools
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

from ._config import is_live, is_sync, live_dispatchers
from ._event import Event, watch_event_classes
from ._handlers import Handler, holds_for_commit
from ._interception import Interception, Interceptor, Stage

if TYPE_CHECKING:
    from ._bus import Bus

__all__ = [
    "CommitHook",
    "HoldState",
    "PendingCommit",
    "current_hold",
    "dispatch_after_commit",
    "hold_again",
    "note_after_commit_registration",
    "set_commit_hook",
]

HoldState = Literal["held", "released", "discarded"]
"""Where a held event stands: waiting for the commit, handed to its handlers after it, or dropped
by a rollback."""


class PendingCommit(Protocol):
    """An open transaction, as a :class:`CommitHook` returns it for one dispatch."""

    def schedule(self, release: Callable[[], None], *, robust: bool) -> None:
        """Call ``release`` when the transaction commits; never if it, or the savepoint that is
        current now, rolls back. Called once, in the dispatching code's stack.

        :param robust: ``release`` only queues events, and a failure in it must not keep the
            transaction's other commit callbacks from running. ``False`` in sync mode, where
            ``release`` runs the handlers: their errors then reach the code that committed, as
            they would reach the code that dispatched.
        """

    @property
    def state(self) -> HoldState:
        """``"held"`` until the commit, ``"released"`` once ``release`` was called,
        ``"discarded"`` once a rollback dropped it."""
        ...


class CommitHook(Protocol):
    """What an adapter installs with :func:`set_commit_hook`: the transactions, as the dispatching code sees them."""

    @property
    def own_prefix(self) -> str | None:
        """Event names that start with it are the adapter's own: it holds their after-commit share
        itself, where it dispatches them (with :func:`dispatch_after_commit`), so the gate lets
        them through; registrations whose pattern starts with it need no gate."""

    def pending(self, using: str | None) -> PendingCommit | None:
        """The transaction open in the calling code on database ``using`` (``None``: the adapter's
        default), or ``None`` outside a transaction."""


class _Config:
    hook: CommitHook | None = None


_config = _Config()
_current: contextvars.ContextVar[PendingCommit | None] = contextvars.ContextVar("held_dispatch", default=None)
_event_classes: weakref.WeakSet[type[Event]] = weakref.WeakSet()


def set_commit_hook(hook: CommitHook | None) -> CommitHook | None:
    """Install the adapter's view of transactions (``None`` removes it); returns the one it replaces."""
    previous = _config.hook
    _config.hook = hook
    for dispatcher in live_dispatchers():
        _CommitGate.refresh(dispatcher)
    for gate in list(_CommitGate.gates.values()):
        gate.forget_routes()
    return previous


def current_hold() -> PendingCommit | None:
    """The transaction that the event being shown to the interceptors waits for, if it is held.

    The testing helpers keep it in their records, to tell held, delivered and discarded events apart.
    """
    return _current.get()


def _note_event_class(cls: type[Event], previous_dispatchers: tuple[object, ...]) -> None:
    """Called when an Event class is defined, or its ``after_commit`` or ``dispatcher`` changes."""
    if cls.after_commit is True:
        _event_classes.add(cls)
    elif cls in _event_classes:
        _event_classes.discard(cls)
    else:
        return
    for dispatcher in (getattr(cls, "dispatcher", None), *previous_dispatchers):
        if is_live(dispatcher):
            _CommitGate.refresh(cast("Bus", dispatcher))


watch_event_classes(_note_event_class)


def note_after_commit_registration(dispatcher: Bus) -> None:
    """Called when ``dispatcher`` registers an after-commit handler: give it a gate if it needs one."""
    _CommitGate.refresh(dispatcher)


def dispatch_after_commit(
    dispatcher: Bus,
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any] | None = None,
    *,
    using: str | None,
) -> bool:
    """For adapters that dispatch their own events (model events): hold the after-commit share of
    the event ``name`` until the transaction open on ``using`` commits.

    Besides the handlers registered with ``after_commit=True``, queued handlers count among the
    held ones while their messages are held (see ``set_hold_provider``).

    :returns: ``True`` when the event was taken care of (held, or taken by an interceptor);
        ``False`` when nothing holds it back (no after-commit handler, no transaction): dispatch
        it as usual then.
    """
    hook = _config.hook
    if hook is None:
        return False
    gate = _CommitGate.of(dispatcher)
    if not gate.route(name).split()[1]:
        return False
    kwargs = {} if kwargs is None else kwargs
    return gate.hold(dispatcher, hook, name, args, kwargs, None, using, whole=False, at_gate=False)


def hold_again(dispatcher: Bus, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], event: Event | None) -> bool:
    """For an interceptor shown an event that the gate holds for an adapter (``current_hold()`` is
    set): hold it again, under ``name`` (the same name, marked), in the same transaction, and let
    the interceptor take the first one over. ``False`` when nothing is being held.
    """
    pending = _current.get()
    hook = _config.hook
    if pending is None or hook is None:
        return False
    gate = _CommitGate.of(dispatcher)
    return gate.hold(dispatcher, hook, name, args, kwargs, event, None, whole=False, at_gate=False, pending=pending)


@dataclass(frozen=True)
class _Route:
    """What the gate knows about one name: its callbacks in order, and which were registered after-commit."""

    callbacks: tuple[Handler, ...]
    flags: tuple[bool, ...]
    gated: bool
    """Whether the gate holds a string dispatch of this name (it has after-commit handlers and is
    not the adapter's own)."""

    def split(self) -> tuple[list[Handler], list[Handler]]:
        """The callbacks that get the event now, and those that wait for the commit: the
        after-commit registrations, and queued handlers while their messages are held (they say
        so themselves)."""
        now: list[Handler] = []
        later: list[Handler] = []
        for callback, flag in zip(self.callbacks, self.flags, strict=True):
            held = flag or holds_for_commit(callback)
            (later if held else now).append(callback)
        return now, later


class _CommitGate:
    """The interceptor that holds after-commit events and shares, in the dispatching code's stack."""

    gates: weakref.WeakKeyDictionary[Bus, _CommitGate] = weakref.WeakKeyDictionary()

    def __init__(self, dispatcher: Bus) -> None:
        self._dispatcher = weakref.ref(dispatcher)
        self._registry = dispatcher.registry
        self._routes: dict[str, _Route] = {}
        self._routes_of = -1  # the registry version the routes were made at
        self._interception: Interception | None = None
        self.interceptor = self._make_interceptor()
        """What the dispatcher calls: a closure, cheaper to call than a method."""

    def _make_interceptor(self) -> Interceptor:
        gate = self

        def commit_gate(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], instance: Event | None) -> bool:
            # Every dispatch on the dispatcher comes here: a string event seen before, that nothing
            # holds back, costs one lookup.
            if instance is None and gate._registry.version == gate._routes_of:
                seen = gate._routes.get(name)
                if seen is not None and not seen.gated:
                    return False
            return gate.intercept(name, args, kwargs, instance)

        return commit_gate

    @classmethod
    def of(cls, dispatcher: Bus) -> _CommitGate:
        gate = cls.gates.get(dispatcher)
        if gate is None:
            gate = cls.gates[dispatcher] = cls(dispatcher)
            # When the last after-commit registration goes, the gate goes: the fast path comes back.
            dispatcher.registry.after_commit_removed = gate._recheck
        return gate

    def _recheck(self) -> None:
        dispatcher = self._dispatcher()
        if dispatcher is not None:
            _CommitGate.refresh(dispatcher)

    @classmethod
    def refresh(cls, dispatcher: Bus) -> None:
        """Put the gate among the dispatcher's interceptors while it needs one, and only then."""
        gate = cls.gates.get(dispatcher)
        needed = _needs_gate(dispatcher)
        if needed and (gate is None or gate._interception is None):
            gate = cls.of(dispatcher)
            gate._interception = dispatcher.interceptors.add(gate.interceptor, Stage.HOLD)
        elif not needed and gate is not None and gate._interception is not None:
            gate._interception.cancel()
            gate._interception = None

    def forget_routes(self) -> None:
        self._routes_of = -1

    def route(self, name: str) -> _Route:
        registry = self._registry
        if registry.version != self._routes_of:
            self._routes_of = registry.version
            self._routes = {}
        route = self._routes.get(name)
        if route is None:
            registrations = registry.registrations_for(name)
            flags = tuple(registration.after_commit for registration in registrations)
            hook = _config.hook
            prefix = hook.own_prefix if hook is not None else None
            gated = any(flags) and not (prefix and name.startswith(prefix))
            route = _Route(tuple(registration._callback for registration in registrations), flags, gated)  # pyright: ignore[reportPrivateUsage]
            if len(self._routes) >= registry.cache_size:
                self._routes.clear()
            self._routes[name] = route
        return route

    def intercept(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], instance: Event | None) -> bool:
        """Take the event over when it must be held (and a transaction is open); ``False`` lets it go on."""
        hook = _config.hook
        dispatcher = self._dispatcher()
        if hook is None or dispatcher is None:
            return False
        using = None
        if instance is not None:
            event_class = type(instance)
            using = event_class.after_commit_using
            if event_class.after_commit is True:
                return self.hold(dispatcher, hook, name, args, kwargs, instance, using, whole=True, at_gate=True)
        if not self.route(name).gated:
            return False
        return self.hold(dispatcher, hook, name, args, kwargs, instance, using, whole=False, at_gate=True)

    def hold(
        self,
        dispatcher: Bus,
        hook: CommitHook,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        instance: Event | None,
        using: str | None,
        *,
        whole: bool,
        at_gate: bool,
        pending: PendingCommit | None = None,
    ) -> bool:
        """Hold the event (``whole``) or its after-commit share if a transaction is open.

        :param at_gate: called as the dispatcher's interceptor, after the interceptors before it;
            else (:func:`dispatch_after_commit`) no interceptor has seen the event yet.
        :param pending: the transaction, known already (:func:`hold_again`); else the hook is asked.
        :returns: ``False`` outside a transaction: the event goes on as usual.
        """
        if pending is None:
            pending = hook.pending(using)
        if pending is None:
            return False
        # The interceptors that have not seen the event yet (the testing helpers) see it once,
        # here, knowing that it is held; if one of them takes it, nothing is delivered or
        # scheduled.
        chain = dispatcher.interceptors
        interceptors = chain.after(self.interceptor) if at_gate else chain.without(self.interceptor)
        token = _current.set(pending)
        try:
            for interceptor in interceptors:
                if interceptor(name, args, kwargs, instance):
                    return True
        finally:
            _current.reset(token)
        if not whole:
            now, _ = self.route(name).split()
            if now:
                dispatcher.deliver_to(now, name, args, kwargs, event=instance, intercept=False)
        sync = dispatcher.sync
        if sync is None:
            sync = is_sync()
        pending.schedule(functools.partial(self._release, name, args, kwargs, instance, whole), robust=not sync)
        return True

    def _release(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], instance: Event | None, whole: bool
    ) -> None:
        dispatcher = self._dispatcher()
        if dispatcher is None:
            return
        # Resolved again: handlers registered or cancelled since the dispatch count as they are now.
        route = self.route(name)
        later = list(route.callbacks) if whole else route.split()[1]
        dispatcher.deliver_to(later, name, args, kwargs, event=instance, intercept=False)

    def __repr__(self) -> str:
        return f"<commit gate of {self._dispatcher()!r}>"


def _needs_gate(dispatcher: Bus) -> bool:
    hook = _config.hook
    if hook is None:
        return False
    prefix = hook.own_prefix
    for registration in dispatcher.registry.after_commit_registrations():
        if not (prefix and registration.pattern.startswith(prefix)):
            return True
    return any(
        cls.after_commit is True and getattr(cls, "dispatcher", None) is dispatcher for cls in list(_event_classes)
    )
