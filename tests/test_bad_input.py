"""One sweep over every public entry point: each wrong type or value gets its documented error.

Each row names the call, the exception class it must raise and the start of the message that
tells the user what was wrong. The behaviour of each entry point is tested in depth elsewhere;
this table is the one place that shows the whole public surface refuses bad input clearly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import post_save

from django_event_system import (
    CascadeDepthError,
    EmptyEventNameError,
    Event,
    EventDispatcher,
    EventListener,
    GetPathFromClass,
    InvalidEventError,
    InvalidHandlerError,
    InvalidPatternError,
    ListenerDefinitionError,
    Observer,
    RegisterSignalsFor,
    SignalToEvent,
    configure,
)
from django_event_system.testing import MockUsageError, fake_except, record_events
from django_event_system.transports.celery import drain_after_tasks
from tests.django.testapp.models import AbstractThing

_dispatcher = EventDispatcher()


class _Placed(Event):
    order_id: int


def _handler(name: str, *args: object) -> None:
    """A valid handler, for rows whose other argument is the bad one."""


def _listener(**body: Any) -> Callable[[], object]:
    def define() -> object:
        namespace = {"dispatcher": _dispatcher, "handle": lambda self, *a: None, **body}
        return type("BadListener", (EventListener,), namespace)

    return define


def _observer(**body: Any) -> Callable[[], object]:
    def define() -> object:
        return type("BadObserver", (Observer,), {"__module__": "tests.bad", **body})

    return define


def _deep() -> None:
    deep = EventDispatcher(max_depth=1, sync=True, error_policy="raise")

    def again(name: str) -> None:
        deep.Dispatch(name)

    deep.RegisterHandler("again", again)
    try:
        deep.Dispatch("again")
    except Exception as group:
        raise group.exceptions[0] from None  # type: ignore[attr-defined]


class _NoWeakReferences:
    """A callable whose instances cannot be referenced weakly."""

    __slots__ = ()

    def __call__(self, name: str) -> None:
        """Handle nothing."""


def _fake_except_without_targets() -> None:
    with fake_except(dispatcher=_dispatcher):
        pass


def _expect_outside_a_mocked_test() -> None:
    _dispatcher.Expect("orders::placed")


def _assert_dispatched_times(times: object) -> None:
    with record_events(dispatcher=_dispatcher) as recorder:
        recorder.assert_dispatched("x", times=times)  # type: ignore[call-overload]


Row = tuple[str, Callable[[], object], type[BaseException], str]

ROWS: list[Row] = [
    # -- the dispatcher ---------------------------------------------------------------------
    ("RegisterHandler: invalid regex", lambda: _dispatcher.RegisterHandler("orders::(", _handler),
     InvalidPatternError, "invalid event pattern 'orders::(': missing ), unterminated subpattern"),
    ("RegisterHandler: empty pattern", lambda: _dispatcher.RegisterHandler("", _handler),
     InvalidPatternError, "invalid event pattern '': the pattern is empty"),
    ("RegisterHandler: pattern of another type", lambda: _dispatcher.RegisterHandler(42, _handler),  # type: ignore[arg-type]
     TypeError, "an event pattern must be a str or an Event class, not 42"),
    ("RegisterHandler: handler not callable", lambda: _dispatcher.RegisterHandler("x", "nope"),  # type: ignore[arg-type]
     InvalidHandlerError, "a handler must be callable, got 'nope' for pattern 'x'"),
    ("RegisterHandler: priority not an int", lambda: _dispatcher.RegisterHandler("x", _handler, priority="1"),  # type: ignore[arg-type]
     TypeError, "priority must be an int, not '1'"),
    ("RegisterHandler: weak on an object without weak references",
     lambda: _dispatcher.RegisterHandler("x", _NoWeakReferences(), weak=True),
     InvalidHandlerError, "cannot hold <tests.test_bad_input._NoWeakReferences object at"),
    ("listen: invalid regex", lambda: _dispatcher.listen("[a-"),
     InvalidPatternError, "invalid event pattern '[a-'"),
    ("listen: target of another type", lambda: _dispatcher.listen(3.5),  # type: ignore[call-overload]
     TypeError, "listen() takes an event pattern (str) or an Event class, not 3.5"),
    ("Dispatch: empty name", lambda: _dispatcher.Dispatch(""),
     EmptyEventNameError, "an event name cannot be empty"),
    ("Dispatch: neither str nor Event", lambda: _dispatcher.Dispatch(7),  # type: ignore[call-overload]
     InvalidEventError, "Dispatch() takes an event name (str) or an Event instance, not 7 (int)"),
    ("Dispatch: an Event class instead of an instance", lambda: _dispatcher.Dispatch(_Placed),  # type: ignore[call-overload]
     InvalidEventError, "Dispatch() takes an Event instance, not the class _Placed; use _Placed.Dispatch(...)"),
    ("Dispatch: deeper than max_depth", _deep,
     CascadeDepthError, "event 'again' was dispatched at cascade depth 2, beyond max_depth=1"),
    ("EnsureQueueIsCleared: not callable", lambda: _dispatcher.EnsureQueueIsCleared(5),  # type: ignore[call-overload]
     TypeError, "EnsureQueueIsCleared decorates a callable, not 5"),
    ("EventDispatcher: pool_size 0", lambda: EventDispatcher(pool_size=0),
     ValueError, "pool_size must be a positive int, not 0"),
    ("EventDispatcher: unknown error policy", lambda: EventDispatcher(error_policy="ignore"),  # type: ignore[arg-type]
     ValueError, "error_policy must be 'log', 'raise' or a callable, not 'ignore'"),
    ("EventDispatcher: sync not a bool", lambda: EventDispatcher(sync="yes"),  # type: ignore[arg-type]
     TypeError, "sync must be a bool or None, not 'yes'"),
    ("EventDispatcher: max_depth 0", lambda: EventDispatcher(max_depth=0),
     ValueError, "max_depth must be a positive int, not 0"),
    ("EventDispatcher: cache_size 0", lambda: EventDispatcher(cache_size=0),
     ValueError, "cache_size must be at least 1, not 0"),
    ("configure: sync not a bool", lambda: configure(sync=1),  # type: ignore[arg-type]
     TypeError, "sync must be a bool, not 1"),
    ("GetPathFromClass: not a class", lambda: GetPathFromClass("OrderPlaced"),  # type: ignore[arg-type]
     TypeError, "GetPathFromClass() takes a class, not 'OrderPlaced'"),
    # -- Event classes ----------------------------------------------------------------------
    ("Event: empty Name", lambda: type("Nameless", (Event,), {"Name": ""}),
     TypeError, "Nameless.Name must be a non-empty str, not ''"),
    ("Event.Dispatch: arguments __init__ rejects", lambda: _Placed.Dispatch(1, 2),  # type: ignore[call-arg]
     TypeError, "_Placed.__init__() takes 2 positional arguments but 3 were given"),
    # -- EventListener classes --------------------------------------------------------------
    ("EventListener: no listensFor", _listener(),
     ListenerDefinitionError, "BadListener.listensFor must be defined with at least one event"),
    ("EventListener: listensFor empty", _listener(listensFor=[]),
     ListenerDefinitionError, "BadListener.listensFor must be defined with at least one event"),
    ("EventListener: listensFor a str", _listener(listensFor="orders::.*"),
     ListenerDefinitionError,
     "BadListener.listensFor must be a list of Event classes and pattern strings, not 'orders::.*'"),
    ("EventListener: entry of another type", _listener(listensFor=[_Placed, 42]),
     ListenerDefinitionError,
     "BadListener.listensFor entries must be Event classes or pattern strings, not 42"),
    ("EventListener: invalid regex", _listener(listensFor=["(("]),
     InvalidPatternError, "invalid event pattern '(('"),
    ("EventListener: no handle", lambda: type("NoHandle", (EventListener,), {"listensFor": ["x"]}),
     ListenerDefinitionError, "NoHandle must define handle(self, event, *args, **kwargs)"),
    # -- workers -----------------------------------------------------------------------------
    ("drain_after_tasks: timeout 0", lambda: drain_after_tasks(timeout=0),
     ValueError, "timeout must be None or a positive number of seconds, not 0"),
    # -- the Django adapter -----------------------------------------------------------------
    ("Observer: no observes", _observer(),
     ImproperlyConfigured, "tests.bad.BadObserver must set observes = <a model class>"),
    ("Observer: observes not a model", _observer(observes=dict),
     ImproperlyConfigured, "tests.bad.BadObserver.observes must be a concrete model class"),
    ("Observer: observes an abstract model", _observer(observes=AbstractThing),
     ImproperlyConfigured, "tests.bad.BadObserver.observes must be a concrete model class"),
    ("RegisterSignalsFor: not a model", lambda: RegisterSignalsFor(object),  # type: ignore[arg-type]
     TypeError, "RegisterSignalsFor() takes a concrete model class"),
    ("SignalToEvent: neither event nor hook", lambda: SignalToEvent(post_save),
     TypeError, "SignalToEvent() needs an event (a name or an Event class) or a hook that returns one"),
    ("SignalToEvent: not a signal", lambda: SignalToEvent("post_save", event="x"),  # type: ignore[arg-type]
     TypeError, "SignalToEvent() takes a django.dispatch.Signal, not 'post_save'"),
    ("SignalToEvent: hook not callable", lambda: SignalToEvent(post_save, hook="hook"),  # type: ignore[arg-type]
     TypeError, "the hook given to SignalToEvent() must be callable, not 'hook'"),
    ("SignalToEvent: event of another type", lambda: SignalToEvent(post_save, event=3),  # type: ignore[arg-type]
     TypeError, "SignalToEvent() takes an event name (str) or an Event class as event, not 3"),
    # -- the testing helpers ----------------------------------------------------------------
    ("Expect: outside a mocked test", _expect_outside_a_mocked_test,
     MockUsageError, "Expect('orders::placed') works only inside a test decorated with @Dispatcher.MocksDispatch"),
    ("MocksDispatch: a class", lambda: _dispatcher.MocksDispatch(dict),
     TypeError, "MocksDispatch decorates a test function or method, not the class dict"),
    ("fake_except: no target", _fake_except_without_targets,
     ValueError, "fake_except() needs at least one target"),
    ("assert_dispatched: negative times", lambda: _assert_dispatched_times(-1),
     ValueError, "times must be a non-negative int or None, not -1"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "error", "message"), [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_bad_input_gets_its_documented_error(
    call: Callable[[], object], error: type[BaseException], message: str
) -> None:
    """The call raises the documented exception, whose message starts with what went wrong."""
    with pytest.raises(error, match="^" + re.escape(message)):
        call()
    assert _dispatcher.pending_count() == 0  # nothing was queued by a refused call


def test_the_table_covers_every_layer() -> None:
    """The sweep reaches the core, Event and listener classes, the Django adapter and the testing helpers."""
    names = " ".join(row[0] for row in ROWS)
    for entry_point in ("RegisterHandler", "Dispatch", "listen", "EventListener", "Event", "Observer",
                        "RegisterSignalsFor", "SignalToEvent", "Expect", "MocksDispatch", "fake_except"):  # fmt: skip
        assert entry_point in names
