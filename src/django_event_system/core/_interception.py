"""Interceptors: code that sees a dispatch in the dispatching code's stack, before it is queued.

An interceptor is called as ``interceptor(name, args, kwargs, event)`` for each dispatch and
returns ``True`` when it takes the event over (nothing more is delivered). A dispatcher runs its
interceptors in the order of their :class:`Stage`, then of their arrival:

1. ``SUPPRESS``: ``without_events``, present only while a scope is open somewhere: it keeps a
   suppressed event from everything after it (showing it to the ``OBSERVE`` stage alone, as
   suppressed), and marks the events whose handlers of some classes are muted.
2. ``CHECK``: the queued handlers' dispatch check, which refuses a payload that cannot travel
   and re-dispatches a held string event, marked; it comes before the others so that they see
   each event once, and never a refused one.
3. ``HOLD``: the after-commit gate, which holds what waits for the commit.
4. ``OBSERVE``: the testing helpers (recorders, fakes, ``Expect``), which see each event once,
   knowing whether it is held.

A dispatcher without interceptors takes its fast path; each of these is installed only while
it is needed.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._listeners import ChangeListeners

if TYPE_CHECKING:
    from ._event import Event

__all__ = ["Interception", "Interceptor", "Interceptors", "Stage"]

Interceptor = Callable[[str, tuple[Any, ...], dict[str, Any], "Event | None"], bool]
"""Called as ``interceptor(name, args, kwargs, event)``; ``True`` takes the event over."""


class Stage(enum.IntEnum):
    """Where an interceptor runs among a dispatcher's interceptors (see the module docstring)."""

    SUPPRESS = -1
    CHECK = 0
    HOLD = 1
    OBSERVE = 2


class Interception:
    """The handle of one installed interceptor: ``cancel()`` removes it (twice is harmless)."""

    __slots__ = ("_interceptor", "_owner")

    def __init__(self, owner: Interceptors, interceptor: Interceptor) -> None:
        self._owner = owner
        self._interceptor = interceptor

    def cancel(self) -> None:
        """Remove the interceptor: the dispatches after this one no longer reach it."""
        self._owner.remove(self._interceptor)


class Interceptors:
    """The interceptors of one dispatcher, in order; :attr:`chain` is what ``Dispatch`` runs.

    :param changed: called after every change, with the new chain (the dispatcher recomputes
        its fast path then).
    """

    __slots__ = ("_change_listeners", "_changed", "_lock", "_observed", "_staged", "chain", "version")

    def __init__(self, changed: Callable[[tuple[Interceptor, ...]], None]) -> None:
        self._changed = changed
        self._lock = threading.Lock()
        self._staged: tuple[tuple[Stage, Interceptor], ...] = ()
        self.chain: tuple[Interceptor, ...] = ()
        """The interceptors in the order ``Dispatch`` calls them: by stage, then as added."""
        self._observed = False
        self.version: int = 0
        """Bumped by every change to the chain; what was computed at an older version may be stale."""
        self._change_listeners = ChangeListeners()

    def add(self, interceptor: Interceptor, stage: Stage = Stage.OBSERVE) -> Interception:
        """Run ``interceptor`` at ``stage``, after those already there; returns its handle."""
        with self._lock:
            staged = sorted((*self._staged, (stage, interceptor)), key=_stage_of)  # stable: arrival order kept
            self._set(tuple(staged))
        self._notify()
        return Interception(self, interceptor)

    def remove(self, interceptor: Interceptor) -> None:
        """Remove ``interceptor`` (nothing happens if it is not there)."""
        with self._lock:
            # Equality, not identity: each access to a bound method makes a new, equal, object.
            self._set(tuple(entry for entry in self._staged if entry[1] != interceptor))
        self._notify()

    def add_change_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after each change to the chain, outside its lock (see
        ``PatternRegistry.add_change_listener``)."""
        self._change_listeners.add(listener)

    def remove_change_listener(self, listener: Callable[[], None]) -> None:
        """Stop calling ``listener`` (compared by equality)."""
        self._change_listeners.remove(listener)

    def _notify(self) -> None:
        self._change_listeners.notify()

    def after(self, interceptor: Interceptor) -> tuple[Interceptor, ...]:
        """The interceptors that run after ``interceptor`` (all of them if it is not there)."""
        chain = self.chain
        for position, each in enumerate(chain):
            if each == interceptor:
                return chain[position + 1 :]
        return chain

    def at(self, stage: Stage) -> tuple[Interceptor, ...]:
        """The interceptors of ``stage``, in order."""
        return tuple(interceptor for each, interceptor in self._staged if each is stage)

    @property
    def observed(self) -> bool:
        """Whether an ``OBSERVE`` interceptor is installed: one that may want every event, even
        one without handlers (the ``CHECK`` and ``HOLD`` interceptors act only on handled events)."""
        return self._observed

    def without(self, interceptor: Interceptor) -> tuple[Interceptor, ...]:
        """Every interceptor but ``interceptor``, in order."""
        return tuple(each for each in self.chain if each != interceptor)

    def _set(self, staged: tuple[tuple[Stage, Interceptor], ...]) -> None:
        self._staged = staged
        self.chain = tuple(interceptor for _, interceptor in staged)
        self._observed = any(stage is Stage.OBSERVE for stage, _ in staged)
        self.version += 1
        self._changed(self.chain)

    def __len__(self) -> int:
        return len(self.chain)

    def __repr__(self) -> str:
        return f"<Interceptors {[stage.name for stage, _ in self._staged]}>"


def _stage_of(entry: tuple[Stage, Interceptor]) -> Stage:
    return entry[0]
