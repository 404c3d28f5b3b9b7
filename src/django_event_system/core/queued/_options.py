"""How a queued handler is queued: its retries, its queue, the outbox, and its name across processes.

:class:`Queued` is what ``RegisterHandler(..., queued=Queued(...))`` takes. Classes that handle
events (EventListener, the Django adapter's Observer) declare the same options as class
attributes through :class:`QueuedOptions`, which builds their :class:`Queued`. The defaults are
declared here once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from .._validation import is_int

__all__ = ["DEFAULT_MAX_RETRIES", "DEFAULT_RETRY_BACKOFF", "DEFAULT_RETRY_BACKOFF_MAX", "Queued", "QueuedOptions"]

DEFAULT_MAX_RETRIES = 3
"""How many times a failed queued handler is tried again."""
DEFAULT_RETRY_BACKOFF = 1.0
"""Seconds before the first retry; each further retry waits twice as long."""
DEFAULT_RETRY_BACKOFF_MAX = 600.0
"""The longest wait between two tries, in seconds."""


@dataclass(frozen=True)
class Queued:
    """How a queued handler is retried, and what happens when it gives up.

    Pass it as ``queued=`` instead of ``True`` to change the defaults::

        @Dispatcher.listen(OrderPlaced, queued=Queued(max_retries=5, failed=alert_ops))
        def send_receipt(event: OrderPlaced) -> None: ...

    :param max_retries: how many times a failed handler is tried again (0: never).
    :param retry_backoff: the delay before the first retry, in seconds; each further retry
        waits twice as long as the one before.
    :param retry_backoff_max: the longest delay between two tries, in seconds.
    :param failed: called as ``failed(event, exc)`` in the worker when the last try failed;
        ``event`` is the Event instance, or the event name for a string event.
    :param key: the name that identifies the handler across processes; by default its
        ``module:qualname``.
    :param queue: the name of the queue to send to, for transports that route by queue.
    :param outbox: ``True``: the message is written to the installed :class:`Outbox` when the
        event is dispatched (with Django: in the dispatching code's transaction) and a relay
        publishes it; the worker runs the handler once per event, even if the message comes
        twice. ``False``: sent through the transport. ``None`` (the default): as the outbox
        says (with Django, ``DJANGO_EVENT_SYSTEM["QUEUED"]["OUTBOX"]``).
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    retry_backoff: float = DEFAULT_RETRY_BACKOFF
    retry_backoff_max: float = DEFAULT_RETRY_BACKOFF_MAX
    failed: Callable[[Any, Exception], object] | None = None
    key: str | None = None
    queue: str | None = None
    outbox: bool | None = None

    def __post_init__(self) -> None:
        if not is_int(self.max_retries) or self.max_retries < 0:
            raise ValueError(f"max_retries must be an int >= 0, not {self.max_retries!r}")
        for name in ("retry_backoff", "retry_backoff_max"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 or math.isinf(value):
                raise ValueError(f"{name} must be a finite number of seconds >= 0, not {value!r}")
        if self.failed is not None and not callable(self.failed):
            raise TypeError(f"failed must be callable as failed(event, exc), not {self.failed!r}")
        for name in ("key", "queue"):
            text = getattr(self, name)
            if text is not None and (not isinstance(text, str) or not text):
                raise ValueError(f"{name} must be a non-empty str or None, not {text!r}")
        if self.outbox is not None and not isinstance(self.outbox, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"outbox must be True, False or None, not {self.outbox!r}")

    def delay_for(self, attempt: int) -> float:
        """The seconds to wait before trying again after the ``attempt``-th failure (0-based)."""
        if attempt >= 64:  # 2**64 seconds is past any cap already
            return float(self.retry_backoff_max)
        return float(min(self.retry_backoff * 2**attempt, self.retry_backoff_max))


class QueuedOptions:
    """The queued options of a class that handles events, as class attributes.

    ``queued = True`` runs the class's handlers in a worker process; ``max_retries``,
    ``retry_backoff`` and ``retry_backoff_max`` say how they are retried (see :class:`Queued`),
    ``queue`` which queue they are sent to, ``outbox`` whether their messages go through the
    outbox (``None``: as configured).
    """

    queued: ClassVar[bool] = False
    max_retries: ClassVar[int] = DEFAULT_MAX_RETRIES
    retry_backoff: ClassVar[float] = DEFAULT_RETRY_BACKOFF
    retry_backoff_max: ClassVar[float] = DEFAULT_RETRY_BACKOFF_MAX
    queue: ClassVar[str | None] = None
    outbox: ClassVar[bool | None] = None

    @classmethod
    def queued_options(
        cls, *, failed: Callable[[Any, Exception], object] | None = None, key: str | None = None
    ) -> Queued | None:
        """The class's :class:`Queued`, or ``None`` when it is not queued.

        :raises TypeError: ``queued`` is not a bool (the message names the class), or ``failed``
            is not callable.
        :raises ValueError: an option is not valid (the message names it).
        """
        if cls.queued is not True:
            if cls.queued is not False:
                raise TypeError(f"{cls.__qualname__}.queued must be True or False, not {cls.queued!r}")
            return None
        return Queued(
            max_retries=cls.max_retries,
            retry_backoff=cls.retry_backoff,
            retry_backoff_max=cls.retry_backoff_max,
            failed=failed,
            key=key,
            queue=cls.queue,
            outbox=cls.outbox,
        )
