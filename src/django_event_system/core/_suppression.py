"""``without_events``: quiet code, scoped to the running greenlet, thread or asyncio task.

A scope is a context variable: code that runs elsewhere (another thread, another greenlet,
an asyncio task created outside the block, the delivery greenlets that run handlers) is not in
it. Nested scopes combine. While at least one scope is open anywhere in the process, every live
dispatcher has one more interceptor, at the ``SUPPRESS`` stage, first of all; with no scope
open it has none, so dispatch costs what it costs without this module. The interceptor reads
the context variable once per dispatch, and does nothing more outside a scope.

What a target suppresses:

- a whole event (an Event class, a pattern, and what adapters add: a model, an action): the
  event is not dispatched at all, in the dispatching code's stack, before the queued handlers'
  check and the after-commit gate see it. The testing helpers still see it, as ``suppressed``.
- the handlers of a class (an EventSubscriber, and what adapters add: an Observer): the event
  is dispatched, and only that class's handlers (its subclasses' too) skip it. The decision is
  taken at dispatch, in the scope, and travels with the event to the handlers, which run later:
  on the Event instance, or in the name of a string event (a marked ``str``), which the
  dispatcher dispatches again. A queued handler of a muted class sends nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import inspect
import re
import threading
import weakref
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from ._commit import current_hold, hold_again
from ._config import live_dispatchers
from ._errors import InvalidPatternError
from ._event import Event, is_event_class
from ._interception import Interception, Interceptor, Stage

if TYPE_CHECKING:
    from ._bus import Bus

__all__ = [
    "QuietScope",
    "Suppression",
    "add_target_resolver",
    "is_muted",
    "is_quiet",
    "muted_owners",
    "showing_suppressed",
    "without_events",
]

_F = TypeVar("_F", bound=Callable[..., Any])

_MUTED = "_event_system_muted"


@dataclasses.dataclass(frozen=True)
class Suppression:
    """What one target of :func:`without_events` stands for.

    ``kind`` is ``"events"`` (``matches(name)`` says which events are not dispatched at all) or
    ``"handlers"`` (the handlers of ``owner`` and its subclasses skip the events).
    """

    kind: Literal["events", "handlers"]
    description: str
    matches: Callable[[str], bool] | None = None
    owner: type | None = None


TargetResolver = Callable[[object], "Suppression | tuple[Literal['handlers'], type] | None"]
"""Called with a target; returns what it stands for, or ``None`` when it is not one of its kinds."""

_resolvers: list[TargetResolver] = []


def add_target_resolver(resolver: TargetResolver) -> None:
    """Let ``without_events`` accept more targets (the Django adapter adds models, actions and
    Observers). Resolvers added later are asked first, before the core's own kinds."""
    _resolvers.insert(0, resolver)


def _resolve(target: object) -> Suppression:
    for resolver in _resolvers:
        found = resolver(target)
        if found is None:
            continue
        if isinstance(found, Suppression):
            return found
        _, owner = found
        return Suppression("handlers", f"the handlers of {owner.__qualname__}", owner=owner)
    if is_event_class(target):
        name = target.__event_name__
        return Suppression("events", f"{target.__name__} ({name!r})", matches=name.__eq__)
    if isinstance(target, re.Pattern):
        pattern = cast("re.Pattern[Any]", target)  # type: ignore[redundant-cast]
        if not isinstance(pattern.pattern, str):
            raise TypeError(f"without_events() takes a regular expression of str, not bytes: {pattern!r}")
        return Suppression("events", f"re.compile({pattern.pattern!r})", matches=_fullmatch(pattern))
    if isinstance(target, str):
        if not target:
            raise ValueError("without_events() takes non-empty patterns; give no target to suppress every event")
        try:
            compiled = re.compile(target)
        except re.error as exc:
            raise InvalidPatternError(target, exc) from None
        return Suppression("events", f"the pattern {target!r}", matches=_fullmatch(compiled))
    if isinstance(target, Event):
        raise TypeError(
            f"without_events() takes Event classes, not the instance {target!r}; pass {type(target).__name__}"
        )
    if not isinstance(target, type) and any(resolver(type(target)) is not None for resolver in _resolvers):
        raise TypeError(f"without_events() takes classes, not the instance {target!r}; pass {type(target).__name__}")
    raise TypeError(
        "without_events() takes Event classes, patterns (str or re.compile), EventSubscriber classes, and with "
        f"Django model classes, actions ('created') and Observer classes; not {target!r} ({type(target).__name__})"
    )


def _fullmatch(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    def matches(name: str) -> bool:
        return pattern.fullmatch(name) is not None

    return matches


@dataclasses.dataclass(frozen=True)
class _Scope:
    everything: bool
    events: tuple[Suppression, ...]
    owners: tuple[type, ...]

    def combined(self, other: _Scope | None) -> _Scope:
        if other is None:
            return self
        return _Scope(
            self.everything or other.everything,
            (*other.events, *(s for s in self.events if s not in other.events)),
            (*other.owners, *(o for o in self.owners if o not in other.owners)),
        )

    def suppresses(self, name: str) -> bool:
        if self.everything:
            return True
        return any(s.matches is not None and s.matches(name) for s in self.events)


_scope: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("without_events", default=None)
_showing: contextvars.ContextVar[bool] = contextvars.ContextVar("showing_suppressed", default=False)
_muted_events: weakref.WeakKeyDictionary[Event, tuple[type, ...]] = weakref.WeakKeyDictionary()


class _MutedName(str):
    """An event name that carries the classes whose handlers skip this dispatch."""

    _event_system_muted: tuple[type, ...]

    def __str__(self) -> str:
        # The dispatcher turns a str subclass into a str with str(): this keeps the marker.
        return self


def is_muted(owner: type, name: str, args: tuple[Any, ...]) -> bool:
    """Whether the handlers of ``owner`` skip this delivery (see the module docstring).

    Read where the handler is called, from what the dispatch carries: a plain name and no Event
    instance cost one type check.
    """
    if type(name) is not str:
        owners: tuple[type, ...] | None = getattr(name, _MUTED, None)
        if owners and issubclass(owner, owners):
            return True
    if _muted_events and args and isinstance(args[0], Event):
        owners = _muted_events.get(args[0])
        if owners and issubclass(owner, owners):
            return True
    return False


def is_quiet(owner: type, name: str) -> bool:
    """Whether a scope open in the running code keeps the event ``name`` from the handlers of
    ``owner``: suppressed, or ``owner`` muted. For the handlers an adapter calls in the
    dispatching code's stack (a model's inline hooks); outside a scope it reads one context
    variable."""
    scope = _scope.get()
    if scope is None:
        return False
    return scope.suppresses(name) or (bool(scope.owners) and issubclass(owner, scope.owners))


def muted_owners(name: str, event: Event | None) -> tuple[type, ...]:
    """The classes whose handlers skip this dispatch (for the testing helpers' records)."""
    if type(name) is not str:
        owners: tuple[type, ...] | None = getattr(name, _MUTED, None)
        if owners:
            return owners
    if event is not None and _muted_events:
        return _muted_events.get(event, ())
    return ()


def showing_suppressed() -> bool:
    """Whether the dispatch being shown to the ``OBSERVE`` interceptors was suppressed."""
    return _showing.get()


# -- the interceptor, installed while a scope is open -----------------------------------------

_lock = threading.Lock()
_open = [0]
_installed: weakref.WeakKeyDictionary[Bus, Interception] = weakref.WeakKeyDictionary()


def _interceptor_for(dispatcher: Bus) -> Interceptor:
    bus = weakref.ref(dispatcher)
    get_scope = _scope.get

    def without_events_scope(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], event: Event | None) -> bool:
        scope = get_scope()
        if scope is None:
            return False
        current = bus()
        if current is None:  # pragma: no cover - it is dispatching, so it is alive
            return False
        if scope.suppresses(name):
            token = _showing.set(True)
            try:
                for interceptor in current.interceptors.at(Stage.OBSERVE):
                    interceptor(name, args, kwargs, event)
            finally:
                _showing.reset(token)
            return True
        if not scope.owners:
            return False
        if event is not None:
            _muted_events[event] = scope.owners
            return False
        if type(name) is not str:
            # Marked already (by this scope, or another stage's marker such as a held name):
            # the marker is kept on the very object the handlers receive.
            if getattr(name, _MUTED, None) is None:
                with contextlib.suppress(AttributeError):  # a str subclass with __slots__
                    setattr(name, _MUTED, scope.owners)
            return False
        marked = _MutedName(name)
        setattr(marked, _MUTED, scope.owners)  # the attribute's name is shared with is_muted
        if current_hold() is not None:
            # Shown by the after-commit gate while it holds an adapter's event: held again, marked.
            return hold_again(current, marked, args, kwargs, event)
        current.Dispatch(marked, *args, **kwargs)
        return True

    return without_events_scope


def _install() -> None:
    for dispatcher in live_dispatchers():
        if dispatcher not in _installed:
            _installed[dispatcher] = dispatcher.interceptors.add(_interceptor_for(dispatcher), Stage.SUPPRESS)


def _uninstall() -> None:
    for dispatcher, interception in list(_installed.items()):
        interception.cancel()
        del _installed[dispatcher]


class QuietScope:
    """What :func:`without_events` returns: a context manager, and a decorator of functions
    (``def`` and ``async def``), each call of which runs in a scope of its own."""

    __slots__ = ("_scope", "_tokens", "targets")

    def __init__(self, targets: tuple[object, ...]) -> None:
        self.targets: tuple[object, ...] = targets
        """The targets, as given."""
        resolved = [_resolve(target) for target in targets]
        self._scope = _Scope(
            not targets,
            tuple(s for s in resolved if s.kind == "events"),
            tuple(s.owner for s in resolved if s.kind == "handlers" and s.owner is not None),
        )
        self._tokens: list[contextvars.Token[_Scope | None]] = []

    def __enter__(self) -> QuietScope:
        with _lock:
            _open[0] += 1
            _install()
        self._tokens.append(_scope.set(self._scope.combined(_scope.get())))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _scope.reset(self._tokens.pop())
        with _lock:
            _open[0] -= 1
            if not _open[0]:
                _uninstall()

    def __call__(self, func: _F) -> _F:
        given: object = func  # typed, but checked: a class or a value is a common slip
        if not callable(given) or isinstance(given, type):
            raise TypeError(f"without_events(...) decorates a function, not {func!r}")
        targets = self.targets
        if inspect.iscoroutinefunction(func):
            coroutine_function = cast("Callable[..., Coroutine[Any, Any, Any]]", func)

            @functools.wraps(func)
            async def quiet_coroutine(*args: Any, **kwargs: Any) -> Any:
                with QuietScope(targets):
                    return await coroutine_function(*args, **kwargs)

            return cast("_F", quiet_coroutine)

        @functools.wraps(func)
        def quiet(*args: Any, **kwargs: Any) -> Any:
            with QuietScope(targets):
                return func(*args, **kwargs)

        return cast("_F", quiet)

    def __repr__(self) -> str:
        described = ", ".join(s.description for s in self._scope.events) or ""
        owners = ", ".join(owner.__qualname__ for owner in self._scope.owners)
        inner = "every event" if self._scope.everything else "; ".join(p for p in (described, owners) if p)
        return f"<without_events {inner}>"


def without_events(*targets: object) -> QuietScope:
    """Dispatch nothing of ``targets`` inside the block, or the decorated function::

        with without_events(Example):           # a model: none of its events
            Example.objects.create(name="quiet")

        @without_events("created", AuditObserver)
        def import_rows(rows): ...

    Targets: an Event class, a pattern (a regular expression of names, a str or
    ``re.compile(...)``), an EventSubscriber class; with the Django adapter also a model class,
    an action (a str that is the name of a model action, like ``"created"``, is an action, never
    a pattern) and an Observer class. No target: every event. An Event class, a pattern, a model
    or an action keeps the event from being dispatched at all; an Observer or an EventSubscriber
    class mutes that class's handlers alone.

    The scope is the running greenlet, thread or asyncio task (a context variable), not the
    process; scopes nest and combine. The events that the handlers of other events dispatch run
    in delivery greenlets, outside the scope.

    :raises TypeError: a target is none of these kinds (an instance, a number...).
    :raises ValueError: a pattern is empty.
    :raises InvalidPatternError: a pattern is not a valid regular expression.
    """
    return QuietScope(targets)
