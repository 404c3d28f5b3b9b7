"""The transport interface: how a queued handler's message reaches a worker process.

A transport sends :class:`Message` objects to a task queue; a worker on the other side hands
each message body to :func:`~django_event_system.core.process_message` and acts on the
:class:`Outcome`. Transports live outside the core, side by side in ``django_event_system.transports``
(``transports.celery``, ``transports.tasks``), so that the core needs neither Celery nor Django;
the core only ships :class:`InMemoryTransport`, for tests and scripts.

Capability flags say what a transport guarantees, the way Django's task backends do:

``supports_delay``
    It can deliver a message after a delay, so retries back off. Without it a retry is sent at
    once.
``supports_late_ack``
    A message is acknowledged only after its handler returned: a worker that dies mid-task
    leaves the message to be delivered again (at-least-once delivery).
"""

from __future__ import annotations

import abc
from typing import ClassVar

from ._message import Message

__all__ = ["Transport"]


class Transport(abc.ABC):
    """Sends queued handlers' messages to workers. Subclass it to plug in a task queue.

    ``enqueue`` must either hand the message to the queue or raise: the caller logs the error
    with the event id and applies the enqueue error policy, so a transport never swallows one.
    """

    name: ClassVar[str] = "transport"
    """A short name for logs and settings."""
    supports_delay: ClassVar[bool] = False
    """Whether ``enqueue(..., delay=s)`` delivers the message ``s`` seconds later."""
    supports_late_ack: ClassVar[bool] = False
    """Whether a message whose worker died before finishing is delivered again."""

    @abc.abstractmethod
    def enqueue(self, message: Message, *, delay: float = 0.0, attempt: int = 0) -> None:
        """Send ``message`` to a worker.

        :param delay: seconds to wait before delivering it (a retry's backoff); transports
            without ``supports_delay`` deliver at once.
        :param attempt: how many times the handler already failed on this message; the worker
            passes it back to :func:`~django_event_system.core.process_message`.
        :raises Exception: whatever stopped the message from being sent.
        """

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
