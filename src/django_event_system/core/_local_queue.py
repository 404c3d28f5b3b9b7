"""The gevent queue: one queue and a bounded pool of delivery greenlets per gevent hub.

gevent has one hub per OS thread, so there is one :class:`_HubState` per thread that dispatched,
whether or not the process is monkey-patched (the thread-local used here is the original one,
never gevent's greenlet-local). ``put`` appends to the thread's deque and makes sure a delivery greenlet
greenlet will pick the item up; it never runs a handler and never blocks. Workers start when the
hub gets control: when a monkey-patched server waits on I/O, when :meth:`GeventQueue.drain` waits,
or at interpreter exit.

A delivery greenlet takes one item and delivers it; the handlers of that event run in order in that delivery greenlet.
Whenever a delivery greenlet takes an item it makes sure a check is scheduled on the hub. The hub runs that
check only when some greenlet yields: if a handler waits on I/O while items are still waiting,
the check starts one more delivery greenlet, up to ``pool_size``. So events whose handlers wait on I/O are
handled concurrently, while CPU-bound handlers, which never yield, cost nothing per event beyond
one flag test. With ``pool_size=1`` items are handled strictly one after another, in order.

A thread that runs an asyncio event loop never gives its hub a turn: its events are handed, a
batch at a time, to a bridge thread with a hub of its own (see :mod:`._bridge`). Events that a
coroutine handler dispatches are queued in the thread whose delivery greenlet awaits it (see
:mod:`._coroutines`). How a thread's queue ends with the thread, how drains that wait for each
other are told apart, and what fork leaves to the child is in :mod:`._threads`.
"""

from __future__ import annotations

import collections
import functools
import logging
import os
import threading
import time
import weakref
from asyncio.events import _get_running_loop  # pyright: ignore[reportPrivateUsage]
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import gevent
import gevent.monkey
from greenlet import getcurrent, greenlet

from ._bridge import AsyncioBridge, BridgeDiedError, _bridge_threads, in_bridge_thread  # pyright: ignore[reportPrivateUsage]
from ._cascade import own_depth_holder
from ._coroutines import CoroutineHome, coroutine_home, in_runner_thread, run_on_home
from ._errors import QueueFullError, QueueUsageError
from ._threads import Hooks, ThreadLife, current_life
from ._validation import is_int

if TYPE_CHECKING:
    from ._event import Event
    from ._handlers import Handler

__all__ = ["DEFAULT_POOL_SIZE", "GeventQueue", "Item", "QueueStats", "ThreadStats", "add_greenlet_exit_hook"]

logger = logging.getLogger("django_event_system")

DEFAULT_POOL_SIZE = 100

Item = (
    tuple[str, tuple[Any, ...], dict[str, Any], "Event | None"]
    | tuple[str, tuple[Any, ...], dict[str, Any], "Event | None", int]
    | tuple[str, tuple[Any, ...], dict[str, Any], "Event | None", int, float]
    | tuple[str, tuple[Any, ...], dict[str, Any], "Event | None", int, float, "tuple[Handler, ...]"]
)
"""A queued event: its name, positional and keyword arguments, the Event instance if any, its
cascade depth when it was dispatched by a handler, from a bounded dispatcher the monotonic time
it was queued (0.0 when not stamped), and, for an event an adapter routed itself
(``deliver_to``), the handlers it goes to instead of those its name resolves to."""

Deliver = Callable[..., None]

# The thread-local of the interpreter, even when gevent has patched ``threading.local`` to be
# greenlet-local: the queue belongs to the hub, and there is one hub per OS thread.
ThreadLocal: type[Any] = gevent.monkey.get_original("_thread", "_local")
_allocate_lock: Callable[[], Any] = gevent.monkey.get_original("_thread", "allocate_lock")

greenlet_exit_hooks = Hooks("delivery greenlet exit")


def add_greenlet_exit_hook(hook: Callable[[], object]) -> Callable[[], None]:
    """Call ``hook()`` in each delivery greenlet when it has no more events to handle, before it ends.

    Once per batch of events, never per event. Frameworks use it to release what handlers took
    in the delivery greenlet's own context, like the database connections of a greenlet-local connection
    handler. The delivery greenlet still counts as running while its hooks run, so ``ClearQueue`` waits for
    them. A hook that raises is logged and the others still run.

    :returns: a function that removes the hook.
    """
    return greenlet_exit_hooks.add(hook)


class _HubState:
    """The queue of one OS thread (one gevent hub)."""

    __slots__ = (
        "armed",
        "bridged",
        "failed",
        "greenlets",
        "handing_off",
        "handled",
        "hub",
        "life",
        "pending",
        "room_wanted",
        "running",
    )

    def __init__(self, life: ThreadLife) -> None:
        self.pending: collections.deque[Item] = collections.deque()
        self.running = 0
        # True while a growth check is scheduled on the hub (see GeventQueue._grow).
        self.armed = False
        # The asyncio loop that will hand this thread's pending events to the bridge, if any.
        self.handing_off: object = None
        # Whether this thread ever handed events to the bridge (ClearQueue then waits for them).
        self.bridged = False
        self.greenlets: set[greenlet] = set()
        self.life = life
        self.hub = life.hub
        # For stats(): events delivered by this thread's delivery greenlets, and handlers that failed here.
        self.handled = 0
        self.failed = 0
        # How many greenlets wait in put_bounded() for a delivery greenlet to take an event.
        self.room_wanted = 0


def _take_all(pending: collections.deque[Item]) -> list[Item]:
    """Empty ``pending`` into a list; safe while its own thread pops from it too."""
    items: list[Item] = []
    while True:
        try:
            items.append(pending.popleft())
        except IndexError:
            return items


class GeventQueue:
    """Queues events per gevent hub and delivers them from delivery greenlets.

    :param deliver: called as ``deliver(*item)`` for each item, in a delivery greenlet; it must not
        raise.
    :param pool_size: the most delivery greenlets per hub.
    :param capture: see :class:`AsyncioBridge`: takes what handlers left in the bridge thread
        (the collected errors), for the thread that waited on it.
    :param unclaimed: called in a thread that ends, after its final drain: reports what its
        handlers left that no ``ClearQueue`` of that thread will take (the collected errors).
    """

    def __init__(
        self,
        deliver: Deliver,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        capture: Callable[[], Callable[[], None]],
        unclaimed: Callable[[], None],
    ) -> None:
        self._deliver = deliver
        self.pool_size = pool_size
        self._capture = capture
        self._unclaimed = unclaimed
        self._reset()
        _live_queues.add(self)

    def _reset(self) -> None:
        """Start empty: no state of any thread, no bridge, fresh locks (also in the child of a fork)."""
        self._local = ThreadLocal()
        self._states: list[_HubState] = []
        self._states_lock = _allocate_lock()
        self._bridge: AsyncioBridge | None = None
        self._bridge_lock = _allocate_lock()

    @property
    def pool_size(self) -> int:
        """The most delivery greenlets that handle events at once in one thread."""
        return self._pool_size

    @pool_size.setter
    def pool_size(self, value: int) -> None:
        if not is_int(value) or value < 1:
            raise ValueError(f"pool_size must be a positive int, not {value!r}")
        self._pool_size = value

    def _state(self) -> _HubState:
        try:
            state: _HubState = self._local.state
        except AttributeError:
            life = current_life()
            state = self._local.state = _HubState(life)
            with self._states_lock:
                self._states.append(state)
            queue = weakref.ref(self)
            life.on_end(lambda can_run: _end_of_thread(queue, state, can_run))
        return state

    def put(self, item: Item) -> None:
        """Queue ``item`` in this thread's queue; a delivery greenlet will deliver it."""
        try:
            state: _HubState = self._local.state
        except AttributeError:
            state = self._state()
        # Checked on every put: a thread may have queued (and armed its hub) before its loop ran.
        loop = _get_running_loop()
        if loop is None:
            state.pending.append(item)
            if not state.armed:
                self._arm(state)
            return
        home = coroutine_home.get()
        if home is not None and self._put_at_home(home, item):
            return
        state.pending.append(item)
        if state.handing_off is not loop:
            # An asyncio loop owns this thread: hand the batch over when the code yields.
            state.handing_off = loop
            state.bridged = True
            loop.call_soon(self._hand_off, state)

    def _put_at_home(self, home: CoroutineHome, item: Item) -> bool:
        """Queue ``item``, dispatched by a coroutine handler, in the thread that awaits that handler.

        So the cascade stays in that thread's queue and its drains. Returns ``False`` when this
        queue has no state there (never used in that thread): the item then goes the way of any
        asyncio code's events, to the bridge.
        """
        with self._states_lock:
            state = next((state for state in self._states if state.life is home.life), None)
        if state is None or state.life.ended:
            return False
        state.pending.append(item)
        run_on_home(home, functools.partial(self._poke, state))
        return True

    def _poke(self, state: _HubState) -> None:
        """In the state's own hub: look at what another thread queued there."""
        if state.pending and not state.armed:
            self._arm(state)
        state.life.wake()

    def _hand_off(self, state: _HubState) -> None:
        """Give this thread's pending events to the bridge thread (which is started on first use)."""
        state.handing_off = None
        items = _take_all(state.pending)
        if items:
            self._get_bridge().submit(items)

    def _get_bridge(self) -> AsyncioBridge:
        with self._bridge_lock:
            bridge = self._bridge
            if bridge is None or not bridge.alive:
                if bridge is not None:
                    logger.error("the bridge thread ended; a new one takes over what it had not handled")
                inbox = None if bridge is None else bridge._inbox  # pyright: ignore[reportPrivateUsage]
                bridge = self._bridge = AsyncioBridge(self.put, self.drain, self._capture, inbox)
            return bridge

    def _arm(self, state: _HubState) -> None:
        state.armed = True
        state.hub.loop.run_callback(self._grow, state)

    def _grow(self, state: _HubState) -> None:
        """Runs in the hub: start a delivery greenlet if items wait and the pool has room.

        The hub only gets here when every other greenlet is waiting or done, so items that are
        still pending now have no free delivery greenlet to take them.
        """
        state.armed = False
        if state.room_wanted:
            state.life.wake()  # delivery greenlets took events since the last turn: room for a bounded Dispatch
        if state.pending and _busy(state) < self._pool_size:
            self._spawn(state)

    def _spawn(self, state: _HubState) -> None:
        state.running += 1
        state.greenlets.add(gevent.spawn_raw(self._work, state))

    def _work(self, state: _HubState) -> None:
        pending = state.pending
        deliver = self._deliver
        # The delivery greenlet's own context: handlers it runs are at depth 1 unless an item says deeper.
        own_depth_holder()[0] = 1
        try:
            while pending:
                item = pending.popleft()
                if not state.armed:
                    self._arm(state)
                deliver(*item)
                state.handled += 1
        finally:
            hooks = bool(greenlet_exit_hooks)
            if hooks:
                greenlet_exit_hooks.run()
            state.running -= 1
            state.greenlets.discard(getcurrent())
            if hooks and state.pending and not state.armed:
                # Events queued while a hook waited may have found the pool full: look again.
                self._arm(state)
            if state.life.waiters:
                state.life.wake()

    def clear_pending(self) -> None:
        """Forget the events waiting in this thread's queue: none of them will be handled."""
        self._state().pending.clear()

    def pending_count(self) -> int:
        """How many events wait in this thread's queue (not counting those being handled)."""
        return len(self._state().pending)

    def put_bounded(self, item: Item, limit: int, *, block: bool, cascade: bool) -> None:
        """Queue ``item`` unless ``limit`` events wait already: then wait for room, or raise.

        An item that a handler dispatched (``cascade``) is queued whatever the bound: a handler
        that waited for room in its own queue might wait for itself.

        :raises QueueFullError: the queue is full and ``block`` is false, or the caller cannot
            wait (the gevent hub, a thread that runs an asyncio loop, a coroutine handler).
        """
        state = self._state()
        pending = state.pending
        if len(pending) >= limit and not cascade:
            if not block:
                raise QueueFullError(
                    f"{len(pending)} events already wait in this thread's queue, the most that "
                    f"max_pending={limit} allows; the event was not dispatched (on_full='raise')"
                )
            if getcurrent() is state.hub or _get_running_loop() is not None:
                raise QueueFullError(
                    f"{len(pending)} events already wait in this thread's queue (max_pending={limit}), "
                    "and this code cannot wait for room: it runs in the gevent hub or in an asyncio "
                    "loop's thread; the event was not dispatched"
                )
            state.room_wanted += 1
            try:
                while len(pending) >= limit:
                    if not state.armed:
                        self._arm(state)  # a delivery greenlet starts as soon as this greenlet waits
                    state.life.wait(None)
            finally:
                state.room_wanted -= 1
        self.put(item)

    def count_failure(self) -> None:
        """Count a handler's failure in the calling thread's stats."""
        self._state().failed += 1

    def stats(self) -> QueueStats:
        """A snapshot of every thread's queue (see ``EventDispatcher.stats``)."""
        now = time.monotonic()
        with self._states_lock:
            states = list(self._states)
        threads = tuple(_thread_stats(state, now) for state in states if not state.life.ended)
        ages = [thread.oldest_pending_age for thread in threads if thread.oldest_pending_age is not None]
        return QueueStats(
            pending=sum(thread.pending for thread in threads),
            in_flight=sum(thread.in_flight for thread in threads),
            handled=sum(thread.handled for thread in threads),
            failed=sum(thread.failed for thread in threads),
            oldest_pending_age=max(ages) if ages else None,
            threads=threads,
        )

    def drain(
        self, timeout: float | None = None, *, everything: bool = False, on_behalf_of: greenlet | None = None
    ) -> None:
        """Return when this thread's queue is empty and every handler has returned.

        Events that handlers dispatch while the queue drains are handled too, and so are the
        events left by threads that have ended. In a thread that handed events to the bridge
        (it runs an asyncio loop), it waits for the bridge too.

        Drains compose: a drain never waits for a greenlet that may be waiting for it (the
        handler that called it, a handler that joins the greenlet that called it, a handler
        waiting in a drain of another dispatcher that waits for it); see
        :meth:`ThreadLife.awaited_greenlets`. The drain itself runs no handler, so its timeout is raised
        here, in the caller, and interrupts no handler.

        :param timeout: seconds to wait at most; ``None`` waits for as long as it takes.
        :param everything: also take the events queued by other threads that are still alive
            (daemon threads at interpreter exit), and wait for the bridge whichever thread
            handed it events.
        :param on_behalf_of: the greenlet that waits for this drain, when it is not the caller:
            the delivery greenlet whose coroutine handler awaits ``aclear_queue()``.
        :raises QueueUsageError: called from the gevent hub, which cannot wait, or inside a
            coroutine handler, which must ``await aclear_queue()`` instead.
        :raises TimeoutError: the queue was not drained within ``timeout`` seconds.
        """
        if in_runner_thread():
            raise QueueUsageError(
                "ClearQueue() would block the loop that runs coroutine handlers; "
                "inside a coroutine handler, use 'await Dispatcher.aclear_queue()' instead."
            )
        state = self._state()
        current = getcurrent()
        if current is state.hub:
            raise QueueUsageError(
                "ClearQueue() cannot wait inside the gevent hub (a loop callback); "
                "call it from a greenlet or the main code instead."
            )
        deadline = None if timeout is None else time.monotonic() + timeout
        if _get_running_loop() is not None:
            state.bridged = True
            self._hand_off(state)
        if (state.bridged or everything) and not in_bridge_thread():
            self._flush_bridge(timeout, deadline)
        self._adopt(state, everything=everything)
        life = state.life
        pending = state.pending
        entry = life.enter_drain(current if on_behalf_of is None else on_behalf_of, state)
        try:
            while True:
                if pending:
                    busy = _busy(state)
                    if busy == 0:
                        # Every delivery greenlet is gone or waits in a drain: this drain needs one of its own.
                        self._spawn(state)
                    elif busy < self._pool_size and not state.armed:
                        self._arm(state)
                elif not state.running or not life.awaited_greenlets(entry):
                    return
                remaining = None if deadline is None else deadline - time.monotonic()
                if (remaining is not None and remaining <= 0) or not life.wait(remaining):
                    raise TimeoutError(f"the event queue was not drained within {timeout} s")
        finally:
            life.leave_drain(entry)

    def _flush_bridge(self, timeout: float | None, deadline: float | None) -> None:
        bridge = self._bridge
        while bridge is not None:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                hand_backs = bridge.flush(remaining)
            except BridgeDiedError:
                bridge = self._get_bridge()  # takes over the dead one's inbox; flush that one
            except TimeoutError:
                raise TimeoutError(
                    f"the events handed over by asyncio code were not handled within {timeout} s"
                ) from None
            else:
                for hand_back in hand_backs:
                    hand_back()
                return

    def hand_over(self) -> AsyncioBridge | None:
        """In a thread that runs an asyncio loop: give the bridge what this thread queued now.

        Returns the bridge to flush (off the loop) when this thread ever handed events over.
        """
        state = self._state()
        state.bridged = True
        self._hand_off(state)
        return self._bridge

    def _adopt(self, state: _HubState, *, everything: bool) -> None:
        """Move into ``state`` the events of threads that ended (and, at exit, of every other thread)."""
        with self._states_lock:
            others = [other for other in self._states if other is not state and (everything or other.life.ended)]
            for other in others:
                if other.life.ended:
                    self._states.remove(other)
        for other in others:
            items = _take_all(other.pending)
            if items:
                state.pending.extend(items)
                if not state.armed:
                    self._arm(state)

    def _thread_ended(self, state: _HubState, can_run: bool) -> bool:
        """The thread of ``state`` ends: drain it there if it can still run, else hand its events on."""
        if can_run:
            had_work = bool(state.pending or state.running)
            if had_work:
                self.drain()
            self._unclaimed()
        else:
            had_work = False
            bridge = self._bridge
            if bridge is None or not bridge.alive:
                # Left where they are: the next drain of any thread adopts them (it may be doing
                # so already, so they are never taken out and put back).
                return False
            items = _take_all(state.pending)
            if items:
                bridge.submit(items)  # a live thread handles them at once
        with self._states_lock:
            if state in self._states:
                self._states.remove(state)
        return had_work

    def _after_fork_in_child(self) -> None:
        # The parent's events are the parent's: the child starts with empty queues, no bridge.
        for state in self._states:
            state.pending.clear()  # a growth check scheduled before the fork finds nothing
        self._reset()


@dataclass(frozen=True)
class ThreadStats:
    """What one thread's queue holds and has done (see ``EventDispatcher.stats``)."""

    thread: int
    """The thread's identifier (``threading.get_ident()`` in that thread)."""
    name: str | None
    """The thread's name, for a thread that ``threading`` knows."""
    pending: int
    """Events waiting for a delivery greenlet."""
    in_flight: int
    """Worker greenlets handling an event now."""
    handled: int
    """Events whose handlers have all been called, since the thread started dispatching."""
    failed: int
    """Handler calls that raised."""
    oldest_pending_age: float | None
    """Seconds the oldest pending event has waited; ``None`` when none waits, or the dispatcher
    has no ``max_pending`` (events are stamped on that path only)."""


@dataclass(frozen=True)
class QueueStats:
    """What the queues of every thread hold and have done (see ``EventDispatcher.stats``)."""

    pending: int
    in_flight: int
    handled: int
    failed: int
    oldest_pending_age: float | None
    threads: tuple[ThreadStats, ...]

    def as_dict(self) -> dict[str, Any]:
        """The same figures as plain data, for a JSON view or a log line."""
        return asdict(self)


def _thread_stats(state: _HubState, now: float) -> ThreadStats:
    pending = state.pending
    try:
        head = pending[0]
    except IndexError:
        age = None
    else:
        age = now - head[5] if len(head) > 5 and head[5] else None
    # threading._active: the threads by ident, read without the copy that threading.enumerate() makes.
    thread: threading.Thread | None = vars(threading)["_active"].get(state.life.ident)
    return ThreadStats(
        thread=state.life.ident,
        name=None if thread is None else thread.name,
        pending=len(pending),
        in_flight=state.running,
        handled=state.handled,
        failed=state.failed,
        oldest_pending_age=age,
    )


def _busy(state: _HubState) -> int:
    """How many of the state's delivery greenlets are handling events (not waiting in a drain)."""
    life = state.life
    if not life.drains:
        return state.running
    draining = life.draining_greenlets()
    return sum(1 for running in state.greenlets if running not in draining)


def _end_of_thread(queue: Callable[[], GeventQueue | None], state: _HubState, can_run: bool) -> bool:
    instance = queue()
    return False if instance is None else instance._thread_ended(state, can_run)  # pyright: ignore[reportPrivateUsage]


_live_queues: weakref.WeakSet[GeventQueue] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    _bridge_threads.clear()
    for queue in list(_live_queues):
        queue._after_fork_in_child()  # pyright: ignore[reportPrivateUsage]


if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)
