"""The worker side of queued handlers: check a message, revive its event, call the handler.

A transport's task calls :func:`process_message` with the message body and the number of the
attempt, and acts on the returned :class:`Result`: nothing to do for ``DONE``, ``FAILED`` and
``REJECTED`` (acknowledge the message), send it again after ``result.delay`` seconds for
``RETRY``.

Outbox messages (marked ``"outbox": true`` by the sending side) are run once per event and
handler, even when they arrive twice: the *delivery guard* that an adapter installs with
:func:`set_delivery_guard` (the Django adapter's records each one in the handler's transaction)
decides, and a message it has seen is acknowledged as ``DUPLICATE`` without running anything.
Other messages never meet the guard.
"""

from __future__ import annotations

import contextvars
import datetime
import enum
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import ClassVar, cast

from .._coroutines import await_coroutine
from .._errors import HandlerErrors, RejectedMessageError
from .._event import Event
from .._handlers import Handler
from ._message import MalformedMessageError, Message, decode_payload, read_envelope
from ._sending import QueuedHandler, queued_handler
from ._transport import Transport

__all__ = [
    "Delivery",
    "DeliveryGuard",
    "InMemoryTransport",
    "Outcome",
    "Result",
    "current_delivery",
    "process_message",
    "set_delivery_guard",
]

logger = logging.getLogger("django_event_system.queued")


class Outcome(enum.Enum):
    """What became of a message in the worker."""

    DONE = "done"
    """The handler returned."""
    RETRY = "retry"
    """The handler raised and has tries left: send the message again after ``Result.delay``."""
    FAILED = "failed"
    """The handler raised on its last try; its ``failed`` hook was called."""
    REJECTED = "rejected"
    """The message was refused (not JSON, unknown handler or event class...); nothing ran."""
    DUPLICATE = "duplicate"
    """An outbox message whose event this handler has handled already; nothing ran."""


@dataclass(frozen=True)
class Result:
    """What :func:`process_message` did with a message."""

    outcome: Outcome
    delay: float = 0.0
    """For ``RETRY``: seconds to wait before the next try."""
    error: Exception | None = None
    """The handler's exception, or why the message was rejected."""
    event_id: str | None = None


@dataclass(frozen=True)
class Delivery:
    """The message that the running queued handler is handling (see :func:`current_delivery`)."""

    event_id: str
    """The event's unique id: use it as an idempotency key."""
    event_name: str
    handler: str
    attempt: int
    """How many tries came before this one: 0 for the first try, 1 for the first retry...
    (the worker's log counts from 1: see :attr:`try_number`)."""
    occurred_at: datetime.datetime
    outbox: bool = False
    """Whether the message came through the outbox (and is run once per event and handler)."""

    @property
    def try_number(self) -> int:
        """This try, counted from 1 as the worker's log counts them (``try 1 of 4``): ``attempt + 1``."""
        return self.attempt + 1


_delivery: contextvars.ContextVar[Delivery | None] = contextvars.ContextVar(
    "django_event_system_delivery", default=None
)


DeliveryGuard = Callable[[Delivery, Callable[[], None]], bool]
"""Runs an outbox message's handler at most once per event and handler: ``guard(delivery, run)``
calls ``run()`` and returns ``True``, or returns ``False`` without calling it when the delivery's
event id and handler were handled already. What ``run()`` raises, the guard lets through (the
handler failed: the record of it must not stay, so that a retry runs it again)."""

_guard: list[DeliveryGuard | None] = [None]


def set_delivery_guard(guard: DeliveryGuard | None) -> DeliveryGuard | None:
    """Install the :data:`DeliveryGuard` of outbox messages (``None`` removes it); returns the previous one.

    Without a guard, an outbox message is handled like any other (a warning says so).
    """
    previous = _guard[0]
    _guard[0] = guard
    return previous


def current_delivery() -> Delivery | None:
    """The delivery that the calling queued handler is handling; ``None`` outside one.

    Gives string-event handlers, which receive no Event instance, the event id and the attempt.
    """
    return _delivery.get()


def _reject(reason: str, detail: str = "", event_id: str | None = None) -> Result:
    logger.error("refused a queued message: %s%s", reason, detail)
    return Result(Outcome.REJECTED, error=RejectedMessageError(reason), event_id=event_id)


def process_message(body: str | bytes, *, attempt: int = 0) -> Result:
    """Handle one queued message: check it, revive its event and call its handler.

    Nothing in the message is imported: the handler must be a queued handler registered in this
    process, and an Event must be of a class registered for reviving. A message that breaks these
    rules, or is not the JSON that a QueuedHandler produces, is refused and logged (``REJECTED``).

    If the handler raises, the outcome is ``RETRY`` while it has retries left, and ``FAILED``
    after its last try, once its ``failed(event, exc)`` hook has been called. Events that the
    handler dispatches are handled before this function returns.

    :param attempt: how many times the handler already failed on this message.
    """
    try:
        envelope = read_envelope(body)
    except MalformedMessageError as exc:
        logger.error("refused a queued message: %s%s", exc, exc.detail)
        return Result(Outcome.REJECTED, error=RejectedMessageError(str(exc)), event_id=exc.event_id)
    key, name, event_id, occurred_at = envelope.handler, envelope.name, envelope.event_id, envelope.occurred_at
    handler = queued_handler(key)
    if handler is None:
        return _reject(
            f"no queued handler {key!r} is registered in this process (event {name!r}, id {event_id}); "
            "make sure the worker imports the module that registers it",
            event_id=event_id,
        )
    if not handler.matches(name):
        return _reject(f"the queued handler {key!r} does not listen for {name!r} (id {event_id})", event_id=event_id)
    try:
        args, kwargs, event = decode_payload(envelope)
    except RejectedMessageError as exc:
        logger.error("refused a queued message for %s (event %r, id %s): %s", key, name, event_id, exc)
        return Result(Outcome.REJECTED, error=exc, event_id=event_id)
    except Exception as exc:
        # Not the message's fault (a database that is down, say): worth another try.
        return _failed(handler, name, event_id, None, exc, attempt)
    delivery = Delivery(event_id, name, key, attempt, occurred_at, envelope.outbox)
    token = _delivery.set(delivery)

    def run() -> None:
        result = cast("Handler", handler.target)(name, *args, **kwargs)
        if result is not None and isinstance(result, Coroutine):
            # An async def handler: awaited on the runner's loop.
            await_coroutine(result)  # pyright: ignore[reportUnknownArgumentType]

    try:
        if not delivery.outbox:
            run()
        elif not _run_once(delivery, run):
            logger.info(
                "skipped a duplicate of event %r (id %s) for the queued handler %s: it was handled already",
                name,
                event_id,
                key,
            )
            return Result(Outcome.DUPLICATE, event_id=event_id)
    except Exception as exc:
        return _failed(handler, name, event_id, event, exc, attempt)
    finally:
        _delivery.reset(token)
        _drain(handler)
    return Result(Outcome.DONE, event_id=event_id)


def _run_once(delivery: Delivery, run: Callable[[], None]) -> bool:
    guard = _guard[0]
    if guard is None:
        logger.warning(
            "the outbox message of event %r (id %s) for %s is handled without a check for duplicates: "
            "no delivery guard is installed (with Django, the app installs it when it is ready)",
            delivery.event_name,
            delivery.event_id,
            delivery.handler,
        )
        run()
        return True
    return guard(delivery, run)


def _failed(
    handler: QueuedHandler, name: str, event_id: str, event: Event | None, exc: Exception, attempt: int
) -> Result:
    options = handler.options
    if attempt < options.max_retries:
        delay = options.delay_for(attempt)
        logger.warning(
            "the queued handler %s failed on event %r (id %s), try %d of %d; trying again in %.3g s: %s: %s",
            handler.key,
            name,
            event_id,
            attempt + 1,
            options.max_retries + 1,
            delay,
            type(exc).__name__,
            exc,
        )
        return Result(Outcome.RETRY, delay=delay, error=exc, event_id=event_id)
    logger.error(
        "the queued handler %s failed on event %r (id %s) after %d tries; giving up",
        handler.key,
        name,
        event_id,
        attempt + 1,
        exc_info=exc,
    )
    hook = options.failed
    if hook is not None:
        try:
            hook(event if event is not None else name, exc)
        except Exception:
            logger.exception("the failed() hook of the queued handler %s raised (event id %s)", handler.key, event_id)
    return Result(Outcome.FAILED, error=exc, event_id=event_id)


def _drain(handler: QueuedHandler) -> None:
    """Handle what the queued handler dispatched before its message is acknowledged."""
    try:
        handler.dispatcher.ClearQueue()
    except HandlerErrors:
        logger.exception("handlers of events dispatched by the queued handler %s failed", handler.key)


class InMemoryTransport(Transport):
    """Keeps messages in this process until :meth:`work` handles them: for tests and scripts.

    The whole path runs (JSON encoding, the checks, reviving, retries, ``failed``), without a
    broker. Retry delays are recorded in :attr:`delays` rather than waited for.
    """

    name: ClassVar[str] = "memory"
    supports_delay: ClassVar[bool] = True

    def __init__(self) -> None:
        self.pending: deque[tuple[Message, int]] = deque()
        """The messages waiting for :meth:`work`, each with its attempt (0 for the first)."""
        self.sent: list[Message] = []
        """Every message ever enqueued, retries included, in order."""
        self.results: list[Result] = []
        """What :meth:`work` made of each message it handled, in order."""
        self.delays: list[float] = []
        """The delay of each retry, in seconds, in the order the retries were enqueued."""

    def enqueue(self, message: Message, *, delay: float = 0.0, attempt: int = 0) -> None:
        """Keep ``message`` for :meth:`work`."""
        self.sent.append(message)
        if attempt:
            self.delays.append(delay)
        self.pending.append((message, attempt))

    def work(self, *, limit: int = 10_000) -> list[Result]:
        """Handle the pending messages, retries included, until none is left; return the results.

        :raises RuntimeError: more than ``limit`` messages were handled (a retry loop).
        """
        results: list[Result] = []
        while self.pending:
            if len(results) >= limit:
                raise RuntimeError(f"InMemoryTransport.work() handled {limit} messages and some are still pending")
            message, attempt = self.pending.popleft()
            result = process_message(message.body, attempt=attempt)
            results.append(result)
            if result.outcome is Outcome.RETRY:
                self.enqueue(message, delay=result.delay, attempt=attempt + 1)
        self.results.extend(results)
        return results
