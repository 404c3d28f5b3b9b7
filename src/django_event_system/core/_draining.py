"""Draining: waiting until what was queued has been handled, for one dispatcher or all of them.

``ClearQueue`` drains one dispatcher's queue in the calling thread (the queue does the work, see
``_local_queue``); this module holds what is built on it: the awaitable drain of async code, the
``EnsureQueueIsCleared`` decorator and block, :func:`clear_all_queues` for code that ends a unit
of work, the drain of a task queue's worker after each task, and the drain at interpreter exit.

A worker runs application code that dispatches events (a model saved, ``Dispatcher.Dispatch``)
and then waits on its broker or its database, never giving the gevent hub a turn: nothing would
handle those events until the process exits, and some pools end their processes without the
drain at interpreter exit. The Celery and Tasks framework transports call
:func:`drain_for_worker` from the worker's own signals.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import inspect
import logging
import os
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import gevent

from ._config import live_dispatchers
from ._coroutines import coroutine_home, in_runner_thread, run_on_home
from ._errors import HandlerErrors
from ._handling import Failures, group

if TYPE_CHECKING:
    from ._local_queue import GeventQueue

__all__ = ["Drainable", "QueueCleared", "clear_all_queues", "drain_async", "drain_for_worker", "ensure_cleared"]

logger = logging.getLogger("django_event_system")

_F = TypeVar("_F", bound=Callable[..., object])


class Drainable(Protocol):
    """A dispatcher, as its drains see it (``EventDispatcher``)."""

    def ClearQueue(self, timeout: float | None = None) -> None:
        """Handle everything queued in this thread."""

    async def aclear_queue(self, timeout: float | None = None) -> None:
        """Await until everything this async code queued has been handled."""


async def drain_async(
    queue: GeventQueue, failures: Failures, loop: asyncio.AbstractEventLoop, timeout: float | None
) -> None:
    """The body of ``aclear_queue``: wait for ``queue`` without blocking ``loop``.

    In ordinary async code the calling thread's events go to the bridge thread, and this waits
    for it in an executor. Inside a coroutine handler it waits for the events that handler
    dispatched, which are queued in the thread that awaits the handler (its *home*), by running
    the drain there.
    """
    home = coroutine_home.get()
    if home is not None and in_runner_thread():
        settled: asyncio.Future[Callable[[], None]] = loop.create_future()

        def settle(take_over: Callable[[], None] | None, exc: BaseException | None) -> None:
            if settled.done():
                return
            if exc is not None:
                settled.set_exception(exc)
            else:
                assert take_over is not None
                settled.set_result(take_over)

        def drain_at_home() -> None:
            try:
                queue.drain(timeout, on_behalf_of=home.greenlet)
            except BaseException as exc:
                loop.call_soon_threadsafe(settle, None, exc)
            else:
                loop.call_soon_threadsafe(settle, failures.hand_back(), None)

        run_on_home(home, functools.partial(gevent.spawn_raw, drain_at_home))
        (await settled)()
    else:
        bridge = queue.hand_over()
        if bridge is not None:
            for hand_back in await loop.run_in_executor(None, bridge.flush, timeout):
                hand_back()
    failures.raise_collected()


def ensure_cleared(dispatcher: Drainable, func: _F) -> _F:
    """``func`` wrapped to drain ``dispatcher`` after it returns (``EnsureQueueIsCleared``).

    An ``async def`` function is drained after its body, with ``await aclear_queue()``.
    """
    if not callable(func):
        raise TypeError(f"EnsureQueueIsCleared decorates a callable, not {func!r}")
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            result = await func(*args, **kwargs)
            await dispatcher.aclear_queue()
            return result

        return cast("_F", async_wrapper)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = func(*args, **kwargs)
        dispatcher.ClearQueue()
        return result

    return cast("_F", wrapper)


class QueueCleared:
    """``with`` or ``async with`` block that drains a dispatcher's queue when it ends without an error.

    Returned by :meth:`EventDispatcher.EnsureQueueIsCleared` called without a function.
    """

    __slots__ = ("_dispatcher",)

    def __init__(self, dispatcher: Drainable) -> None:
        self._dispatcher = dispatcher

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc_type is None:
            self._dispatcher.ClearQueue()

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc_type is None:
            await self._dispatcher.aclear_queue()


def clear_all_queues(timeout: float | None = None) -> None:
    """Drain every dispatcher's queue in the calling thread, as ``ClearQueue`` does for one.

    For code that ends a unit of work without knowing which dispatchers its handlers use: a
    worker process after each task, a management command, a test harness. Every dispatcher is
    drained even when one of them fails; their errors are raised together at the end.

    :param timeout: seconds each dispatcher may take at most.
    :raises HandlerErrors: under a ``"raise"`` error policy, the failures of every dispatcher.
    :raises TimeoutError: a dispatcher was not drained within ``timeout`` seconds (the others
        were still drained).

    .. versionadded:: 2.0
    """
    errors: list[Exception] = []
    timed_out: TimeoutError | None = None
    for dispatcher in live_dispatchers():
        try:
            dispatcher.ClearQueue(timeout)
        except HandlerErrors as failed:
            errors.extend(failed.exceptions)
        except TimeoutError as exc:
            timed_out = timed_out or exc
    if errors:
        raise group(errors)
    if timed_out is not None:
        raise timed_out


def drain_for_worker(when: str, timeout: float | None = None) -> None:
    """Handle every event queued in this thread (:func:`clear_all_queues`), logging what fails.

    Never raises an ``Exception``: the task's outcome is already settled, and a failing handler
    must not stop the worker. Failures collected under the ``"raise"`` error policy and a drain
    that runs out of time are logged on the ``django_event_system`` logger.

    :param when: where the worker is, as the log says it (``"after the Celery task 'proj.add'"``).
    :param timeout: seconds each dispatcher may take at most; what is left stays queued.
    """
    try:
        clear_all_queues(timeout)
    except TimeoutError:
        logger.error("the event queue was not drained within %s s %s; the rest stays queued", timeout, when)
    except Exception:
        logger.exception("handlers failed while the event queue drained %s", when)


def _after_fork_in_child() -> None:
    for dispatcher in live_dispatchers():
        dispatcher._after_fork_in_child()  # pyright: ignore[reportPrivateUsage]


if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _drain_at_exit() -> None:
    """Handle what is still queued before the interpreter exits: a script that ends loses nothing."""
    for dispatcher in live_dispatchers():
        try:
            dispatcher._drain_everything()  # pyright: ignore[reportPrivateUsage]
        except Exception:
            logger.exception("handlers failed while the event queue drained at interpreter exit")
