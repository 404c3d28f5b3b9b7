"""The Event base class: a named event with a typed payload.

An Event class's name is its own ``Name`` attribute, else ``GetPathFromClass(cls)``, and
``str(EventClass)`` is that name. Annotated fields make the class a dataclass, so its
``__init__`` (and ``EventClass.Dispatch``) is typed; a hand-written ``__init__`` is kept as is.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, cast, overload

from typing_extensions import ParamSpec, Self, TypeIs, dataclass_transform

from ._names import GetPathFromClass

if TYPE_CHECKING:
    from ._handlers import Handler
    from ._registry import Registration

__all__ = ["Event", "EventBus", "EventMeta", "is_event_class", "watch_event_classes"]

_P = ParamSpec("_P")
_E = TypeVar("_E", bound="Event")
# What an Event class's constructor returns: unbounded, since a classmethod's ``cls`` typed as a
# constructor (Callable[_P, _T]) has to accept type[T] for any T (pyright checks it).
_T = TypeVar("_T")


# The identity that every event carries (see Event.event_id); a subclass cannot redefine it.
_RESERVED = frozenset({"event_id", "occurred_at"})


class EventBus(Protocol):
    """What an Event class needs from its ``dispatcher``: an
    :class:`~django_event_system.core.EventDispatcher`, or anything with these two methods."""

    @overload
    def Dispatch(self, event: str, /, *args: Any, **kwargs: Any) -> None: ...

    @overload
    def Dispatch(self, event: _E, /, *args: Any, **kwargs: Any) -> _E: ...

    def Dispatch(self, event: str | Event, /, *args: Any, **kwargs: Any) -> Event | None:
        """Queue an event (a name or an Event instance); an instance is returned."""

    def RegisterHandler(
        self,
        pattern: str | type[Event],
        handler: Handler,
        *,
        priority: int = 0,
        once: bool = False,
        weak: bool = False,
        queued: Any = False,
        after_commit: bool = False,
    ) -> Registration:
        """Register a handler for a pattern or an Event class."""
        ...


ClassWatcher = Callable[["type[Event]", tuple[object, ...]], None]
"""Called as ``watcher(cls, previous_dispatchers)`` when an Event class is defined, or its
``after_commit`` or ``dispatcher`` changes."""

_watchers: list[ClassWatcher] = []


def watch_event_classes(watcher: ClassWatcher) -> None:
    """Call ``watcher`` for every Event class defined from now on, and when its options change.

    The after-commit gate uses it to know the classes whose events wait for the commit.
    """
    _watchers.append(watcher)


def _class_changed(cls: type[Event], *previous_dispatchers: object) -> None:
    for watcher in _watchers:
        watcher(cls, previous_dispatchers)


@dataclass_transform(eq_default=False)
class EventMeta(type):
    """Metaclass of :class:`Event`: makes ``str(EventClass)`` the event name and payloads typed."""

    __event_name__: str

    def __new__(
        mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], *, init: bool = True, **kwargs: Any
    ) -> EventMeta:
        if not isinstance(init, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"{name}: init must be True or False, not {init!r}")
        cls = super().__new__(mcs, name, bases, namespace, **kwargs)
        if bases:
            taken = _RESERVED.intersection([*namespace.get("__annotations__", {}), *namespace])
            if taken:
                raise TypeError(
                    f"{name} cannot define {', '.join(sorted(taken))}: Event reserves event_id and "
                    "occurred_at for its unique id and timestamp; name the field otherwise"
                )
        own_name = namespace.get("Name")
        if own_name is not None and (not isinstance(own_name, str) or not own_name):
            raise TypeError(f"{name}.Name must be a non-empty str, not {own_name!r}")
        for option in ("after_commit", "after_commit_using"):
            if option in namespace:
                _check_option(name, option, namespace[option])
        cls.__event_name__ = own_name or GetPathFromClass(cls)
        # eq=False: events keep identity semantics and stay hashable, as in 1.0.
        # init=False (the dataclass option, which the type checkers know too) keeps the inherited
        # __init__: pyright generates one for every class without its own, so a subclass of a
        # class with a hand-written __init__ that adds no field says init=False to it.
        dataclasses.dataclass(eq=False, init=init)(cast("type[Any]", cls))
        if init and "__init__" not in namespace and not dataclasses.fields(cast("type[Any]", cls)):
            # No fields to take: inherit __init__, so that a subclass of an event with a
            # hand-written __init__ keeps accepting its arguments (mypy sees it that way too).
            delattr(cls, "__init__")
        if bases:
            _class_changed(cast("type[Event]", cls))
        return cls

    def __setattr__(cls, attr: str, value: Any) -> None:
        if attr == "Name" and value is not None and (not isinstance(value, str) or not value):
            raise TypeError(f"{cls.__name__}.Name must be a non-empty str or None, not {value!r}")
        if attr in ("after_commit", "after_commit_using"):
            _check_option(cls.__name__, attr, value)
        previous = getattr(cls, "dispatcher", None) if attr == "dispatcher" else None
        super().__setattr__(attr, value)
        if attr == "Name":
            super().__setattr__("__event_name__", value or GetPathFromClass(cls))
        elif attr in ("after_commit", "dispatcher"):
            _class_changed(cast("type[Event]", cls), previous)

    def __str__(cls) -> str:
        return cls.__event_name__

    def __repr__(cls) -> str:
        return f"<Event class {cls.__event_name__!r}>"


def _check_option(class_name: str, option: str, value: object) -> None:
    if option == "after_commit" and not isinstance(value, bool):
        raise TypeError(f"{class_name}.after_commit must be True or False, not {value!r}")
    if option == "after_commit_using" and value is not None and (not isinstance(value, str) or not value):
        raise TypeError(
            f"{class_name}.after_commit_using must be a database alias (a non-empty str) or None, not {value!r}"
        )


class Event(metaclass=EventMeta):
    """Base class for events.

    Subclass it, optionally with typed fields::

        class OrderPlaced(Event):
            order_id: int
            total: Decimal

        OrderPlaced.Dispatch(order_id=7, total=Decimal("9.90"))

    ``Name`` sets the event name; without it the name is ``GetPathFromClass(cls)``. ``Name`` is
    read from the class itself, not inherited, so that a subclass never shares its parent's name.

    ``after_commit = True`` holds every delivery of the event, to every handler, until the
    transaction that dispatched it commits, and drops it if the transaction rolls back (see
    :attr:`after_commit`).
    """

    Name: ClassVar[str | None] = None
    dispatcher: ClassVar[EventBus]
    """The dispatcher that ``Dispatch`` and ``AddListener`` use; the global ``Dispatcher`` by default."""
    after_commit: ClassVar[bool] = False
    """``True``: dispatched inside a transaction, the event reaches its handlers (in-process and
    queued) only once the transaction commits; never if it rolls back (a rolled-back savepoint
    drops the events dispatched in it); at once outside a transaction. Needs an adapter that knows
    the transactions (the Django adapter); without one, the event goes at once. Inherited by
    subclasses.

    .. versionadded:: 2.0
    """
    after_commit_using: ClassVar[str | None] = None
    """The database whose transaction counts for this event (for itself when ``after_commit``, and
    for its after-commit handlers); ``None``: the adapter's default (with Django,
    ``DJANGO_EVENT_SYSTEM["QUEUED"]["DATABASE"]``, ``"default"`` unless set)."""

    _propagation_stopped: ClassVar[bool] = False

    if TYPE_CHECKING:

        @classmethod
        def _listened_by(cls, handler: Callable[[Self], object], /) -> None:
            """For the type checkers alone: the class is a target of the listeners whose ``handle``
            takes its instances (``EventListener[OrderPlaced]``'s ``listensFor``)."""

    @classmethod
    def GetEventName(cls) -> str:
        """Return this event class's name."""
        return cls.__event_name__

    get_event_name = GetEventName

    @classmethod
    def Dispatch(cls: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Build an instance from the arguments, dispatch it and return it.

        Handlers registered with ``RegisterHandler`` receive ``(name, event)``; EventListeners
        receive the event alone. If the arguments do not fit ``__init__``, the ``TypeError``
        reaches the caller and nothing is dispatched.
        """
        event = cls(*args, **kwargs)
        instance: Any = event  # an instance of the Event class that cls is
        instance.dispatcher.Dispatch(instance)
        return event

    dispatch = Dispatch

    @classmethod
    def DispatchAsync(cls: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Deprecated: an old name of :meth:`Dispatch`, which never blocks either.

        .. deprecated:: 2.0
        """
        warnings.warn(
            "Event.DispatchAsync() is deprecated: use Dispatch(), which never blocks either",
            DeprecationWarning,
            stacklevel=2,
        )
        event = cls(*args, **kwargs)
        instance: Any = event  # an instance of the Event class that cls is
        instance.dispatcher.Dispatch(instance)
        return event

    @classmethod
    def AddListener(
        cls: type[_E],
        handler: Callable[[str, _E], object],
        *,
        priority: int = 0,
        once: bool = False,
        weak: bool = False,
        after_commit: bool = False,
    ) -> Registration:
        """Register ``handler`` for this event; it is called as ``handler(name, event)``.

        The options are those of ``RegisterHandler``.
        """
        return cls.dispatcher.RegisterHandler(
            cls, handler, priority=priority, once=once, weak=weak, after_commit=after_commit
        )

    add_listener = AddListener

    def broadcast_on(self) -> Iterable[str]:
        """The channel-layer groups this event is broadcast to, once its transaction commits.

        Empty by default: the event is not broadcast. Override it to broadcast the class's events
        over Django Channels (``pip install "django-event-system[channels]"``)::

            def broadcast_on(self) -> list[str]:
                return [f"orders.{self.order_id}"]

        Each group receives ``{"type": "event.message", "event": name, "group": group, "payload":
        ...}`` after the commit, never after a rollback (see the how-to guide *Broadcasting to
        browsers*).

        .. versionadded:: 2.0
        """
        return ()

    def broadcast_payload(self) -> Mapping[str, object] | None:
        """What a broadcast of this event carries: a dict of JSON values.

        ``None`` (the default): the event's fields, each through the JSON codec of queued
        handlers (a ``Decimal`` arrives as ``{"$decimal": "9.90"}``). Called when the broadcast
        goes out, after the commit.

        .. versionadded:: 2.0
        """
        return None

    def stop_propagation(self) -> None:
        """Keep the handlers that come after the current one from receiving this event."""
        # Set through object.__setattr__: a class-level default, set per instance when stopped.
        object.__setattr__(self, "_propagation_stopped", True)

    @property
    def propagation_stopped(self) -> bool:
        """Whether a handler called :meth:`stop_propagation`."""
        return self._propagation_stopped

    @property
    def event_id(self) -> str:
        """This event's unique id (a UUID string): an idempotency key for queued handlers.

        It is given when first asked for (an event with queued handlers is asked when it is
        dispatched, or at the latest when it is sent) and never changes; a queued handler's
        worker receives the same id.
        """
        try:
            event_id: str = self.__dict__["_event_id"]
        except KeyError:
            event_id = self._identify()
        return event_id

    @property
    def occurred_at(self) -> datetime.datetime:
        """When the event got its :attr:`event_id`, as an aware UTC datetime."""
        if "_event_ts" not in self.__dict__:
            self._identify()
        return datetime.datetime.fromtimestamp(self.__dict__["_event_ts"], datetime.timezone.utc)

    def _identify(self) -> str:
        # Given lazily: a uuid4 costs far more than dispatching, and most events never need one.
        attributes = vars(self)
        attributes.setdefault("_event_ts", time.time())
        event_id: str = attributes.setdefault("_event_id", str(uuid.uuid4()))
        return event_id

    def __str__(self) -> str:
        return type(self).__event_name__


def is_event_class(value: object) -> TypeIs[type[Event]]:
    """Whether ``value`` is an Event class (``Event`` itself included).

    For the places that check what untyped code passes as an event or a pattern.
    """
    return isinstance(value, type) and issubclass(value, Event)
