"""Broadcasts in tests: ``record_broadcasts()``, the ``BroadcastRecorder`` and ``assert_broadcast``.

Broadcasts are recorded where they leave for the channel layer (the Django adapter's
``observe_broadcasts`` seam): after the commit, in the delivery greenlet, with the group names and
the payload that would be sent. By default a recorder also keeps them from the channel layer, so
a test needs neither Channels' settings nor a server; ``send=True`` lets them through as well.
Importing this module touches no Django settings.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, TypeAlias

from ..core import Event, clear_all_queues

if TYPE_CHECKING:
    from ..django import Broadcast

__all__ = ["BroadcastRecorder", "BroadcastTarget", "assert_broadcast", "record_broadcasts"]

BroadcastTarget: TypeAlias = "str | re.Pattern[str] | type[Event]"
"""What ``assert_broadcast`` looks for: an exact event name, a compiled regular expression
(matched with ``fullmatch``), or an Event class (its name)."""

_active: list[BroadcastRecorder] = []
_active_lock = threading.Lock()


def _matches(target: BroadcastTarget, name: str) -> bool:
    if isinstance(target, re.Pattern):
        return target.fullmatch(name) is not None
    return name == str(target)


def _describe(target: BroadcastTarget) -> str:
    if isinstance(target, re.Pattern):
        return f"an event matching {target.pattern!r}"
    return repr(str(target))


class BroadcastRecorder:
    """Records the broadcasts that go out while it is active, in the order they go out.

    Get one from :func:`record_broadcasts` or the ``broadcasts`` pytest fixture. Every query
    first drains every dispatcher's queue (``clear_all_queues()``), so the broadcasts of the
    events dispatched so far are there; a broadcast held by an open transaction appears once it
    commits (in a test, ``TestCase.captureOnCommitCallbacks(execute=True)`` or a
    ``transaction=True`` test), and never after a rollback.

    :param send: ``True``: the broadcasts also reach the channel layer; ``False`` (the
        default): they are only recorded.
    """

    def __init__(self, *, send: bool = False) -> None:
        self.send = send
        self._records: list[Broadcast] = []
        self._lock = threading.Lock()
        self._stop: Callable[[], None] | None = None

    def _observe(self, broadcast: Broadcast) -> bool:
        with self._lock:
            self._records.append(broadcast)
        return not self.send

    @property
    def active(self) -> bool:
        """Whether the recorder is recording."""
        return self._stop is not None

    def start(self) -> None:
        """Start recording (``record_broadcasts()`` and the fixture do it)."""
        from ..django import observe_broadcasts

        if self._stop is None:
            self._stop = observe_broadcasts(self._observe)
            with _active_lock:
                _active.append(self)

    def stop(self) -> None:
        """Stop recording; what was recorded stays readable."""
        stop, self._stop = self._stop, None
        if stop is not None:
            stop()
            with _active_lock:
                if self in _active:
                    _active.remove(self)

    def __enter__(self) -> BroadcastRecorder:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def broadcasts(self) -> list[Broadcast]:
        """Every broadcast recorded so far (after draining the queues), one per group."""
        if self.active:
            clear_all_queues()
        with self._lock:
            return list(self._records)

    def to(self, group: str) -> list[Broadcast]:
        """The broadcasts recorded for ``group``."""
        return [broadcast for broadcast in self.broadcasts if broadcast.group == group]

    def clear(self) -> None:
        """Forget what was recorded so far (after draining the queues)."""
        if self.active:
            clear_all_queues()
        with self._lock:
            self._records.clear()

    def assert_broadcast(
        self,
        group: str,
        event: BroadcastTarget,
        *,
        payload: Mapping[str, object] | None = None,
        times: int | None = None,
    ) -> list[Broadcast]:
        """Assert that ``event`` was broadcast to ``group`` (with exactly ``payload``, if given;
        ``times`` times, if given); returns the matching broadcasts.

        :raises AssertionError: listing everything that was broadcast.
        """
        recorded = self.broadcasts
        found = [b for b in recorded if b.group == group and _matches(event, b.event)]
        if payload is not None:
            found = [b for b in found if dict(b.payload) == dict(payload)]
        if (times is None and found) or (times is not None and len(found) == times):
            return found
        wanted = f"{_describe(event)} broadcast to {group!r}"
        if payload is not None:
            wanted += f" with the payload {dict(payload)!r}"
        if times is not None:
            wanted += f" {times} time{'s' if times != 1 else ''}, not {len(found)}"
        raise AssertionError(f"expected {wanted}; {_listing(recorded)}")

    def assert_not_broadcast(self, group: str, event: BroadcastTarget | None = None) -> None:
        """Assert that nothing (or nothing of ``event``) was broadcast to ``group``."""
        found = [b for b in self.to(group) if event is None or _matches(event, b.event)]
        if found:
            what = "nothing" if event is None else f"no {_describe(event)}"
            raise AssertionError(f"expected {what} broadcast to {group!r}; {_listing(found)}")

    def assert_nothing_broadcast(self) -> None:
        """Assert that nothing was broadcast at all."""
        recorded = self.broadcasts
        if recorded:
            raise AssertionError(f"expected no broadcast; {_listing(recorded)}")


def _listing(broadcasts: list[Broadcast]) -> str:
    if not broadcasts:
        return "nothing was broadcast"
    lines = [f"  {b.event!r} to {b.group!r}: {dict(b.payload)!r}" for b in broadcasts]
    return f"{len(broadcasts)} broadcast{'s' if len(broadcasts) != 1 else ''}:\n" + "\n".join(lines)


def record_broadcasts(*, send: bool = False) -> BroadcastRecorder:
    """A :class:`BroadcastRecorder`, to use as a context manager::

        with record_broadcasts() as broadcasts:
            OrderPlaced.Dispatch(order_id=7)
            broadcasts.assert_broadcast("orders.7", OrderPlaced)

    :param send: also let the broadcasts reach the channel layer.
    """
    return BroadcastRecorder(send=send)


def assert_broadcast(
    group: str,
    event: BroadcastTarget,
    *,
    payload: Mapping[str, object] | None = None,
    times: int | None = None,
) -> list[Broadcast]:
    """Assert that ``event`` was broadcast to ``group``, as recorded by the innermost active
    recorder (``record_broadcasts()`` or the ``broadcasts`` fixture); see
    :meth:`BroadcastRecorder.assert_broadcast`.

    :raises AssertionError: nothing records broadcasts, or the broadcast is not among them.
    """
    with _active_lock:
        recorder = _active[-1] if _active else None
    if recorder is None:
        raise AssertionError(
            "assert_broadcast() found no recorder: record the broadcasts first, with "
            "`with record_broadcasts():` or the `broadcasts` pytest fixture"
        )
    return recorder.assert_broadcast(group, event, payload=payload, times=times)
