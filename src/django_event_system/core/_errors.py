"""The exceptions that django-event-system raises.

The hierarchy::

    EventSystemError                 root; never raised directly
    ├── InvalidPatternError          (also ValueError) a pattern that is not a valid regex
    ├── InvalidEventError            (also TypeError) dispatching something that is not an event
    ├── EmptyEventNameError          (also ValueError) dispatching ""
    ├── InvalidHandlerError          (also TypeError) registering something that is not callable
    ├── ListenerDefinitionError      (also TypeError) a malformed EventListener subclass
    ├── QueueUsageError              (also RuntimeError) draining from where it cannot wait
    ├── QueueFullError               (also RuntimeError) a bounded queue is full
    ├── CascadeDepthError            (also RecursionError) handlers dispatching events too deep
    ├── SerializationError           (also TypeError) a payload that a queued handler cannot receive
    ├── RejectedMessageError         (also ValueError) a queued message that a worker refuses
    ├── TransportError               (also RuntimeError) no transport for queued handlers
    │   └── EnqueueError             a queued handler's message could not be sent
    └── HandlerInterruptedError      a handler raised a BaseException that is not an Exception

    ExceptionGroup
    └── HandlerErrors                handler failures under the "raise" policy; not an
                                     EventSystemError: ``except* SomeError`` reaches what
                                     handlers raised, and each carries a note naming its handler
"""

from __future__ import annotations

import builtins
import sys
from typing import Protocol

if sys.version_info >= (3, 11):  # pragma: no cover - depends on the interpreter
    _ExceptionGroup = builtins.ExceptionGroup
else:  # pragma: no cover - depends on the interpreter
    from exceptiongroup import ExceptionGroup as _ExceptionGroup

__all__ = [
    "CascadeDepthError",
    "EmptyEventNameError",
    "EnqueueError",
    "EventSystemError",
    "HandlerErrors",
    "HandlerInterruptedError",
    "InvalidEventError",
    "InvalidHandlerError",
    "InvalidPatternError",
    "ListenerDefinitionError",
    "QueueFullError",
    "QueueUsageError",
    "RejectedMessageError",
    "SerializationError",
    "TransportError",
]


class EventSystemError(Exception):
    """Root of the exceptions raised by django-event-system. Do not raise it directly."""


class InvalidPatternError(EventSystemError, ValueError):
    """A pattern given to ``RegisterHandler`` or ``listensFor`` is not a valid regular expression."""

    def __init__(self, pattern: str, error: Exception) -> None:
        self.pattern = pattern
        self.error = error
        super().__init__(
            f"invalid event pattern {pattern!r}: {error}. Patterns are regular expressions "
            "matched against the whole event name; escape literal characters with re.escape()."
        )


class InvalidEventError(EventSystemError, TypeError):
    """``Dispatch`` was given something that is neither an event name nor an Event instance."""


class EmptyEventNameError(EventSystemError, ValueError):
    """An event name is the empty string."""


class InvalidHandlerError(EventSystemError, TypeError):
    """A handler passed for registration is not callable."""


class ListenerDefinitionError(EventSystemError, TypeError):
    """An ``EventListener`` subclass is malformed (missing or wrong ``listensFor``)."""


class QueueUsageError(EventSystemError, RuntimeError):
    """The queue was drained from a place where waiting is impossible (the gevent hub)."""


class QueueFullError(EventSystemError, RuntimeError):
    """A dispatcher's queue holds ``max_pending`` events and the event could not wait for room.

    Raised by ``Dispatch`` under ``on_full="raise"``, and under ``"block"`` where the caller cannot
    wait (the gevent hub, a thread that runs an asyncio loop). The event was not dispatched.
    """


class CascadeDepthError(EventSystemError, RecursionError):
    """A handler dispatched an event deeper in a cascade than the dispatcher's ``max_depth``."""


class SerializationError(EventSystemError, TypeError):
    """A value in an event's payload cannot be sent to a queued handler (it cannot be JSON-encoded)."""


class Message(Protocol):
    """A queued handler's message (:class:`~django_event_system.core.Message`), as errors carry it."""

    @property
    def body(self) -> str: ...
    @property
    def event_id(self) -> str: ...
    @property
    def event_name(self) -> str: ...
    @property
    def handler(self) -> str: ...
    @property
    def queue(self) -> str | None: ...


class RejectedMessageError(EventSystemError, ValueError):
    """A worker refused a queued message: not JSON, or naming a handler or Event class that is not
    registered in the worker's process. Nothing in such a message is imported or run."""


class TransportError(EventSystemError, RuntimeError):
    """Queued handlers have no transport to send their messages through."""


class EnqueueError(TransportError):
    """A queued handler's message could not be handed to the transport (the broker is down, say).

    :attr:`message` is the :class:`~django_event_system.core.Message`, whose ``body`` can be
    stored and sent again.
    """

    def __init__(self, text: str, message: Message) -> None:
        super().__init__(text)
        self.message = message
        """The message that was not sent."""


class HandlerInterruptedError(EventSystemError):
    """A handler raised a ``BaseException`` that is not an ``Exception``, and it did not end the process.

    ``GreenletExit``, ``gevent.Timeout``, and ``SystemExit`` or ``KeyboardInterrupt`` outside the
    main thread are isolated like any handler's error. An exception group holds only
    ``Exception`` instances, so under the ``"raise"`` policy such an exception travels in this one: it is
    :attr:`exception` and the ``__cause__``.
    """

    def __init__(self, handler: str, event_name: str, exception: BaseException) -> None:
        super().__init__(
            f"handler raised {type(exception).__name__}: {exception!r} (handler {handler}, event {event_name!r})"
        )
        self.exception = exception
        self.__cause__: BaseException | None = exception


class HandlerErrors(_ExceptionGroup[Exception]):
    """The exceptions that handlers raised while the queue drained, under the ``"raise"`` policy.

    Each exception carries a note naming the event and the handler.
    """
