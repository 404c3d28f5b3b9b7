"""Handling: the one loop that calls an event's handlers, and the error policy it reports to.

Every path that runs handlers in-process comes here: the queue's delivery greenlets, sync mode,
and the deliveries that an adapter routes itself (``deliver_to``). The handlers of one event run
in order; a handler's exception is the handler's alone (the others still run): it reaches the
dispatcher's error policy through :class:`Failures`, unless it ends the process (``SystemExit``
and ``KeyboardInterrupt`` in the main thread), which is raised on. A coroutine handler's
coroutine is awaited on the runner's loop (see ``_coroutines``).

Handling observers (:func:`add_handling_observer`) see each delivery and each handler's outcome:
when it started and ended (``time.perf_counter()``) and what it raised. Without one, the loop
pays a single truth test per event; with one, it takes a twin loop that times each call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ._cascade import OUTSIDE, depth_holder, own_depth_holder
from ._coroutines import await_coroutine
from ._errors import HandlerErrors, HandlerInterruptedError
from ._handlers import Handler, describe_handler
from ._registry import PatternRegistry
from ._threads import ends_the_process

if TYPE_CHECKING:
    from ._event import Event

__all__ = [
    "DeliveryObserver",
    "ErrorPolicy",
    "Failures",
    "HandlerFailure",
    "Handling",
    "HandlingObserver",
    "add_handling_observer",
    "group",
    "settle",
]

logger = logging.getLogger("django_event_system")

_get_holder = depth_holder.get
_perf_counter = time.perf_counter


class DeliveryObserver(Protocol):
    """Follows one delivery: what :meth:`HandlingObserver.delivery` returned for it."""

    def handled(self, handler: Handler, started: float, finished: float, error: BaseException | None) -> None:
        """``handler`` returned (``error`` is ``None``) or raised ``error``; ``started`` and
        ``finished`` are ``time.perf_counter()`` readings around the call (an ``async def``
        handler's coroutine awaited included). Called before the error policy sees the error."""

    def finished(self, stopped: bool) -> None:
        """The delivery is over; ``stopped``: a handler stopped the event's propagation, so the
        handlers after it were not called."""


class HandlingObserver(Protocol):
    """Sees every delivery of every dispatcher, in the delivery greenlet (or in ``Dispatch``, in
    sync mode), before its first handler is called. Installed with :func:`add_handling_observer`."""

    def delivery(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        event: Event | None,
        handlers: Sequence[Handler],
    ) -> DeliveryObserver | None:
        """The event ``name`` is about to be handled by ``handlers``, in this order (``args`` and
        ``kwargs`` are the very objects the dispatch was given, so an observer that saw it at an
        interceptor recognises it). Return an object to follow it, or ``None`` to let it be."""
        ...


_observers: tuple[HandlingObserver, ...] = ()
_observers_lock = threading.Lock()


def add_handling_observer(observer: HandlingObserver) -> Callable[[], None]:
    """Show every delivery to ``observer`` until the returned callable is called (twice is harmless).

    For tools that report what handlers did (the debug-toolbar panel). An observer's own error
    is logged and never reaches the handlers or the error policy.
    """
    global _observers
    with _observers_lock:
        _observers = (*_observers, observer)

    def remove() -> None:
        global _observers
        with _observers_lock:
            _observers = tuple(each for each in _observers if each is not observer)

    return remove


def _follow(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], event: Event | None, callbacks: Sequence[Handler]
) -> list[DeliveryObserver]:
    followers: list[DeliveryObserver] = []
    for observer in _observers:
        try:
            follower = observer.delivery(name, args, kwargs, event, callbacks)
        except Exception:
            logger.exception("the handling observer %r failed", observer)
            continue
        if follower is not None:
            followers.append(follower)
    return followers


def _tell_handled(
    followers: list[DeliveryObserver], callback: Handler, started: float, finished: float, error: BaseException | None
) -> None:
    for follower in followers:
        try:
            follower.handled(callback, started, finished, error)
        except Exception:
            logger.exception("the delivery observer %r failed", follower)


def _tell_finished(followers: list[DeliveryObserver], stopped: bool) -> None:
    for follower in followers:
        try:
            follower.finished(stopped)
        except Exception:
            logger.exception("the delivery observer %r failed", follower)


@dataclass(frozen=True)
class HandlerFailure:
    """What an error policy callable receives when a handler raises."""

    event_name: str
    handler: str
    """The handler as ``module:qualname``."""
    exception: Exception
    """What the handler raised. A ``BaseException`` that is not an ``Exception`` and does not end
    the process (``GreenletExit``, ``gevent.Timeout``, or ``SystemExit`` and ``KeyboardInterrupt``
    outside the main thread) arrives as a :class:`HandlerInterruptedError` that carries it."""
    args: tuple[Any, ...] = field(repr=False)
    kwargs: dict[str, Any] = field(repr=False)


ErrorPolicy = Literal["log", "raise"] | Callable[[HandlerFailure], object]
"""``"log"`` (the default) logs each failure on the ``django_event_system`` logger; ``"raise"``
collects the failures and raises them from ``ClearQueue`` (or from ``Dispatch`` in sync mode) as
a :class:`HandlerErrors` group; a callable receives each :class:`HandlerFailure`."""


def settle(result: object) -> None:
    """What a handler returned: a coroutine (an ``async def`` handler) is awaited, off this thread."""
    if isinstance(result, Coroutine):
        await_coroutine(result)  # pyright: ignore[reportUnknownArgumentType]


class Handling:
    """Calls the handlers of each event it is given: the one place where handlers are called.

    :meth:`handle` is what a thread's queue calls for each queued item (``handle(*item)``), and
    what sync mode calls in ``Dispatch``. (A queued handler's :class:`~django_event_system.core.Delivery`
    is another thing: the message a worker process is handling.)
    """

    __slots__ = ("_registry", "_report")

    def __init__(self, registry: PatternRegistry, failures: Failures) -> None:
        self._registry = registry
        self._report = failures.report

    def handle(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        event: Event | None,
        depth: int = 0,
        queued_at: float = 0.0,
        callbacks: Sequence[Handler] | None = None,
    ) -> None:
        """Call the handlers of the event ``name`` (or ``callbacks``, when given) in order.

        :param depth: the cascade depth its handlers run at (0: the delivery greenlet's own, 1).
        :param queued_at: when a bounded dispatcher queued it (read by the queue's statistics).
        :param callbacks: the handlers an adapter chose (``deliver_to``), instead of those the
            registry resolves for ``name``.
        """
        if callbacks is None:
            registry = self._registry
            callbacks = registry._cache.get(name)  # pyright: ignore[reportPrivateUsage]
            if callbacks is None:
                callbacks = registry.resolve(name)
        # A cascade (or sync mode): its handlers run one level deeper than their dispatcher.
        if depth:
            holder = _get_holder(OUTSIDE)
            if holder is OUTSIDE:
                holder = own_depth_holder()
            outer = holder[0]
            holder[0] = depth
        try:
            if _observers:
                followers = _follow(name, args, kwargs, event, callbacks)
                if followers:
                    self._handle_observed(name, args, kwargs, event, callbacks, followers)
                    return
            for callback in callbacks:
                try:
                    result = callback(name, *args, **kwargs) if kwargs else callback(name, *args)
                    if result is not None:
                        settle(result)
                except BaseException as exc:
                    self._report(name, callback, exc, args, kwargs)
                if event is not None and event._propagation_stopped:  # pyright: ignore[reportPrivateUsage]
                    break
        finally:
            if depth:
                holder[0] = outer  # pyright: ignore[reportPossiblyUnboundVariable]

    def _handle_observed(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        event: Event | None,
        callbacks: Sequence[Handler],
        followers: list[DeliveryObserver],
    ) -> None:
        """The loop of :meth:`handle`, timing each handler for the handling observers."""
        stopped = False
        try:
            for position, callback in enumerate(callbacks):
                started = _perf_counter()
                error: BaseException | None = None
                try:
                    result = callback(name, *args, **kwargs)
                    if result is not None:
                        settle(result)
                except BaseException as exc:
                    error = exc
                _tell_handled(followers, callback, started, _perf_counter(), error)
                if error is not None:
                    self._report(name, callback, error, args, kwargs)
                if event is not None and event._propagation_stopped:  # pyright: ignore[reportPrivateUsage]
                    stopped = position < len(callbacks) - 1
                    break
        finally:
            _tell_finished(followers, stopped)


def group(errors: list[Exception]) -> HandlerErrors:
    """The errors of several handlers, as the one exception that ``ClearQueue`` raises."""
    count = len(errors)
    return HandlerErrors(f"{count} event handler{'s' if count > 1 else ''} failed", errors)


class Failures:
    """One dispatcher's error policy, and the failures it collected per thread under ``"raise"``.

    :param local: the thread-local class to keep them in (the interpreter's, not gevent's).
    :param counted: called once per failure (the queue's statistics count them).
    """

    __slots__ = ("_counted", "_local", "_local_class", "policy")

    def __init__(self, local: type[Any], counted: Callable[[], None], policy: ErrorPolicy = "log") -> None:
        self._local_class = local
        self._local = local()
        self._counted = counted
        self.policy: ErrorPolicy = policy

    def report(
        self, name: str, callback: Handler, exc: BaseException, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        """A handler raised: report it under the error policy, unless it ends the process (re-raised)."""
        if ends_the_process(exc):
            raise exc
        handler = describe_handler(callback)
        self._counted()
        if not isinstance(exc, Exception):
            exc = HandlerInterruptedError(handler, name, exc)
        policy = self.policy
        if policy == "log":
            logger.error("handler %s failed while handling event %r", handler, name, exc_info=exc)
        elif policy == "raise":
            if hasattr(exc, "add_note"):
                exc.add_note(f"raised by handler {handler} while handling event {name!r}")
            self.collected().append(exc)
        else:
            try:
                # A dict of its own: an event without keyword arguments shares one empty dict.
                policy(HandlerFailure(name, handler, exc, args, kwargs if kwargs else {}))
            except Exception:
                logger.exception(
                    "the error policy %r failed for handler %s and event %r; the handler's error was:",
                    policy,
                    handler,
                    name,
                )
                logger.error("handler %s failed while handling event %r", handler, name, exc_info=exc)

    def collected(self) -> list[Exception]:
        """The errors collected in this thread under the ``"raise"`` policy (created on first use)."""
        try:
            errors: list[Exception] = self._local.list
        except AttributeError:
            errors = self._local.list = []
        return errors

    def raise_collected(self) -> None:
        """Raise what this thread collected, as one :class:`HandlerErrors`, and forget it."""
        errors: list[Exception] | None = getattr(self._local, "list", None)
        if errors:
            self._local.list = []
            raise group(errors)

    def hand_back(self) -> Callable[[], None]:
        """Take the errors collected in this thread, for another thread to raise (see GeventQueue)."""
        errors: list[Exception] | None = getattr(self._local, "list", None)
        self._local.list = []

        def take_over() -> None:
            if errors:
                self.collected().extend(errors)

        return take_over

    def log_unclaimed(self) -> None:
        """In a thread that ends: log what ``"raise"`` collected there, since no ClearQueue will raise it."""
        errors: list[Exception] | None = getattr(self._local, "list", None)
        if errors:
            self._local.list = []
            for error in errors:
                logger.error("a handler failed in a thread that ended before ClearQueue raised it", exc_info=error)

    def forget_all(self) -> None:
        """Forget every thread's failures (a forked child: the parent's are the parent's to raise)."""
        self._local = self._local_class()
