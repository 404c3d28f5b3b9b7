"""Test doubles for dispatch: the machinery behind ``Dispatcher.MocksDispatch`` and ``Dispatcher.Expect``.

Everything goes through the dispatcher's interceptors, at their ``OBSERVE`` stage. Each dispatcher gets at most one
interceptor, the *tap*, while something observes it; the tap shows every dispatch to each active
observer (a mocked test, a recorder, a fake) and swallows the event when one of them asks. One
tap rather than one interceptor per observer, because the dispatcher stops at the first
interceptor that swallows: a recorder installed after a fake would never see the faked events.

Nothing here imports Django; the richer helpers in :mod:`django_event_system.testing` build on it.
"""

from __future__ import annotations

import collections
import contextlib
import difflib
import functools
import inspect
import re
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, Union, cast

from ._commit import PendingCommit, current_hold
from ._errors import EmptyEventNameError, EventSystemError
from ._event import Event, is_event_class
from ._interception import Stage
from ._registry import RegistrySnapshot
from ._suppression import muted_owners, showing_suppressed

if TYPE_CHECKING:
    from ._bus import Bus

__all__ = [
    "DispatchObserver",
    "DispatchStatus",
    "EventMatcher",
    "EventTarget",
    "MockSession",
    "MockUsageError",
    "RecordedEvent",
    "attach_observer",
    "current_session",
    "describe_dispatched",
    "drain_quietly",
    "expect",
    "mocks_dispatch",
    "suggest_name",
    "swallowed",
]

_F = TypeVar("_F", bound=Callable[..., object])

EventTarget = Union[str, "re.Pattern[str]", type[Event]]
"""What the testing helpers accept to pick events: an exact event name, a compiled regular
expression (matched with ``fullmatch``) or an Event class (its instances)."""


class MockUsageError(EventSystemError, RuntimeError):
    """A testing helper was used where it cannot work, like ``Expect`` outside a mocked test."""


DispatchStatus = Literal["delivered", "held", "discarded", "withheld", "suppressed"]
"""What became of a recorded dispatch (see :attr:`RecordedEvent.status`)."""


@dataclass(frozen=True)
class RecordedEvent:
    """One dispatch, as the testing helpers saw it."""

    name: str
    """The event name."""
    event: Event | None
    """The Event instance, or ``None`` when a name was dispatched."""
    args: tuple[Any, ...]
    """The positional arguments given after the name or the Event instance."""
    kwargs: dict[str, Any]
    """The keyword arguments given to ``Dispatch``."""
    delivered: bool
    """Whether the event went on to its listeners (``False`` when it was expected, faked or muted),
    at once or once its transaction commits (see :attr:`status`)."""
    hold: PendingCommit | None = field(default=None, compare=False, repr=False)
    """The transaction that the event, or its share for after-commit handlers, waits for; ``None``
    when nothing of it was held."""
    suppressed: bool = False
    """Whether ``without_events`` kept it from being dispatched at all (``delivered`` is then ``False``)."""
    muted: tuple[type, ...] = ()
    """The classes (Observers, EventSubscribers) whose handlers ``without_events`` kept it from."""

    @property
    def status(self) -> DispatchStatus:
        """What became of the dispatch, as it stands now.

        ``"suppressed"``: ``without_events`` kept it from being dispatched at all.
        ``"withheld"``: a testing helper kept it from its listeners (expected, faked, muted).
        ``"held"``: it was dispatched inside a transaction that has not committed yet, and it
        (an ``after_commit`` Event class) or its share for after-commit handlers waits for the
        commit. ``"discarded"``: that transaction, or the savepoint it was dispatched in, rolled
        back, so what waited was dropped. ``"delivered"``: it went on to its listeners (after the
        commit, for what was held).
        """
        if self.suppressed:
            return "suppressed"
        if not self.delivered:
            return "withheld"
        if self.hold is None:
            return "delivered"
        state = self.hold.state
        return "delivered" if state == "released" else state


class EventMatcher:
    """A checked :data:`EventTarget`: tells whether a dispatch is the one the target names.

    :raises TypeError: the target is not a str, a compiled regex or an Event class.
    :raises EmptyEventNameError: the target is an empty name.
    """

    __slots__ = ("_event_class", "_name", "_regex", "target")

    def __init__(self, target: EventTarget) -> None:
        self.target: EventTarget = target
        self._name: str | None = None
        self._regex: re.Pattern[str] | None = None
        self._event_class: type[Event] | None = None
        value: object = target  # typed, but checked: a wrong target is a common slip in tests
        if isinstance(value, str):
            if not value:
                raise EmptyEventNameError("an event name to look for cannot be empty")
            self._name = str(value)
        elif isinstance(value, re.Pattern):
            if not isinstance(value.pattern, str):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise TypeError(f"a regular expression target must match str, not bytes: {value!r}")
            self._regex = value
        elif is_event_class(value):
            self._event_class = value
            self._name = value.__event_name__
        elif isinstance(value, Event):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"expected an Event class, not the instance {value!r}; pass {type(value).__name__} itself")
        else:
            raise TypeError(
                "an event target must be an event name (str), a compiled regular expression (re.compile(...)) "
                f"or an Event class, not {value!r} ({type(value).__name__})"
            )

    @property
    def name(self) -> str | None:
        """The exact event name this target stands for; ``None`` for a regular expression."""
        return self._name

    def matches(self, name: str, event: Event | None) -> bool:
        """Whether a dispatch of ``name`` (with ``event``, the Event instance or ``None``) is this target."""
        if self._event_class is not None:
            return name == self._name and isinstance(event, self._event_class)
        if self._regex is not None:
            return self._regex.fullmatch(name) is not None
        return name == self._name

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EventMatcher):
            return NotImplemented
        return type(self.target) is type(other.target) and self.target == other.target

    def __hash__(self) -> int:
        return hash(self.target)

    def __str__(self) -> str:
        if self._event_class is not None:
            return f"{self._event_class.__name__} ({self._name!r})"
        if self._regex is not None:
            return f"re.compile({self._regex.pattern!r})"
        return repr(self._name)

    def __repr__(self) -> str:
        return f"<EventMatcher {self}>"


def suggest_name(matcher: EventMatcher, records: Iterable[RecordedEvent]) -> str:
    """Return a hint for a target that was not found among ``records``: a near name, or ``""``."""
    records = list(records)
    name = matcher.name
    if name is None:
        return ""
    if isinstance(matcher.target, type) and any(record.name == name for record in records):
        return f" (dispatched as the name {name!r}, not as an instance of {matcher.target.__name__})"
    # Higher than difflib's 0.6: event names share long prefixes (``orders::``), which make
    # different events look alike; 0.85 still catches a swapped or missing letter.
    close = difflib.get_close_matches(name, list(dict.fromkeys(record.name for record in records)), n=1, cutoff=0.85)
    return f" (did you mean {close[0]!r}?)" if close else ""


def describe_dispatched(records: Iterable[RecordedEvent], *, indent: str = "  - ") -> str:
    """List the names in ``records``, each once, in the order first dispatched, with counts."""
    counts = collections.Counter(record.name for record in records)
    if not counts:
        return "nothing was dispatched"
    lines = [f"{indent}{name!r}" + (f" ({count} times)" if count > 1 else "") for name, count in counts.items()]
    return "\n".join(lines)


class DispatchObserver(Protocol):
    """What the tap calls for every dispatch while the observer is attached."""

    def swallows(self, name: str, event: Event | None) -> bool:
        """Whether the dispatch must not reach its listeners."""
        ...

    def observe(self, record: RecordedEvent) -> None:
        """See the dispatch (``record.delivered`` says whether any observer swallowed it)."""


class _Tap:
    """The one interceptor that a dispatcher has while observers are attached."""

    def __init__(self) -> None:
        self.observers: tuple[DispatchObserver, ...] = ()
        self.sessions: list[MockSession] = []
        self.interception: Any = None

    def __call__(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], event: Event | None) -> bool:
        observers = self.observers
        # Every observer is asked (no short-circuit), so that each one sees the same verdict.
        swallowed = False
        for observer in observers:
            if observer.swallows(name, event):
                swallowed = True
        if event is not None:
            args = args[1:]  # the dispatcher passes the instance first; the record keeps it apart
        suppressed = showing_suppressed()
        record = RecordedEvent(
            name,
            event,
            args,
            dict(kwargs),
            delivered=not (swallowed or suppressed),
            hold=current_hold(),
            suppressed=suppressed,
            muted=muted_owners(name, event),
        )
        for observer in observers:
            observer.observe(record)
        return swallowed


_taps: weakref.WeakKeyDictionary[Bus, _Tap] = weakref.WeakKeyDictionary()
_taps_lock = threading.Lock()


def _tap_for(dispatcher: Bus) -> _Tap:
    tap = _taps.get(dispatcher)
    if tap is None:
        tap = _taps[dispatcher] = _Tap()
    return tap


def attach_observer(dispatcher: Bus, observer: DispatchObserver) -> Callable[[], None]:
    """Show every dispatch on ``dispatcher`` to ``observer`` until the returned callable is called.

    Observers see dispatches in the order they were attached. Detaching twice is harmless.
    """
    with _taps_lock:
        tap = _tap_for(dispatcher)
        tap.observers = (*tap.observers, observer)
        if tap.interception is None:
            tap.interception = dispatcher.interceptors.add(tap, Stage.OBSERVE)

    def detach() -> None:
        with _taps_lock:
            tap.observers = tuple(o for o in tap.observers if o is not observer)
            if not tap.observers and tap.interception is not None:
                # Without observers the tap goes away, so that Dispatch takes its fast path again.
                tap.interception.cancel()
                tap.interception = None

    return detach


def swallowed(dispatcher: Bus, name: str, event: Event | None) -> bool:
    """Whether the observers attached to ``dispatcher`` will keep this dispatch from its listeners.

    Asked ahead of the tap by what must act at dispatch only for an event that is delivered (the
    outbox); asking has no effect on the observers.
    """
    tap = _taps.get(dispatcher)
    if tap is None or tap.interception is None:
        return False
    return any(observer.swallows(name, event) for observer in tap.observers)


def drain_quietly(dispatcher: Bus, *, failed: bool) -> None:
    """Drain ``dispatcher``; when the code under test ``failed``, drain errors must not mask its error."""
    if failed:
        # The test already failed: its own error is the one to report, not what its leftover
        # events did. Draining still matters, so that they do not reach the next test.
        with contextlib.suppress(Exception):
            dispatcher.ClearQueue()
    else:
        dispatcher.ClearQueue()


class MockSession:
    """A mocked test: events that are expected are recorded and not delivered; the rest run as usual.

    On exit it drains the queue (so no expectation races it), puts the handlers back as they were
    when it began (those registered inside it are unregistered, those it cancelled come back, in
    their order), and raises :class:`AssertionError` if an expected event never came.
    """

    def __init__(self, dispatcher: Bus) -> None:
        self.dispatcher = dispatcher
        self.expected: list[EventMatcher] = []
        self.records: list[RecordedEvent] = []
        self._before: RegistrySnapshot | None = None
        self._detach: Callable[[], None] | None = None

    # -- the observer -----------------------------------------------------------------------

    def swallows(self, name: str, event: Event | None) -> bool:
        """Expected events do not reach their listeners."""
        return any(matcher.matches(name, event) for matcher in self.expected)

    def observe(self, record: RecordedEvent) -> None:
        """Keep every dispatch, for the expectations and for the failure message."""
        self.records.append(record)

    # -- expectations -----------------------------------------------------------------------

    def expect(self, target: EventTarget) -> None:
        """Mark ``target`` as expected: it must be dispatched before the session ends."""
        matcher = EventMatcher(target)
        if matcher not in self.expected:
            self.expected.append(matcher)

    def missing(self) -> list[EventMatcher]:
        """The expected targets that were not dispatched."""
        records = self.records
        return [m for m in self.expected if not any(m.matches(r.name, r.event) for r in records)]

    def verify(self) -> None:
        """Raise :class:`AssertionError` naming every expected event that was not dispatched."""
        __tracebackhide__ = True  # pytest shows the test's frame, not this one
        missing = self.missing()
        if not missing:
            return
        count = len(missing)
        lines = [f"{count} expected event{'s were' if count > 1 else ' was'} not dispatched:"]
        lines.extend(f"  - {matcher}{suggest_name(matcher, self.records)}" for matcher in missing)
        if self.records:
            lines.append("Dispatched instead:")
            lines.append(describe_dispatched(self.records))
        else:
            lines.append("Nothing was dispatched.")
        raise AssertionError("\n".join(lines))

    # -- the context ------------------------------------------------------------------------

    def __enter__(self) -> MockSession:
        self._before = self.dispatcher.registry.snapshot()
        self._detach = attach_observer(self.dispatcher, self)
        with _taps_lock:
            _tap_for(self.dispatcher).sessions.append(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        __tracebackhide__ = True
        try:
            # Still observing: events that handlers dispatch while the queue drains count too.
            drain_quietly(self.dispatcher, failed=exc_type is not None)
        finally:
            if self._detach is not None:
                self._detach()
            with _taps_lock:
                sessions = _tap_for(self.dispatcher).sessions
                if self in sessions:
                    sessions.remove(self)
            if self._before is not None:
                self.dispatcher.registry.restore(self._before)
            self._before = None
        if exc_type is None:
            self.verify()


def current_session(dispatcher: Bus) -> MockSession | None:
    """The innermost mocked test running on ``dispatcher``, if any."""
    tap = _taps.get(dispatcher)
    if tap is None or not tap.sessions:
        return None
    return tap.sessions[-1]


def expect(dispatcher: Bus, target: EventTarget) -> None:
    """Mark ``target`` as expected in the innermost mocked test on ``dispatcher``.

    :raises MockUsageError: no test decorated with ``MocksDispatch`` is running.
    """
    matcher = EventMatcher(target)  # a bad target is reported first: it is the more useful error
    session = current_session(dispatcher)
    if session is None:
        raise MockUsageError(
            f"Expect({matcher}) works only inside a test decorated with @Dispatcher.MocksDispatch, "
            "and no such test is running"
        )
    session.expect(matcher.target)


def mocks_dispatch(dispatcher: Bus, func: _F) -> _F:
    """Wrap a test function (sync or ``async def``) so that it runs inside a :class:`MockSession`.

    :raises TypeError: ``func`` is a class or not callable.
    """
    if isinstance(func, type):
        raise TypeError(
            f"MocksDispatch decorates a test function or method, not the class {func.__qualname__}; "
            "decorate each test method instead"
        )
    if not callable(func):
        raise TypeError(f"MocksDispatch decorates a test function or method, not {func!r}")

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            with MockSession(dispatcher):
                return await func(*args, **kwargs)

        return cast("_F", async_wrapper)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with MockSession(dispatcher):
            return func(*args, **kwargs)

    return cast("_F", wrapper)
