"""The OS threads that deliver events: how each one ends, what its drains wait for, and fork.

gevent has one hub per OS thread, and the queue keeps one state per thread (see :mod:`._queue`).
A :class:`ThreadLife` is what this package keeps for one thread:

- **Its end.** When a thread started through :mod:`threading` ends, its queues are drained in
  that thread, after its ``run()`` returned and while it can still run greenlets: what it queued
  and what its handlers were still doing are finished there (a drain that timed out left them
  running). Then the thread-exit hooks run (the Django adapter closes the thread's database
  connections) and its hub is destroyed, so nothing is left behind per thread. A thread started
  some other way (``_thread.start_new_thread``, a C extension) is noticed when its thread-local
  storage is released, where no greenlet can run: what it queued is handed on, and its hub is
  destroyed later by another thread.
- **Its drains.** Drains wait for delivery greenlets, and a delivery greenlet may be waiting for the drain in
  turn: a handler that drains, a greenlet that a handler joins, two dispatchers that drain each
  other. :meth:`ThreadLife.awaited_greenlets` tells which delivery greenlets a drain waits for, leaving out
  those that may be waiting for it (see ``GeventQueue.drain``).
- **Fork.** The child of ``os.fork()`` keeps only the forking thread; the lives of the others are
  forgotten, and the forking thread's hub is prepared for the new process.

Process-ending exceptions (:func:`ends_the_process`) are decided here too, since they depend on
the thread: only in the main thread do SystemExit and KeyboardInterrupt pass a handler.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
import gevent.hub
import gevent.monkey
from greenlet import greenlet

__all__ = ["Hooks", "ThreadLife", "add_thread_exit_hook", "current_life", "ends_the_process", "reap_dead_hubs"]

logger = logging.getLogger("django_event_system")

# The interpreter's own thread primitives, even when gevent has patched them into greenlets.
_get_ident: Callable[[], int] = gevent.monkey.get_original("_thread", "get_ident")
_ThreadLocal: type[Any] = gevent.monkey.get_original("_thread", "_local")


def _find_main_ident() -> int:
    if not gevent.monkey.is_module_patched("threading"):
        ident = threading.main_thread().ident
        if ident is not None:
            return ident
    # Patched, threading speaks of greenlets; a patched process imports this in its main thread.
    return _get_ident()


_main_ident = _find_main_ident()
# The calling thread's hub if it has one (gevent.get_hub() would create it).
_existing_hub: Callable[[], Any] = vars(gevent.hub)["_get_hub"]
_local = _ThreadLocal()
_dead_hubs: list[Any] = []
_end_watchers: set[weakref.ref[_EndSentinel]] = set()


def ends_the_process(exc: BaseException) -> bool:
    """Whether ``exc``, raised by a handler, must pass it: SystemExit or KeyboardInterrupt in the main thread.

    Anywhere else (another thread, and every other exception, ``gevent.Timeout`` and
    ``GreenletExit`` included) a handler's exception is isolated and reported like an ``Exception``.
    """
    return isinstance(exc, (SystemExit, KeyboardInterrupt)) and _get_ident() == _main_ident


class Hooks:
    """Callables that frameworks add and remove, called in turn by :meth:`run`.

    A hook that raises is logged, and the others still run.
    """

    __slots__ = ("_hooks", "_kind")

    def __init__(self, kind: str) -> None:
        self._kind = kind
        self._hooks: tuple[Callable[[], object], ...] = ()

    def add(self, hook: Callable[[], object]) -> Callable[[], None]:
        """Add ``hook``; returns a function that removes it."""
        if not callable(hook):
            raise TypeError(f"a {self._kind} hook must be callable, not {hook!r}")
        self._hooks = (*self._hooks, hook)

        def remove() -> None:
            self._hooks = tuple(h for h in self._hooks if h is not hook)

        return remove

    def count(self, hook: Callable[[], object]) -> int:
        """How many times ``hook`` was added and not removed."""
        return self._hooks.count(hook)

    def __bool__(self) -> bool:
        return bool(self._hooks)

    def run(self) -> None:
        for hook in self._hooks:
            try:
                hook()
            except Exception:
                logger.exception("the %s hook %r failed", self._kind, hook)


thread_exit_hooks = Hooks("thread exit")


def add_thread_exit_hook(hook: Callable[[], object]) -> Callable[[], None]:
    """Call ``hook()`` in each thread that delivered events, when it ends, after its final drain.

    Frameworks use it to release what the thread's handlers took, like Django's database
    connections. A hook that raises is logged and the others still run.

    :returns: a function that removes the hook.
    """
    return thread_exit_hooks.add(hook)


class _EndSentinel:
    """Lives in a thread's local storage: when it is released, that thread has ended."""

    __slots__ = ("__weakref__",)


class ThreadLife:
    """What this package keeps for one OS thread: its hub, its drains and what to do when it ends."""

    __slots__ = ("__weakref__", "_on_end", "drains", "ended", "hub", "ident", "pid", "waiters")

    def __init__(self) -> None:
        self.ident = _get_ident()
        self.pid = os.getpid()
        self.hub: Any = gevent.get_hub()
        self.ended = False
        self._on_end: list[Callable[[bool], bool]] = []
        # The drains in progress in this thread, oldest first: the waiting greenlet and the state.
        self.drains: list[tuple[greenlet, Any]] = []
        self.waiters: list[gevent.event.Event] = []

    @property
    def is_main(self) -> bool:
        return self.ident == _main_ident

    def on_end(self, callback: Callable[[bool], bool]) -> None:
        """Call ``callback(can_run)`` when the thread ends; ``can_run`` says whether greenlets can still run.

        The callback returns whether it found work to do; while any callback did, they are all
        called again, since one queue's handlers may have dispatched to another's.
        """
        self._on_end.append(callback)

    # -- drains --------------------------------------------------------------------------------

    def wake(self) -> None:
        """Wake every drain of this thread, to look again at what it waits for."""
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            waiter.set()

    def wait(self, timeout: float | None) -> bool:
        """Wait until :meth:`wake` or ``timeout`` seconds; ``False`` if the time ran out."""
        waiter = gevent.event.Event()
        self.waiters.append(waiter)
        return waiter.wait(timeout)

    def enter_drain(self, current: greenlet, state: Any) -> tuple[greenlet, Any]:
        """Record that ``current`` waits in a drain of ``state``; returns the entry for :meth:`leave_drain`."""
        entry = (current, state)
        self.drains.append(entry)
        self.wake()
        return entry

    def leave_drain(self, entry: tuple[greenlet, Any]) -> None:
        self.drains.remove(entry)
        self.wake()

    def draining_greenlets(self) -> set[greenlet]:
        return {drainer for drainer, _ in self.drains}

    def awaited_greenlets(self, entry: tuple[greenlet, Any]) -> set[greenlet]:
        """The delivery greenlets that the drain ``entry`` waits for: those that are not waiting for it.

        A delivery greenlet may be waiting for the draining greenlet through two relations. A greenlet in
        a drain waits for the delivery greenlets that drain counts. A greenlet may wait for a greenlet it
        spawned (gevent records the spawning greenlet), as a handler does when it joins one.
        Drains are taken in the order they started, each counting the delivery greenlets not waiting for it
        through the drains that started before it: an older drain was already waiting when a
        younger one began, so the younger one must not wait for it in turn.
        """
        edges: list[tuple[greenlet, set[greenlet]]] = []
        for drainer, state in self.drains:
            waiting = _waiting_on(drainer, edges)
            counted = {running for running in state.greenlets if running not in waiting}
            if drainer is entry[0] and state is entry[1]:
                return counted
            edges.append((drainer, counted))
        raise LookupError("the drain is not in progress")

    # -- the end ---------------------------------------------------------------------------------

    def end(self, can_run: bool) -> None:
        """The thread ends: drain or hand on what its queues hold, run the exit hooks, free the hub."""
        if self.ended or self.pid != os.getpid():  # a life the child of a fork inherited
            return
        self.ended = True
        busy = True
        while busy:
            busy = False
            for callback in self._on_end:  # a queue first used meanwhile is appended, and called
                try:
                    busy = callback(can_run) or busy
                except Exception:
                    logger.exception("handling the events of an ending thread failed")
            busy = busy and can_run
        self._on_end.clear()
        hub = self.hub
        self.hub = None
        if not can_run:
            _dead_hubs.append(hub)
            return
        thread_exit_hooks.run()
        if _existing_hub() is hub:
            hub.destroy(destroy_loop=True)


def _waiting_on(target: greenlet, edges: list[tuple[greenlet, set[greenlet]]]) -> set[greenlet]:
    """The greenlets that may wait for ``target`` (``target`` included), given the drains' ``edges``."""
    found = {target}
    frontier = [target]
    while frontier:
        current = frontier.pop()
        spawner_ref = getattr(current, "spawning_greenlet", None)
        spawner = spawner_ref() if spawner_ref is not None else None
        if spawner is not None and spawner not in found:
            found.add(spawner)
            frontier.append(spawner)
        for drainer, counted in edges:
            if drainer not in found and current in counted:
                found.add(drainer)
                frontier.append(drainer)
    return found


def current_life() -> ThreadLife:
    """The :class:`ThreadLife` of the calling OS thread, created (and watched for its end) on first use."""
    try:
        life: ThreadLife = _local.life
    except AttributeError:
        life = _local.life = ThreadLife()
        if not life.is_main:
            _watch_end(life)
        if _dead_hubs:
            reap_dead_hubs()
    return life


def _watch_end(life: ThreadLife) -> None:
    thread = None if gevent.monkey.is_module_patched("threading") else threading.current_thread()
    delete: Callable[[], None] | None = getattr(thread, "_delete", None)
    if thread is not None and not isinstance(thread, threading._DummyThread) and callable(delete):  # pyright: ignore[reportPrivateUsage]
        # threading.Thread calls _delete() after run() returns, in the thread itself: the last
        # moment at which greenlets can still run there.

        def _delete() -> None:
            try:
                life.end(can_run=True)
            finally:
                delete()

        thread.__dict__["_delete"] = _delete
    # Any thread: its local storage is released when it ends (too late to run greenlets).
    sentinel = _EndSentinel()
    _local.sentinel = sentinel

    def released(ref: weakref.ref[_EndSentinel]) -> None:
        _end_watchers.discard(ref)
        life.end(can_run=False)

    _end_watchers.add(weakref.ref(sentinel, released))


def reap_dead_hubs() -> None:
    """Destroy the hubs of threads that ended where they could not destroy their own."""
    while _dead_hubs:
        hub = _dead_hubs.pop()
        try:
            hub.destroy(destroy_loop=True)
        except Exception:  # pragma: no cover - gevent refuses; the hub is left to the collector
            logger.debug("could not destroy the hub of an ended thread", exc_info=True)


def _after_fork_in_child() -> None:
    global _main_ident
    _main_ident = _get_ident()
    _dead_hubs.clear()
    life: ThreadLife | None = getattr(_local, "life", None)
    if life is None:
        return
    life.pid = os.getpid()
    life.ident = _main_ident
    life.drains.clear()
    life.waiters.clear()
    life._on_end.clear()  # pyright: ignore[reportPrivateUsage]
    hub = _existing_hub()
    if hub is not None and not gevent.monkey.is_module_patched("os"):
        # A patched os.fork does this itself; the libev loop must not share the parent's backend.
        gevent.reinit()


if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)
