"""Events dispatched where an asyncio event loop runs: handled in a thread of their own.

A thread that runs an asyncio loop (an ASGI server, an ``async def`` view, ``asyncio.run``)
cannot give gevent's hub a turn: the loop owns the thread, and running the handlers there would
block it. So the queue hands such a thread's events, a batch at a time, to a bridge: one daemon
thread per queue, started on first use, whose own hub delivers them through the same queue code
(delivery greenlets, the pool, cascades). The loop never waits for a handler; ``ClearQueue()``
called in the loop's thread waits for the bridge to finish what that thread handed over.

The bridge outlives its handlers: their exceptions are theirs (the queue isolates them), and
whatever the hub throws into the thread's main greenlet (gevent does so with the SystemExit of a
greenlet it spawned) is logged, and the thread goes on. Should the thread end all the same, the
queue starts another and hands it what was left. The child of a fork has no bridge until it
needs one.

Nothing here imports Django or asyncio: the queue tells which thread runs a loop.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.monkey

__all__ = ["AsyncioBridge", "in_bridge_thread"]

logger = logging.getLogger("django_event_system")

# The interpreter's own threads and locks, even when gevent has patched them into greenlets.
_start_new_thread: Callable[..., int] = gevent.monkey.get_original("_thread", "start_new_thread")
_allocate_lock: Callable[[], Any] = gevent.monkey.get_original("_thread", "allocate_lock")
_get_ident: Callable[[], int] = gevent.monkey.get_original("_thread", "get_ident")

_bridge_threads: set[int] = set()

# How often a flush looks whether the bridge thread is still alive while it waits.
_ALIVE_CHECK = 0.5


def in_bridge_thread() -> bool:
    """Whether the calling code runs in a bridge thread (where asyncio code's events are handled)."""
    return _get_ident() in _bridge_threads


class _Barrier:
    """A flush request: released once every event handed over before it has been handled."""

    __slots__ = ("lock",)

    def __init__(self) -> None:
        self.lock = _allocate_lock()
        self.lock.acquire()


class BridgeDiedError(RuntimeError):
    """The bridge thread ended before a flush completed; the queue starts a new one."""


class AsyncioBridge:
    """A daemon thread that handles the events that asyncio threads hand over.

    :param put: queues one item in the calling thread's queue (called in the bridge thread).
    :param drain: drains the calling thread's queue (called in the bridge thread).
    :param capture: called in the bridge thread after a flush drained; returns a function that
        the flushing thread calls, to take over what the handlers left (collected errors).
    :param inbox: what a bridge that died left to hand over.
    """

    def __init__(
        self,
        put: Callable[[Any], None],
        drain: Callable[[], None],
        capture: Callable[[], Callable[[], None]],
        inbox: collections.deque[Any] | None = None,
    ) -> None:
        self._put = put
        self._drain = drain
        self._capture = capture
        self._inbox: collections.deque[Any] = inbox if inbox is not None else collections.deque()
        # What flushes captured and no flusher took yet (one gave up after its timeout).
        self._unclaimed: collections.deque[Callable[[], None]] = collections.deque()
        self._watcher: Any = None
        self.alive = True
        started = _allocate_lock()
        started.acquire()
        self.ident = _start_new_thread(self._run, (started,))
        started.acquire()  # the watcher exists once this returns

    def submit(self, items: list[Any]) -> None:
        """Hand ``items`` over, in order; the bridge's hub takes them at once. Thread-safe."""
        self._inbox.extend(items)
        self._watcher.send()

    def flush(self, timeout: float | None = None) -> list[Callable[[], None]]:
        """Return when every item submitted so far, and what its handlers dispatched, was handled.

        Returns what the handlers left for the flusher (functions that take over their collected
        errors, to call in the flushing thread), with what earlier flushes that timed out left.

        :raises TimeoutError: not done within ``timeout`` seconds.
        :raises BridgeDiedError: the bridge thread ended before it was done.
        """
        barrier = _Barrier()
        self._inbox.append(barrier)
        self._watcher.send()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = _ALIVE_CHECK if deadline is None else min(_ALIVE_CHECK, max(0.0, deadline - time.monotonic()))
            if barrier.lock.acquire(timeout=wait):
                break
            if not self.alive:
                raise BridgeDiedError("the bridge thread ended before the events handed over were handled")
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"the events handed over by asyncio code were not handled within {timeout} s")
        hand_backs: list[Callable[[], None]] = []
        while self._unclaimed:
            hand_backs.append(self._unclaimed.popleft())
        return hand_backs

    # -- in the bridge thread ---------------------------------------------------------------

    def _run(self, started: Any) -> None:
        _bridge_threads.add(_get_ident())
        try:
            hub = gevent.get_hub()
            self._watcher = hub.loop.async_()
            self._watcher.start(self._take)
            started.release()
            while True:  # the main greenlet only keeps the hub running
                try:
                    gevent.sleep(3600)
                except BaseException as exc:  # thrown in by the hub: this thread is not the process
                    logger.error(
                        "the bridge thread's hub raised %s; the bridge goes on", type(exc).__name__, exc_info=exc
                    )
        finally:  # pragma: no cover - the loop above does not end by itself
            self.alive = False
            _bridge_threads.discard(_get_ident())

    def _take(self) -> None:
        """Runs in the hub when woken: queue what was handed over, start a flush per barrier."""
        inbox = self._inbox
        while inbox:
            item = inbox.popleft()
            if isinstance(item, _Barrier):
                gevent.spawn_raw(self._flush_here, item)
            else:
                self._put(item)

    def _flush_here(self, barrier: _Barrier) -> None:
        try:
            self._drain()
        except Exception:  # pragma: no cover - drain without a timeout raises nothing else
            logger.exception("draining the events handed over by asyncio code failed")
        finally:
            self._unclaimed.append(self._capture())
            barrier.lock.release()
