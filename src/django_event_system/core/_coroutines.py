"""Coroutine handlers: awaited on an event loop of their own, never the caller's.

A handler that is an ``async def`` function (through ``RegisterHandler``, ``listen``,
``EventListener.handle`` or an Observer method) returns a coroutine when the worker greenlet
calls it. The worker hands the coroutine to the *runner*: one daemon thread per process that runs
an asyncio event loop, started on first use. The worker then waits for it cooperatively (other
greenlets of its hub run meanwhile) and takes its result or exception, so a coroutine handler has
the same place as any handler: in order within its event, counted in the pool, under the error
policy, inside ``ClearQueue``.

The coroutine runs in a copy of the worker's context. Events it dispatches go back to the queue
of the thread whose worker awaits it (see :data:`coroutine_home`), so they are part of the same
cascade and the same drain. Many coroutine handlers, from every thread, run concurrently on the
runner's loop; a coroutine that blocks its thread blocks the others, as in any asyncio program.

The runner is private to the process: the child of a fork starts another when it needs one.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
from collections.abc import Callable, Coroutine
from typing import Any

import gevent
import gevent.event
import gevent.monkey
from greenlet import getcurrent, greenlet

from ._errors import QueueUsageError
from ._threads import ThreadLife, current_life

__all__ = ["CoroutineHome", "await_coroutine", "coroutine_home", "in_runner_thread"]

logger = logging.getLogger("django_event_system")

_start_new_thread: Callable[..., int] = gevent.monkey.get_original("_thread", "start_new_thread")
_allocate_lock: Callable[[], Any] = gevent.monkey.get_original("_thread", "allocate_lock")
_get_ident: Callable[[], int] = gevent.monkey.get_original("_thread", "get_ident")


class CoroutineHome:
    """Where a running coroutine handler belongs: the thread and the worker greenlet that await it."""

    __slots__ = ("life", "worker")

    def __init__(self, life: ThreadLife, worker: greenlet) -> None:
        self.life = life
        self.worker = worker


coroutine_home: contextvars.ContextVar[CoroutineHome | None] = contextvars.ContextVar(
    "django_event_system_coroutine_home", default=None
)
"""Set in the context of each coroutine handler: events it dispatches are queued at its home."""


class _Runner:
    """A daemon thread that runs the asyncio loop on which coroutine handlers are awaited."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        started = _allocate_lock()
        started.acquire()
        self.ident = _start_new_thread(self._run, (started,))
        started.acquire()

    def _run(self, started: Any) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(started.release)
        self.loop.run_forever()


_runner: _Runner | None = None
_runner_lock = _allocate_lock()


def _get_runner() -> _Runner:
    global _runner
    with _runner_lock:
        if _runner is None:
            _runner = _Runner()
        return _runner


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
    loop = runner.loop
    hub = gevent.get_hub()
    ready = gevent.event.Event()
    # An active watcher keeps this hub's loop alive while it waits, and can be woken from the
    # runner's thread.
    watcher = hub.loop.async_()
    watcher.start(ready.set)
    context = contextvars.copy_context()
    context.run(coroutine_home.set, CoroutineHome(current_life(), getcurrent()))
    outcome: list[asyncio.Future[Any]] = []

    def done(task: asyncio.Future[Any]) -> None:
        outcome.append(task)
        watcher.send()

    tasks: list[asyncio.Future[Any]] = []

    def start() -> None:
        task = context.run(loop.create_task, coroutine)
        task.add_done_callback(done)
        tasks.append(task)

    try:
        loop.call_soon_threadsafe(start)
        while not outcome:
            ready.wait()
            ready.clear()
    except BaseException:
        if tasks:
            loop.call_soon_threadsafe(tasks[0].cancel)
        else:
            loop.call_soon_threadsafe(coroutine.close)
        raise
    finally:
        watcher.stop()
        watcher.close()
    return outcome[0].result()


def run_on_home(home: CoroutineHome, function: Callable[[], object]) -> None:
    """Call ``function()`` in the hub of ``home``'s thread, soon. Thread-safe."""
    hub = home.life.hub
    if hub is None:  # the thread has ended
        raise QueueUsageError("the thread that awaited this coroutine handler has ended")
    hub.loop.run_callback_threadsafe(function)


def _after_fork_in_child() -> None:
    global _runner, _runner_lock
    _runner = None
    _runner_lock = _allocate_lock()


if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)
