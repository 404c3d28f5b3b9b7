"""The events panel for django-debug-toolbar: what the current request dispatched, and what its
handlers did.

Add it to the toolbar's panels (the ``debug-toolbar`` extra installs django-debug-toolbar)::

    DEBUG_TOOLBAR_PANELS = [
        *debug_toolbar.settings.PANELS_DEFAULTS,
        "django_event_system.debug_toolbar.EventsPanel",
    ]

For each event the request dispatched (the events its handlers dispatched in turn included), the
panel shows its handlers in the order they run, and for each one whether it was called, how long
it took and what it raised; how long the event waited in the queue; which handlers wait for the
transaction's commit (or were dropped by its rollback); which are queued (their message goes to a
worker); and the events that no handler received.

How it knows: while the request runs, an interceptor on the global ``Dispatcher`` (the
dispatcher's interception seam, where the testing helpers record dispatches) records each
dispatch made by the request, or by a handler of one of its events. Handlers run later, in
delivery greenlets; a handling observer of the core (``add_handling_observer``) follows each
delivery of those events and times each handler. When the toolbar collects the panels' data,
after the view returned, the panel waits a little (``DEBUG_TOOLBAR_CONFIG["EVENTS_PANEL_WAIT"]``
seconds, 1 by default) for the request's events to be handled, giving the thread's gevent hub its
turns (the handlers then run before the response is sent, not after it as without the toolbar);
whatever is still not handled then is shown as pending. Nothing of this is installed while no
panel records a request: the dispatcher keeps its fast path.

Only the global ``Dispatcher`` is watched (the one Event classes, listeners and Observers use
unless told otherwise), and only synchronous requests (the panel is off for ASGI requests).
"""

from __future__ import annotations

import contextvars
import itertools
import re
import reprlib
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any, cast

import gevent
from debug_toolbar.panels import Panel
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

from .core import Dispatcher, Event, EventDispatcher, QueuedHandler, describe_handler
from .core.integration import (
    DeliveryObserver,
    HoldState,
    Interception,
    PendingCommit,
    add_handling_observer,
    current_hold,
    handler_target,
    holds_for_commit,
)

__all__ = ["EventsPanel"]

WAIT_SETTING = "EVENTS_PANEL_WAIT"
DEFAULT_WAIT = 1.0

_perf_counter = time.perf_counter
_repr = reprlib.Repr()
_repr.maxstring = 120
_repr.maxother = 120
_repr.maxlevel = 3


def _shown(value: object) -> str:
    try:
        return _repr.repr(value)
    except Exception as exc:  # a broken __repr__ must not break the panel
        return f"<unrepresentable {type(value).__name__}: {exc}>"


def _same_handler(a: object, b: object) -> bool:
    """Whether two callables stand for the same user handler (bound methods compare equal, not identical)."""
    first, second = handler_target(a), handler_target(b)
    try:
        return bool(first is second or first == second)
    except Exception:
        return False


class _Row:
    """One handler of one dispatch, as it stood at the dispatch."""

    __slots__ = ("after_commit", "error", "finished", "handler", "name", "pattern", "priority", "queued", "started")

    def __init__(self, handler: object, name: str, pattern: str, priority: int, *, after_commit: bool) -> None:
        self.handler = handler
        self.name = name
        self.pattern = pattern
        self.priority = priority
        self.after_commit = after_commit
        self.queued = isinstance(handler, QueuedHandler)
        self.started: float | None = None
        self.finished: float | None = None
        self.error: BaseException | None = None


class _Delivery(DeliveryObserver):
    """One delivery of a recorded dispatch, followed in its delivery greenlet."""

    def __init__(self, record: _Dispatch, handlers: Sequence[object], token: contextvars.Token[_Scope | None]) -> None:
        self.record = record
        self.handlers = list(handlers)
        self.started = _perf_counter()
        self.after_commit = record.hold is not None and bool(handlers) and all(record.held(h) for h in handlers)
        self.done = False
        self.stopped = False
        self._token = token

    def handled(self, handler: object, started: float, finished: float, error: BaseException | None) -> None:
        row = self.record.row_for(handler)
        row.started, row.finished, row.error = started, finished, error

    def finished(self, stopped: bool) -> None:
        self.done = True
        self.stopped = stopped
        _scope.reset(self._token)


class _Dispatch:
    """One dispatch made by the request (or by a handler of one of its events)."""

    def __init__(
        self,
        collector: _Collector,
        number: int,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        event: Event | None,
        parent: _Dispatch | None,
    ) -> None:
        self.collector = collector
        self.number = number
        self.name = name
        self.event = event
        self.args = args[1:] if event is not None else args
        self.kwargs = kwargs
        self.parent = parent
        self.at = _perf_counter()
        self.hold: PendingCommit | None = current_hold()
        self.whole = event is not None and type(event).after_commit is True
        self.rows: list[_Row] = []
        for registration in Dispatcher.registry.registrations_for(name):
            handler = registration.handler
            held = self.whole or registration.after_commit or holds_for_commit(handler)
            self.rows.append(
                _Row(handler, describe_handler(handler), registration.pattern, registration.priority, after_commit=held)
            )
        self.deliveries: list[_Delivery] = []

    def held(self, handler: object) -> bool:
        return self.row_for(handler).after_commit

    def row_for(self, handler: object) -> _Row:
        for row in self.rows:
            if _same_handler(row.handler, handler):
                return row
        # Registered after the dispatch: shown all the same, last.
        row = _Row(handler, describe_handler(handler), "", 0, after_commit=self.hold is not None)
        self.rows.append(row)
        return row

    @property
    def hold_state(self) -> HoldState | None:
        return None if self.hold is None else self.hold.state

    def status_of(self, row: _Row) -> str:
        """``ok``, ``failed``, ``pending``, ``waiting`` (for the commit), ``dropped`` (rolled back),
        ``stopped`` (propagation stopped before it) or ``skipped`` (not called otherwise)."""
        if row.finished is not None:
            return "failed" if row.error is not None else "ok"
        state = self.hold_state
        if row.after_commit and state == "held":
            return "waiting"
        if row.after_commit and state == "discarded":
            return "dropped"
        for delivery in self.deliveries:
            if delivery.done and delivery.after_commit == (row.after_commit and self.hold is not None):
                if any(_same_handler(row.handler, handler) for handler in delivery.handlers):
                    return "stopped" if delivery.stopped else "skipped"
                return "skipped"
        return "pending"

    @property
    def pending(self) -> bool:
        if not self.rows:
            return not any(delivery.done for delivery in self.deliveries)
        return any(self.status_of(row) == "pending" for row in self.rows)

    def stats(self) -> dict[str, Any]:
        """The dispatch as plain data, for the toolbar's store."""
        first = min((delivery.started for delivery in self.deliveries if not delivery.after_commit), default=None)
        rows: list[dict[str, Any]] = []
        for position, row in enumerate(self.rows, 1):
            status = self.status_of(row)
            rows.append(
                {
                    "position": position,
                    "handler": row.name,
                    # An Event class's handlers: the pattern is the name itself, not worth repeating.
                    "pattern": "" if row.pattern == re.escape(self.name) else row.pattern,
                    "priority": row.priority,
                    "after_commit": row.after_commit,
                    "queued": row.queued,
                    "status": status,
                    "milliseconds": None
                    if row.started is None or row.finished is None
                    else (row.finished - row.started) * 1000,
                    "error": None if row.error is None else f"{type(row.error).__name__}: {row.error}",
                    "traceback": None
                    if row.error is None
                    else "".join(traceback.format_exception(type(row.error), row.error, row.error.__traceback__)),
                }
            )
        handled_ms = sum(row["milliseconds"] or 0.0 for row in rows)
        notes: list[str] = []
        if self.event is not None:
            notes.append(type(self.event).__name__ + (", after_commit" if self.whole else ""))
        if self.parent is not None:
            notes.append(f"dispatched by a handler of #{self.parent.number}")
        if self.hold_state is not None:
            notes.append(f"in a transaction: {_TRANSACTION[self.hold_state]}")
        if not rows:
            notes.append("no handler received it")
        return {
            "number": self.number,
            "name": self.name,
            "event": None if self.event is None else type(self.event).__qualname__,
            "payload": _shown(self.event) if self.event is not None else None,
            "arguments": ", ".join(
                [*(_shown(arg) for arg in self.args), *(f"{key}={_shown(value)}" for key, value in self.kwargs.items())]
            ),
            "parent": None if self.parent is None else self.parent.number,
            "notes": notes,
            "at_ms": (self.at - self.collector.started) * 1000,
            "wait_ms": None if first is None else (first - self.at) * 1000,
            "handler_ms": handled_ms,
            "hold": None if self.hold_state is None else _TRANSACTION[self.hold_state],
            "after_commit_event": self.whole,
            "handlers": rows,
            "unhandled": not rows,
            "pending": self.pending,
            "failed": any(row["status"] == "failed" for row in rows),
        }


_TRANSACTION: dict[HoldState, str] = {"held": "still open", "released": "committed", "discarded": "rolled back"}


class _Scope:
    """Who a dispatch made here belongs to: a request, and the dispatch being handled, if any."""

    __slots__ = ("collector", "parent")

    def __init__(self, collector: _Collector, parent: _Dispatch | None) -> None:
        self.collector = collector
        self.parent = parent


_scope: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("django_event_system_panel", default=None)


class _Collector:
    """What one request dispatched, and what became of it."""

    def __init__(self, monitor: _Monitor) -> None:
        self.monitor = monitor
        self.started = _perf_counter()
        self.dispatches: list[_Dispatch] = []
        self._numbers = itertools.count(1)
        self._token: contextvars.Token[_Scope | None] | None = None
        self.closed = False

    def enter(self) -> None:
        self._token = _scope.set(_Scope(self, None))

    def leave(self) -> None:
        if self._token is not None:
            _scope.reset(self._token)
            self._token = None

    def record(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], event: Event | None, parent: _Dispatch | None
    ) -> _Dispatch:
        dispatch = _Dispatch(self, next(self._numbers), name, args, kwargs, event, parent)
        self.dispatches.append(dispatch)
        return dispatch

    @property
    def pending(self) -> bool:
        return any(dispatch.pending for dispatch in self.dispatches)

    def wait(self, seconds: float) -> None:
        """Give the hub turns until every dispatch is handled, or ``seconds`` have passed."""
        deadline = _perf_counter() + seconds
        while self.pending and _perf_counter() < deadline:
            gevent.sleep(0.001)


class _Monitor:
    """The interceptor and the handling observer, installed while a request is being recorded."""

    def __init__(self, dispatcher: EventDispatcher) -> None:
        self.dispatcher = dispatcher
        self._lock = threading.Lock()
        self._active = 0
        self._interception: Interception | None = None
        self._remove_observer: Callable[[], None] | None = None
        self._by_kwargs: dict[int, tuple[dict[str, Any], _Dispatch]] = {}

    def open(self) -> _Collector:
        with self._lock:
            if self._active == 0:
                self._interception = self.dispatcher.intercept(self._intercept)
                self._remove_observer = add_handling_observer(self)
            self._active += 1
        return _Collector(self)

    def close(self, collector: _Collector) -> None:
        if collector.closed:
            return
        collector.closed = True
        with self._lock:
            for dispatch in collector.dispatches:
                entry = self._by_kwargs.get(id(dispatch.kwargs))
                if entry is not None and entry[1] is dispatch:
                    del self._by_kwargs[id(dispatch.kwargs)]
            self._active -= 1
            if self._active == 0:
                if self._interception is not None:
                    self._interception.cancel()
                    self._interception = None
                if self._remove_observer is not None:
                    self._remove_observer()
                    self._remove_observer = None

    def _intercept(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], event: Event | None) -> bool:
        scope = _scope.get()
        if scope is None or scope.collector.closed:
            return False
        dispatch = scope.collector.record(name, args, kwargs, event, scope.parent)
        with self._lock:
            self._by_kwargs[id(kwargs)] = (kwargs, dispatch)
        return False

    def delivery(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        event: Event | None,
        handlers: Sequence[Callable[..., object]],
    ) -> DeliveryObserver | None:
        entry = self._by_kwargs.get(id(kwargs))
        if entry is None or entry[0] is not kwargs or entry[1].name != name:
            return None
        dispatch = entry[1]
        token = _scope.set(_Scope(dispatch.collector, dispatch))
        delivery = _Delivery(dispatch, handlers, token)
        dispatch.deliveries.append(delivery)
        return delivery


_monitors: dict[int, _Monitor] = {}
_monitors_lock = threading.Lock()


def _monitor() -> _Monitor:
    with _monitors_lock:
        monitor = _monitors.get(id(Dispatcher))
        if monitor is None:
            monitor = _monitors[id(Dispatcher)] = _Monitor(Dispatcher)
        return monitor


def _wait_setting(config: dict[str, Any]) -> float:
    value: object = config.get(WAIT_SETTING, DEFAULT_WAIT)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ImproperlyConfigured(
            f'DEBUG_TOOLBAR_CONFIG["{WAIT_SETTING}"] must be a number of seconds, 0 or more '
            f"(how long the events panel waits for the request's events to be handled), not {value!r}"
        )
    return float(value)


class EventsPanel(Panel):
    """The django-debug-toolbar panel of the events that the request dispatched.

    For each event: its handlers in the order they run, each one called or not, its time and
    its error; the event's wait in the queue; the after-commit and queued handlers; and the
    events that no handler received. Add ``"django_event_system.debug_toolbar.EventsPanel"`` to
    ``DEBUG_TOOLBAR_PANELS``; ``DEBUG_TOOLBAR_CONFIG["EVENTS_PANEL_WAIT"]`` (seconds, 1 by
    default) bounds how long it waits for the handlers before the toolbar shows it.
    """

    is_async = False

    # django-debug-toolbar's Panel is not annotated: pyright infers nav_subtitle's type from its
    # body (an empty string), which a real subtitle cannot match.

    @property
    def title(self) -> str:
        """The panel's heading."""
        return "Events"

    @property
    def template(self) -> str:
        """The template that renders the panel's content (from the recorded stats)."""
        return "django_event_system/debug_toolbar/events.html"

    _collector: _Collector | None = None
    _wait: float = DEFAULT_WAIT

    @property
    def nav_subtitle(self) -> str:  # pyright: ignore[reportIncompatibleMethodOverride]
        """The counts shown under the panel's name in the toolbar."""
        get_stats = cast("Callable[[], dict[str, Any]]", self.get_stats)
        stats = get_stats()
        events = len(stats.get("events", ()))
        failed = stats.get("failed", 0)
        pending = stats.get("pending", 0)
        words = [f"{events} event{'s' if events != 1 else ''}"]
        if failed:
            words.append(f"{failed} failed")
        if pending:
            words.append(f"{pending} pending")
        return ", ".join(words)

    def enable_instrumentation(self) -> None:
        """Start recording the request's dispatches (the toolbar calls this before the view)."""
        if self._collector is None:
            config = cast("dict[str, Any]", self.toolbar.config)  # pyright: ignore[reportUnknownMemberType]
            self._wait = _wait_setting(config)  # checked first: a bad value records nothing
            self._collector = _monitor().open()
            self._collector.enter()

    def disable_instrumentation(self) -> None:
        """Stop attributing new dispatches of this request's code (its handlers are still followed)."""
        if self._collector is not None:
            self._collector.leave()

    def generate_stats(self, request: HttpRequest, response: HttpResponse) -> None:
        """Wait (bounded) for the request's events to be handled, then keep what is known."""
        collector = self._collector
        if collector is None:
            return
        wait = self._wait
        try:
            collector.wait(wait)
        finally:
            events = [dispatch.stats() for dispatch in collector.dispatches]
            collector.monitor.close(collector)
            self._collector = None
        record_stats = cast("Callable[[dict[str, Any]], None]", self.record_stats)  # pyright: ignore[reportUnknownMemberType]
        record_stats(
            {
                "events": events,
                "handlers": sum(len(event["handlers"]) for event in events),
                "failed": sum(1 for event in events if event["failed"]),
                "pending": sum(1 for event in events if event["pending"]),
                "unhandled": sum(1 for event in events if event["unhandled"]),
                "wait_setting": wait,
            }
        )
