"""A transport for tests: queued handlers' messages stay in the test's process, to be looked at and run.

:func:`fake_transport` sends them to a :class:`FakeTransport` for the length of a block, and the
``queued_messages`` pytest fixture for the length of a test. Nothing reaches a broker, and the
path is the real one: the payload is encoded at dispatch, and :meth:`FakeTransport.run` hands
each message to the worker's :func:`~django_event_system.core.process_message` (checks,
reviving, retries, ``failed``).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, ClassVar

from ..core import Event, InMemoryTransport, Message, Result, clear_all_queues, using_transport
from ..core.integration import decode_payload, read_envelope

__all__ = ["FakeTransport", "QueuedMessage", "fake_transport"]


@dataclass(frozen=True)
class QueuedMessage:
    """One queued handler's share of one event, as the code under test sent it.

    The payload is decoded when first asked for, as a worker decodes it: the Event is a revived
    copy, and model instances in it are loaded from the database then.
    """

    message: Message
    """The message itself; its ``body`` is the JSON text that a worker would receive."""

    @property
    def handler(self) -> str:
        """The queued handler's key: ``module:qualname``, unless ``Queued(key=...)`` named it."""
        return self.message.handler

    @property
    def event_name(self) -> str:
        """The name of the event dispatched."""
        return self.message.event_name

    @property
    def event_id(self) -> str:
        """The event's unique id (for an Event, its ``event_id``)."""
        return self.message.event_id

    @property
    def event(self) -> Event | None:
        """The Event as a worker revives it, or ``None`` for a string event.

        :raises RejectedMessageError: a worker would refuse the message (a model row is gone...).
        """
        return self._payload[0]

    @property
    def args(self) -> tuple[Any, ...]:
        """The positional arguments the handler receives after the name (and the Event)."""
        return self._payload[1]

    @property
    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments the handler receives."""
        return self._payload[2]

    @functools.cached_property
    def _payload(self) -> tuple[Event | None, tuple[Any, ...], dict[str, Any]]:
        args, kwargs, event = decode_payload(read_envelope(self.message.body))
        return event, args if event is None else args[1:], kwargs

    def __repr__(self) -> str:
        return f"<QueuedMessage {self.event_name!r} for {self.handler} (id {self.event_id})>"


class FakeTransport(InMemoryTransport):
    """Keeps the messages of queued handlers in the test's process instead of sending them to a broker.

    Get one from :func:`fake_transport` or the ``queued_messages`` fixture. Named in the
    settings, ``DJANGO_EVENT_SYSTEM = {"QUEUED": {"TRANSPORT":
    "django_event_system.testing.FakeTransport"}}``, one keeps a whole test run off the broker.

    :attr:`messages`, :meth:`run` and :meth:`clear` first drain every dispatcher's queue in the
    calling thread (as ``ClearQueue`` does, waiting for the handlers), so that what was
    dispatched has been sent.

    .. versionadded:: 2.0
    """

    name: ClassVar[str] = "fake"

    def __init__(self) -> None:
        super().__init__()
        self._messages: list[QueuedMessage] = []

    def enqueue(self, message: Message, *, delay: float = 0.0, attempt: int = 0) -> None:
        """Keep ``message``; a retry is kept for :meth:`run` but not listed again in :attr:`messages`."""
        if not attempt:
            self._messages.append(QueuedMessage(message))
        super().enqueue(message, delay=delay, attempt=attempt)

    @property
    def messages(self) -> list[QueuedMessage]:
        """Every message sent since the transport was set up or cleared, in order, run or not."""
        clear_all_queues()
        return list(self._messages)

    def run(self, *, limit: int = 10_000) -> list[Result]:
        """Handle the messages not handled yet, as a worker would, and return what became of them.

        Retries run at once (their delays are recorded in :attr:`delays`), and so do the messages
        that handlers send while they run, until none is left.

        :raises RuntimeError: more than ``limit`` messages were handled (a retry loop).
        """
        clear_all_queues()
        return self.work(limit=limit)

    def clear(self) -> None:
        """Forget every message sent so far; those not handled yet never run."""
        clear_all_queues()
        self._messages.clear()
        self.pending.clear()
        self.sent.clear()
        self.results.clear()
        self.delays.clear()


@contextlib.contextmanager
def fake_transport() -> Generator[FakeTransport, None, None]:
    """Within the block, queued handlers send their messages to a new :class:`FakeTransport`.

    ::

        with fake_transport() as queued:
            checkout(cart)
        [message] = queued.messages
        assert message.handler == "shop.listeners:send_receipt"
        [result] = queued.run()
        assert result.outcome is Outcome.DONE

    On leaving, the queues are drained (so that no event of the block reaches the transport
    configured before it) and that transport comes back. Messages held until a transaction
    commits are sent when it commits: in a Django ``TestCase``, when
    ``captureOnCommitCallbacks(execute=True)`` ends, which must be inside the block.

    .. versionadded:: 2.0
    """
    transport = FakeTransport()
    with using_transport(transport):
        try:
            yield transport
        except BaseException:
            # The block's own error is the one to report, not what its leftover events do.
            with contextlib.suppress(Exception):
                clear_all_queues()
            raise
        clear_all_queues()
