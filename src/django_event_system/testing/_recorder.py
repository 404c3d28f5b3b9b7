"""The event recorder and its assertions, and ``record_events()``."""

from __future__ import annotations

import collections
import contextlib
import re
import threading
from collections.abc import Callable, Generator, Iterator
from types import TracebackType
from typing import Any, TypeVar, cast, overload

from ..core import Dispatcher, Event, EventBus, EventDispatcher
from ..core.integration import (
    DispatchStatus,
    EventMatcher,
    EventTarget,
    RecordedEvent,
    attach_observer,
    describe_dispatched,
    drain_quietly,
    suggest_name,
)

__all__ = ["EventRecorder", "record_events"]

_E = TypeVar("_E", bound=Event)


def _times(count: int) -> str:
    return f"{count} time{'s' if count != 1 else ''}"


def _describe_predicate(where: Callable[..., object]) -> str:
    return getattr(where, "__qualname__", None) or repr(where)


class EventRecorder:
    """Records every event dispatched while it is active: names, Event instances, args and kwargs.

    Get one from :func:`record_events`, :func:`fake`, :func:`fake_except`, :func:`muted` or the
    ``dispatched_events`` pytest fixture. A *target* is an exact event name, a compiled regular
    expression (matched with ``fullmatch``) or an Event class (its instances).

    While the recorder is active, every query first drains the dispatcher's queue
    (``ClearQueue``): the events that handlers dispatch are seen, and no assertion races the queue.

    Each record has a :attr:`~RecordedEvent.status` (``"delivered"``, ``"held"`` until its
    transaction commits, ``"discarded"`` by a rollback, ``"withheld"`` by a testing helper,
    ``"suppressed"`` by ``without_events``);
    ``status=`` narrows the queries and assertions to the records that have it now.
    """

    def __init__(self, dispatcher: EventBus | None = None) -> None:
        # Any EventBus an Event class names is a dispatcher of the core (EventDispatcher).
        self.dispatcher: EventDispatcher = Dispatcher if dispatcher is None else cast("EventDispatcher", dispatcher)
        self._records: list[RecordedEvent] = []
        self._lock = threading.Lock()
        self._detach: Callable[[], None] | None = None

    # -- the observer -----------------------------------------------------------------------

    def swallows(self, name: str, event: Event | None) -> bool:
        """A plain recorder lets every event through."""
        return False

    def observe(self, record: RecordedEvent) -> None:
        """Keep the dispatch."""
        with self._lock:
            self._records.append(record)

    # -- lifetime ---------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Whether the recorder is still recording."""
        return self._detach is not None

    def start(self) -> None:
        """Start recording (``record_events()`` and the fakes call this for you).

        :raises RuntimeError: the recorder is already recording.
        """
        if self._detach is not None:
            raise RuntimeError(f"{self!r} is already recording")
        self._detach = attach_observer(self.dispatcher, self)

    def stop(self, *, failed: bool = False) -> None:
        """Drain the queue (still recording), then stop recording. Stopping twice is harmless.

        :param failed: the code under test raised; errors from draining are then not raised, so
            that they do not hide the original error.
        """
        if self._detach is None:
            return
        try:
            drain_quietly(self.dispatcher, failed=failed)
        finally:
            self._detach()
            self._detach = None

    def __enter__(self) -> EventRecorder:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop(failed=exc_type is not None)

    # -- reading ----------------------------------------------------------------------------

    def _settled(self) -> list[RecordedEvent]:
        if self._detach is not None:
            self.dispatcher.ClearQueue()
        with self._lock:
            return list(self._records)

    @property
    def events(self) -> list[RecordedEvent]:
        """Every recorded dispatch, in order."""
        return self._settled()

    @property
    def names(self) -> list[str]:
        """The name of every recorded dispatch, in order."""
        return [record.name for record in self._settled()]

    def clear(self) -> None:
        """Forget what has been recorded so far (after draining the queue)."""
        self._settled()
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        return len(self._settled())

    def __iter__(self) -> Iterator[RecordedEvent]:
        return iter(self._settled())

    def __repr__(self) -> str:
        with self._lock:
            count = len(self._records)
        state = "recording" if self._detach is not None else "stopped"
        return f"<{type(self).__name__} {state}, {count} event{'s' if count != 1 else ''}>"

    def _matching(
        self, target: EventTarget, status: DispatchStatus | None = None
    ) -> tuple[EventMatcher, list[RecordedEvent], list[RecordedEvent]]:
        matcher = EventMatcher(target)
        records = self._settled()
        matched = [r for r in records if matcher.matches(r.name, r.event)]
        if status is not None:
            matched = [r for r in matched if r.status == status]
        return matcher, matched, records

    @overload
    def dispatched(self, target: type[_E], *, status: DispatchStatus | None = None) -> list[_E]: ...

    @overload
    def dispatched(
        self, target: str | re.Pattern[str], *, status: DispatchStatus | None = None
    ) -> list[RecordedEvent]: ...

    def dispatched(self, target: EventTarget, *, status: DispatchStatus | None = None) -> list[Any]:
        """Return what was dispatched for ``target``, in order.

        For an Event class, the Event instances (typed as that class); for a name or a regular
        expression, the :class:`RecordedEvent` records.

        :param status: only the dispatches whose :attr:`RecordedEvent.status` it is now.
        :raises TypeError: ``target`` is not a name, a compiled regex or an Event class.
        """
        _, matched, _ = self._matching(target, status)
        if isinstance(target, type):
            return [record.event for record in matched]
        return matched

    @overload
    def discarded(self, target: type[_E]) -> list[_E]: ...

    @overload
    def discarded(self, target: str | re.Pattern[str]) -> list[RecordedEvent]: ...

    def discarded(self, target: EventTarget) -> list[Any]:
        """What was dispatched for ``target`` inside a transaction that rolled back, so that what
        waited for the commit was dropped: ``dispatched(target, status="discarded")``."""
        return self.dispatched(target, status="discarded")

    @overload
    def suppressed(self, target: type[_E]) -> list[_E]: ...

    @overload
    def suppressed(self, target: str | re.Pattern[str]) -> list[RecordedEvent]: ...

    def suppressed(self, target: EventTarget) -> list[Any]:
        """What was dispatched for ``target`` inside ``without_events`` and kept from being
        dispatched at all: ``dispatched(target, status="suppressed")``. (An event whose handlers
        of some classes alone were muted is delivered; its record's ``muted`` names them.)"""
        return self.dispatched(target, status="suppressed")

    # -- assertions -------------------------------------------------------------------------

    @overload
    def assert_dispatched(
        self,
        target: type[_E],
        times: int | None = None,
        where: Callable[[_E], object] | None = None,
        *,
        status: DispatchStatus | None = None,
    ) -> list[_E]: ...

    @overload
    def assert_dispatched(
        self,
        target: str | re.Pattern[str],
        times: int | None = None,
        where: Callable[[RecordedEvent], object] | None = None,
        *,
        status: DispatchStatus | None = None,
    ) -> list[RecordedEvent]: ...

    def assert_dispatched(
        self,
        target: EventTarget,
        times: int | None = None,
        where: Callable[[Any], object] | None = None,
        *,
        status: DispatchStatus | None = None,
    ) -> list[Any]:
        """Assert that ``target`` was dispatched (exactly ``times`` times, if given).

        :param target: an event name, a compiled regex or an Event class.
        :param times: the exact number of matching dispatches; ``None`` means at least one.
        :param where: only count the dispatches for which it returns true. It receives the Event
            instance for an Event class, the :class:`RecordedEvent` for a name or a regex.
        :param status: only count the dispatches whose :attr:`RecordedEvent.status` it is now:
            ``"held"`` (their transaction has not committed yet), ``"discarded"`` (it rolled
            back), ``"delivered"`` or ``"withheld"``.
        :returns: the matching dispatches, as :meth:`dispatched` returns them.
        :raises AssertionError: the assertion does not hold; the message lists what was dispatched.
        :raises ValueError: ``times`` is negative.
        """
        __tracebackhide__ = True  # pytest shows the test's frame, not this one
        count_given: object = times  # typed int, but checked: a bool or a float is a mistake
        if count_given is not None and (
            not isinstance(count_given, int) or isinstance(count_given, bool) or count_given < 0  # pyright: ignore[reportUnnecessaryIsInstance]
        ):
            raise ValueError(f"times must be a non-negative int or None, not {times!r}")
        matcher, every, records = self._matching(target)
        matched = every if status is None else [r for r in every if r.status == status]
        found: list[Any] = [r.event for r in matched] if isinstance(target, type) else matched
        selected = found if where is None else [item for item in found if where(item)]
        count = len(selected)
        if (times is None and count > 0) or count == times:
            return selected
        expected = "at least once" if times is None else f"exactly {_times(times)}"
        verb = "dispatched" if status is None else status
        if where is None:
            problem = f"{matcher} was {verb} {_times(count)}, expected {expected}"
        else:
            problem = (
                f"{matcher} was {verb} {_times(len(found))}, {count} of them matching "
                f"where={_describe_predicate(where)}, expected {expected}"
            )
        if status is not None and every:
            statuses = collections.Counter(record.status for record in every)
            problem += f" (dispatched {_times(len(every))}: {', '.join(f'{n} {s}' for s, n in statuses.items())})"
        hint = suggest_name(matcher, records) if not every else ""
        raise AssertionError(f"{problem}{hint}.\n{_what_was_dispatched(records)}")

    @overload
    def assert_discarded(
        self, target: type[_E], times: int | None = None, where: Callable[[_E], object] | None = None
    ) -> list[_E]: ...

    @overload
    def assert_discarded(
        self,
        target: str | re.Pattern[str],
        times: int | None = None,
        where: Callable[[RecordedEvent], object] | None = None,
    ) -> list[RecordedEvent]: ...

    def assert_discarded(
        self, target: EventTarget, times: int | None = None, where: Callable[[Any], object] | None = None
    ) -> list[Any]:
        """Assert that ``target`` was dispatched inside a transaction that rolled back, so that what
        waited for the commit was dropped: ``assert_dispatched(target, times, where, status="discarded")``."""
        __tracebackhide__ = True
        return self.assert_dispatched(target, times, where, status="discarded")

    def assert_not_dispatched(self, target: EventTarget) -> None:
        """Assert that ``target`` was not dispatched.

        :raises AssertionError: it was; the message shows each matching dispatch.
        """
        __tracebackhide__ = True
        matcher, matched, _ = self._matching(target)
        if matched:
            shown = "\n".join(f"  - {_describe_record(record)}" for record in matched)
            raise AssertionError(f"{matcher} was dispatched {_times(len(matched))}, expected not at all:\n{shown}")

    def assert_nothing_dispatched(self) -> None:
        """Assert that no event was dispatched.

        :raises AssertionError: something was; the message lists it.
        """
        __tracebackhide__ = True
        records = self._settled()
        if records:
            count = len(records)
            raise AssertionError(
                f"expected nothing to be dispatched, but {count} event{'s were' if count > 1 else ' was'}:\n"
                f"{describe_dispatched(records)}"
            )


def _what_was_dispatched(records: list[RecordedEvent]) -> str:
    if not records:
        return "Nothing was dispatched."
    return f"Dispatched:\n{describe_dispatched(records)}"


def _describe_record(record: RecordedEvent) -> str:
    parts = [repr(record.event) if record.event is not None else repr(record.name)]
    parts.extend(repr(arg) for arg in record.args)
    parts.extend(f"{key}={value!r}" for key, value in record.kwargs.items())
    return ", ".join(parts)


@contextlib.contextmanager
def record_events(*, dispatcher: EventBus | None = None) -> Generator[EventRecorder, None, None]:
    """Record everything dispatched inside the block; listeners run as usual.

    ::

        with record_events() as events:
            place_order()
        events.assert_dispatched(OrderPlaced, times=1)

    The queue is drained when the block ends, while still recording, so the events that
    handlers dispatch in turn are recorded too.

    :param dispatcher: the dispatcher to watch; the global ``Dispatcher`` by default.
    """
    with EventRecorder(dispatcher) as recorder:
        yield recorder
