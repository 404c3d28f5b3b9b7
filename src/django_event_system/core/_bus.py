"""What the dispatcher's parts need from a dispatcher, as a protocol.

Event classes, the after-commit gate, the queued tier and the mocks work with a dispatcher
without importing the module that defines it (which imports them): they see it as a
:class:`Bus`. :class:`~django_event_system.core.EventDispatcher` is the implementation; any
object with these members would do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ._event import Event, EventBus

if TYPE_CHECKING:
    from ._handlers import Handler
    from ._interception import Interceptors
    from ._registry import PatternRegistry

__all__ = ["Bus", "LiveBus"]


class Bus(EventBus, Protocol):
    """A dispatcher, as the parts of the core see it."""

    @property
    def registry(self) -> PatternRegistry:
        """Its handlers, by pattern."""
        ...

    @property
    def interceptors(self) -> Interceptors:
        """What sees each dispatch before it is queued."""
        ...

    @property
    def sync(self) -> bool | None:
        """``True``: handlers run in ``Dispatch``; ``None``: the process-wide default."""

    def ClearQueue(self, timeout: float | None = None) -> None:
        """Handle everything queued in this thread."""

    def deliver_to(
        self,
        callbacks: Sequence[Handler],
        name: str,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        event: Event | None = None,
        intercept: bool = True,
    ) -> bool:
        """Queue the event ``name`` for ``callbacks`` alone."""
        ...


class LiveBus(Bus, Protocol):
    """A dispatcher among the live ones (see ``_config.live_dispatchers``): what process-wide code calls."""

    def _update_fast_path(self) -> None:
        """Recompute the fast path after a process-wide default changed."""

    def _drain_everything(self) -> None:
        """At interpreter exit: handle what every thread left queued, raising what failed."""

    def _after_fork_in_child(self) -> None:
        """In a forked child: forget what the parent collected."""
