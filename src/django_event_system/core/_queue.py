"""The gevent queue: one queue and a bounded pool of worker greenlets per gevent hub.

gevent has one hub per OS thread, so there is one :class:`_HubState` per thread that dispatched,
whether or not the process is monkey-patched (the thread-local used here is the original one,
never gevent's greenlet-local). ``put`` appends to the thread's deque and makes sure a worker
greenlet will pick the item up; it never runs a handler and never blocks. Workers start when the
hub gets control: when a monkey-patched server waits on I/O, when :meth:`GeventQueue.drain` waits,
or at interpreter exit.

A worker takes one item and delivers it; the handlers of that event run in order in that worker.
Whenever a worker takes an item it makes sure a check is scheduled on the hub. The hub runs that
check only when some greenlet yields: if a handler waits on I/O while items are still waiting,
the check starts one more worker, up to ``pool_size``. So events whose handlers wait on I/O are
handled concurrently, while CPU-bound handlers, which never yield, cost nothing per event beyond
one flag test. With ``pool_size=1`` items are handled strictly one after another, in order.

A thread that runs an asyncio event loop never gives its hub a turn: its events are handed, a
batch at a time, to a bridge thread with a hub of its own (see :mod:`._bridge`).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import weakref
from asyncio.events import _get_running_loop
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event
import gevent.monkey
from greenlet import getcurrent, greenlet

from ._bridge import AsyncioBridge, in_bridge_thread
from ._context import own_depth_holder
from ._errors import QueueUsageError
from ._registry import _is_int

if TYPE_CHECKING:
    from ._event import Event

__all__ = ["DEFAULT_POOL_SIZE", "GeventQueue", "Item", "add_worker_exit_hook"]

logger = logging.getLogger("django_event_system")

DEFAULT_POOL_SIZE = 100

Item = (
    tuple[str, tuple[Any, ...], dict[str, Any], "Event | None"]
    | tuple[str, tuple[Any, ...], dict[str, Any], "Event | None", int]
)
"""A queued event: its name, positional and keyword arguments, the Event instance if any, and
its cascade depth when it was dispatched by a handler."""

Deliver = Callable[..., None]

# The thread-local of the interpreter, even when gevent has patched ``threading.local`` to be
# greenlet-local: the queue belongs to the hub, and there is one hub per OS thread.
_ThreadLocal: type[Any] = gevent.monkey.get_original("_thread", "_local")

_worker_exit_hooks: tuple[Callable[[], object], ...] = ()


def add_worker_exit_hook(hook: Callable[[], object]) -> Callable[[], None]:
    """Call ``hook()`` in each worker greenlet when it has no more events to handle, before it ends.

    Once per batch of events, never per event. Frameworks use it to release what handlers took
    in the worker's own context, like the database connections of a greenlet-local connection
    handler. The worker still counts as running while its hooks run, so ``ClearQueue`` waits for
    them. A hook that raises is logged and the others still run.

    :returns: a function that removes the hook.
    """
    global _worker_exit_hooks
    if not callable(hook):
        raise TypeError(f"a worker exit hook must be callable, not {hook!r}")
    _worker_exit_hooks = (*_worker_exit_hooks, hook)

    def remove() -> None:
        global _worker_exit_hooks
        _worker_exit_hooks = tuple(h for h in _worker_exit_hooks if h is not hook)

    return remove


def _run_worker_exit_hooks(hooks: tuple[Callable[[], object], ...]) -> None:
    for hook in hooks:
        try:
            hook()
        except Exception:
            logger.exception("the worker exit hook %r failed", hook)


class _ThreadSentinel:
    """Lives in a thread's local storage; when it is collected, that thread has ended."""

    __slots__ = ("__weakref__",)


class _HubState:
    """The queue of one OS thread (one gevent hub)."""

    __slots__ = (
        "armed",
        "bridged",
        "draining",
        "handing_off",
        "hub",
        "owner",
        "pending",
        "waiters",
        "worker_greenlets",
        "workers",
    )

    def __init__(self, owner: _ThreadSentinel) -> None:
        self.pending: collections.deque[Item] = collections.deque()
        self.workers = 0
        # Workers whose handler is waiting in drain(): they cannot finish before it returns.
        self.draining = 0
        # True while a growth check is scheduled on the hub (see GeventQueue._grow).
        self.armed = False
        # The asyncio loop that will hand this thread's pending events to the bridge, if any.
        self.handing_off: object = None
        # Whether this thread ever handed events to the bridge (ClearQueue then waits for them).
        self.bridged = False
        self.worker_greenlets: set[greenlet] = set()
        self.waiters: list[gevent.event.Event] = []
        self.hub = gevent.get_hub()
        self.owner = weakref.ref(owner)

    @property
    def thread_alive(self) -> bool:
        return self.owner() is not None

    def wake_waiters(self) -> None:
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            waiter.set()


class GeventQueue:
    """Queues events per gevent hub and delivers them from worker greenlets.

    :param deliver: called as ``deliver(*item)`` for each item, in a worker greenlet; it must not
        raise.
    :param pool_size: the most worker greenlets per hub.
    :param capture: see :class:`AsyncioBridge`: takes what handlers left in the bridge thread
        (the collected errors), for the thread that waited on it.
    """

    def __init__(
        self,
        deliver: Deliver,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        capture: Callable[[], Callable[[], None]],
    ) -> None:
        self._deliver = deliver
        self.pool_size = pool_size
        self._local = _ThreadLocal()
        self._states: list[_HubState] = []
        self._states_lock = threading.Lock()
        self._capture = capture
        self._bridge: AsyncioBridge | None = None
        self._bridge_lock = threading.Lock()

    @property
    def pool_size(self) -> int:
        """The most worker greenlets that handle events at once in one thread."""
        return self._pool_size

    @pool_size.setter
    def pool_size(self, value: int) -> None:
        if not _is_int(value) or value < 1:
            raise ValueError(f"pool_size must be a positive int, not {value!r}")
        self._pool_size = value

    def _state(self) -> _HubState:
        try:
            state: _HubState = self._local.state
        except AttributeError:
            sentinel = _ThreadSentinel()
            state = _HubState(sentinel)
            self._local.sentinel = sentinel
            self._local.state = state
            with self._states_lock:
                self._states.append(state)
        return state

    def put(self, item: Item) -> None:
        """Queue ``item`` in this thread's queue; a worker greenlet will deliver it."""
        try:
            state: _HubState = self._local.state
        except AttributeError:
            state = self._state()
        state.pending.append(item)
        if not state.armed:
            loop = _get_running_loop()
            if loop is None:
                self._arm(state)
            elif state.handing_off is not loop:
                # An asyncio loop owns this thread: hand the batch over when the code yields.
                state.handing_off = loop
                state.bridged = True
                loop.call_soon(self._hand_off, state)

    def _hand_off(self, state: _HubState) -> None:
        """Give this thread's pending events to the bridge thread (which is started on first use)."""
        state.handing_off = None
        pending = state.pending
        items = []
        while pending:
            items.append(pending.popleft())
        if items:
            self._get_bridge().submit(items)

    def _get_bridge(self) -> AsyncioBridge:
        with self._bridge_lock:
            if self._bridge is None:
                self._bridge = AsyncioBridge(self.put, self.drain, self._capture)
            return self._bridge

    def _arm(self, state: _HubState) -> None:
        state.armed = True
        state.hub.loop.run_callback(self._grow, state)

    def _grow(self, state: _HubState) -> None:
        """Runs in the hub: start a worker if items wait and the pool has room.

        The hub only gets here when every other greenlet is waiting or done, so items that are
        still pending now have no free worker to take them.
        """
        state.armed = False
        if state.pending and state.workers < self._pool_size:
            self._spawn(state)

    def _spawn(self, state: _HubState) -> None:
        state.workers += 1
        state.worker_greenlets.add(gevent.spawn_raw(self._work, state))

    def _work(self, state: _HubState) -> None:
        pending = state.pending
        deliver = self._deliver
        # The worker's own context: handlers it runs are at depth 1 unless an item says deeper.
        own_depth_holder()[0] = 1
        try:
            while pending:
                item = pending.popleft()
                if not state.armed:
                    self._arm(state)
                deliver(*item)
        finally:
            hooks = _worker_exit_hooks
            if hooks:
                _run_worker_exit_hooks(hooks)
            state.workers -= 1
            state.worker_greenlets.discard(getcurrent())
            if hooks and state.pending and not state.armed:
                # Events queued while a hook waited may have found the pool full: look again.
                self._arm(state)
            if state.waiters:
                state.wake_waiters()

    def pending_count(self) -> int:
        """How many events wait in this thread's queue (not counting those being handled)."""
        return len(self._state().pending)

    def drain(self, timeout: float | None = None, *, everything: bool = False) -> None:
        """Return when this thread's queue is empty and every handler has returned.

        Events that handlers dispatch while the queue drains are handled too, and so are the
        events left by threads that have ended. Called from a handler, it handles the waiting
        events in that handler's greenlet and waits for the other workers. In a thread that
        handed events to the bridge (it runs an asyncio loop), it waits for the bridge too.

        :param timeout: seconds to wait at most; ``None`` waits for as long as it takes.
        :param everything: wait for the bridge whichever thread handed it events (at exit).
        :raises QueueUsageError: called from the gevent hub, which cannot wait.
        :raises TimeoutError: the queue was not drained within ``timeout`` seconds.
        """
        state = self._state()
        current = getcurrent()
        if current is state.hub:
            raise QueueUsageError(
                "ClearQueue() cannot wait inside the gevent hub (a loop callback); "
                "call it from a greenlet or the main code instead."
            )
        if _get_running_loop() is not None:
            state.bridged = True
            self._hand_off(state)
        bridge = self._bridge
        if bridge is not None and (state.bridged or everything) and not in_bridge_thread():
            started = time.monotonic()
            bridge.flush(timeout)
            if timeout is not None:
                timeout = max(0.0, timeout - (time.monotonic() - started))
        self._adopt_orphans(state)
        own = 1 if current in state.worker_greenlets else 0
        pending = state.pending
        if own:
            # Handlers draining at the same time wait for the other workers, not for each other.
            state.draining += 1
            state.wake_waiters()
        try:
            with gevent.Timeout(timeout, TimeoutError(f"the event queue was not drained within {timeout} s")):
                while True:
                    if own and pending:
                        self._deliver(*pending.popleft())
                        continue
                    if not pending and state.workers == (state.draining if own else 0):
                        return
                    if pending and state.workers == 0:
                        self._spawn(state)
                    waiter = gevent.event.Event()
                    state.waiters.append(waiter)
                    waiter.wait()
        finally:
            state.draining -= own

    def _adopt_orphans(self, state: _HubState) -> None:
        """Move the events of threads that ended with a non-empty queue into ``state``."""
        with self._states_lock:
            orphans = [other for other in self._states if other is not state and not other.thread_alive]
            for orphan in orphans:
                self._states.remove(orphan)
        for orphan in orphans:
            if orphan.pending:
                state.pending.extend(orphan.pending)
                orphan.pending.clear()
                if not state.armed:
                    self._arm(state)
