"""Handling: the one loop that calls an event's handlers, and the error policy it reports to.

Every path that runs handlers in-process comes here: the queue's delivery greenlets, sync mode,
and the deliveries that an adapter routes itself (``deliver_to``). The handlers of one event run
in order; a handler's exception is the handler's alone (the others still run): it reaches the
dispatcher's error policy through :class:`Failures`, unless it ends the process (``SystemExit``
and ``KeyboardInterrupt`` in the main thread), which is raised on. A coroutine handler's
coroutine is awaited on the runner's loop (see ``_coroutines``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ._cascade import OUTSIDE, depth_holder, own_depth_holder
from ._coroutines import await_coroutine
from ._errors import HandlerErrors, HandlerInterruptedError
from ._handlers import Handler, describe_handler
from ._registry import PatternRegistry
from ._threads import ends_the_process

if TYPE_CHECKING:
    from ._event import Event

__all__ = ["ErrorPolicy", "Failures", "HandlerFailure", "Handling", "group", "settle"]

logger = logging.getLogger("django_event_system")

_get_holder = depth_holder.get


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
            for callback in callbacks:
                try:
                    result = callback(name, *args, **kwargs)
                    if result is not None:
                        settle(result)
                except BaseException as exc:
                    self._report(name, callback, exc, args, kwargs)
                if event is not None and event._propagation_stopped:  # pyright: ignore[reportPrivateUsage]
                    break
        finally:
            if depth:
                holder[0] = outer  # pyright: ignore[reportPossiblyUnboundVariable]


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
                policy(HandlerFailure(name, handler, exc, args, kwargs))
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
