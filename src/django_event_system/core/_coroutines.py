"""Coroutine handlers: awaited on an event loop of their own, never the caller's.

A handler that is an ``async def`` function (through ``RegisterHandler``, ``listen``,
``EventListener.handle`` or an Observer method) returns a coroutine when the delivery greenlet
calls it. The delivery greenlet hands the coroutine to the *runner*: one daemon thread per process that runs
an asyncio event loop, started on first use. The delivery greenlet then waits for it cooperatively (other
greenlets of its hub run meanwhile) and takes its result or exception, so a coroutine handler has
the same place as any handler: in order within its event, counted in the pool, under the error
policy, inside ``ClearQueue``.

The coroutine runs in a copy of the delivery greenlet's context. Events it dispatches go back to the queue
of the thread whose delivery greenlet awaits it (see :data:`coroutine_home`), so they are part of the same
cascade and the same drain. Many coroutine handlers, from every thread, run concurrently on the
runner's loop; a coroutine that blocks its thread blocks the others, as in any asyncio program.

The runner is private to the process: the child of a fork starts another when it needs one.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import logging
import os
from collections.abc import Callable, Coroutine
from typing import Any

import gevent
import gevent.monkey
from gevent.hub import Waiter
from greenlet import getcurrent, greenlet

from ._errors import QueueUsageError
from ._threads import ThreadLife, current_life

__all__ = ["CoroutineHome", "await_coroutine", "coroutine_home", "in_runner_thread"]

logger = logging.getLogger("django_event_system")

_start_new_thread: Callable[..., int] = gevent.monkey.get_original("_thread", "start_new_thread")
_allocate_lock: Callable[[], Any] = gevent.monkey.get_original("_thread", "allocate_lock")
_get_ident: Callable[[], int] = gevent.monkey.get_original("_thread", "get_ident")
_ThreadLocal: type[Any] = gevent.monkey.get_original("_thread", "_local")


def _new_loop() -> asyncio.AbstractEventLoop:
    """The runner's loop. In a process that gevent has patched, it waits with the OS's selector:
    gevent's would wait on the runner thread's own hub, which nothing runs, and fail (LoopExit)."""
    if gevent.monkey.is_module_patched("select") or gevent.monkey.is_module_patched("selectors"):
        selector: Any = gevent.monkey.get_original("selectors", "DefaultSelector")
        return asyncio.SelectorEventLoop(selector())
    return asyncio.new_event_loop()


class CoroutineHome:
    """Where a running coroutine handler belongs: the thread and the delivery greenlet that await it."""

    __slots__ = ("greenlet", "life")

    def __init__(self, life: ThreadLife, greenlet_: greenlet) -> None:
        self.life = life
        self.greenlet = greenlet_


coroutine_home: contextvars.ContextVar[CoroutineHome | None] = contextvars.ContextVar(
    "django_event_system_coroutine_home", default=None
)
"""Set in the context of each coroutine handler: events it dispatches are queued at its home."""


class _Runner:
    """A daemon thread that runs the asyncio loop on which coroutine handlers are awaited.

    Coroutines are handed over in batches: the first one submitted after the loop last looked
    schedules one wake-up of the loop, and the loop starts every coroutine waiting by then.
    """

    def __init__(self) -> None:
        self.loop = _new_loop()
        self._inbox: collections.deque[tuple[Coroutine[Any, Any, Any], contextvars.Context, _Awaiting]] = (
            collections.deque()
        )
        self._scheduled = False
        started = _allocate_lock()
        started.acquire()
        self.ident = _start_new_thread(self._run, (started,))
        started.acquire()

    def _run(self, started: Any) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(started.release)
        self.loop.run_forever()

    def submit(self, coroutine: Coroutine[Any, Any, Any], context: contextvars.Context, awaiting: _Awaiting) -> None:
        """Start ``coroutine`` on the loop, in ``context``; ``awaiting`` learns when it is done. Thread-safe."""
        self._inbox.append((coroutine, context, awaiting))
        if not self._scheduled:
            self._scheduled = True
            self.loop.call_soon_threadsafe(self._start_all)

    def _start_all(self) -> None:
        # Cleared before the inbox is emptied: a coroutine submitted meanwhile is either taken
        # below or schedules another call.
        self._scheduled = False
        inbox = self._inbox
        while inbox:
            coroutine, context, awaiting = inbox.popleft()
            if awaiting.cancelled:
                coroutine.close()
                continue
            task = context.run(self.loop.create_task, coroutine)
            awaiting.task = task
            task.add_done_callback(awaiting.finish)


class _Awaiting:
    """One coroutine handler being awaited: the greenlet's wake-up and, once done, its task."""

    __slots__ = ("cancelled", "task", "waiter", "waker")

    def __init__(self, waker: _Waker) -> None:
        self.waker = waker
        self.waiter: Waiter[None] = Waiter()
        self.task: asyncio.Task[Any] | None = None
        self.cancelled = False

    def finish(self, task: asyncio.Future[Any]) -> None:
        """In the runner's thread: the coroutine is done; wake the greenlet that awaits it."""
        self.waker.wake(self)


class _Waker:
    """One per thread that awaits coroutine handlers: a single watcher the runner can wake it with.

    The watcher keeps the thread's hub alive only while some greenlet waits for a coroutine.
    """

    def __init__(self) -> None:
        self._finished: collections.deque[_Awaiting] = collections.deque()
        watcher: Any = gevent.get_hub().loop.async_()
        watcher.start(self._deliver)
        watcher.ref = False
        self._watcher = watcher
        self.waiting = 0

    def wake(self, awaiting: _Awaiting) -> None:
        """In the runner's thread: hand ``awaiting`` back to its hub. Thread-safe."""
        self._finished.append(awaiting)
        self._watcher.send()

    def _deliver(self) -> None:
        finished = self._finished
        while finished:
            finished.popleft().waiter.switch(None)

    def hold(self) -> None:
        self.waiting += 1
        if self.waiting == 1:
            self._watcher.ref = True

    def release(self) -> None:
        self.waiting -= 1
        if not self.waiting:
            self._watcher.ref = False


_runner: _Runner | None = None
_runner_lock = _allocate_lock()
_wakers = _ThreadLocal()


def _get_runner() -> _Runner:
    global _runner
    runner = _runner
    if runner is not None:
        return runner
    with _runner_lock:
        if _runner is None:
            _runner = _Runner()
        return _runner


def _get_waker() -> _Waker:
    try:
        waker: _Waker = _wakers.waker
    except AttributeError:
        waker = _wakers.waker = _Waker()
    return waker


def in_runner_thread() -> bool:
    """Whether the calling code runs on the loop that awaits coroutine handlers."""
    return _runner is not None and _get_ident() == _runner.ident


def await_coroutine(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coroutine`` on the runner's loop and wait for it here, cooperatively; return its result.

    Called by the dispatcher for a handler's coroutine, in the greenlet that called the handler.
    The coroutine's exception is raised here. If this greenlet is killed while it waits, the
    coroutine is cancelled.

    :raises QueueUsageError: called on the runner's own loop (a coroutine handler dispatching in
        sync mode to another coroutine handler), which would wait for itself.
    """
    if in_runner_thread():
        coroutine.close()
        raise QueueUsageError(
            "a coroutine handler cannot be run inline from another coroutine handler (sync mode): "
            "it would wait for the loop it runs on; dispatch without sync mode instead."
        )
    runner = _get_runner()
    waker = _get_waker()
    awaiting = _Awaiting(waker)
    context = contextvars.copy_context()
    context.run(coroutine_home.set, CoroutineHome(current_life(), getcurrent()))
    waker.hold()
    try:
        runner.submit(coroutine, context, awaiting)
        awaiting.waiter.get()  # the hub switches back here once the coroutine is done
    except BaseException:
        awaiting.cancelled = True
        task = awaiting.task
        if task is not None:
            runner.loop.call_soon_threadsafe(task.cancel)
        raise
    finally:
        waker.release()
    assert awaiting.task is not None
    return awaiting.task.result()


def run_on_home(home: CoroutineHome, function: Callable[[], object]) -> None:
    """Call ``function()`` in the hub of ``home``'s thread, soon. Thread-safe."""
    hub = home.life.hub
    if hub is None:  # the thread has ended
        raise QueueUsageError("the thread that awaited this coroutine handler has ended")
    hub.loop.run_callback_threadsafe(function)


def _after_fork_in_child() -> None:
    global _runner, _runner_lock, _wakers
    _runner = None
    _runner_lock = _allocate_lock()
    _wakers = _ThreadLocal()


if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)
