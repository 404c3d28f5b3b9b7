"""The EventListener base class: a class that handles the events it lists in ``listensFor``."""

from __future__ import annotations

import abc
import difflib
import inspect
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, Protocol, cast, get_args, get_origin

from typing_extensions import ParamSpec

from ._dispatcher import Dispatcher, EventDispatcher
from ._errors import ListenerDefinitionError
from ._event import Event, is_event_class
from ._handlers import HandlerWrapper, refuse_async_generator
from ._registry import Registration
from .queued import Queued, QueuedOptions

__all__ = ["EventListener"]

# What handle takes: anything (...) for a listener without a parameter; (Event,) for
# EventListener[Event], one parameter being shorthand for the list of one.
_P = ParamSpec("_P", default=...)
_Q = ParamSpec("_Q")


class _ListenTarget(Protocol[_Q]):
    """An Event class whose instances a ``handle`` taking ``_Q`` accepts (see ``Event._listened_by``)."""

    def _listened_by(self, handler: Callable[_Q, object], /) -> None: ...


class EventListener(QueuedOptions, abc.ABC, Generic[_P]):
    """Subclass it, list what it listens for, and define ``handle``::

        class SendReceipt(EventListener[OrderPlaced]):
            listensFor = [OrderPlaced]

            def handle(self, event: OrderPlaced) -> None: ...

        class Audit(EventListener):
            listensFor = [OrderPlaced, "orders::.*::refunded"]

            def handle(self, event, *args, **kwargs): ...

    The class registers one instance of itself when it is defined. ``handle`` receives the Event
    instance alone when an Event was dispatched, and ``(name, *args, **kwargs)`` when a name was
    dispatched. ``handle`` is looked up on every call, so patching it in tests works.

    ``EventListener[OrderPlaced]`` types the listener by its event class: the type checkers check
    that ``handle`` takes an ``OrderPlaced`` and that ``listensFor`` lists ``OrderPlaced`` and its
    subclasses only; such a listener cannot list patterns, whose handlers receive names. Without
    the parameter, ``handle`` and ``listensFor`` are checked as loosely as in 1.0.

    A base class meant only to be subclassed sets ``abstract = True`` (or leaves an abstract
    method) and is not registered.

    Class options: ``priority`` (higher runs first), ``dispatcher`` (another
    :class:`EventDispatcher` than the global one), ``after_commit`` (the listener receives the
    events dispatched inside a transaction only once it commits).

    Queued listeners: with ``queued = True`` the class's ``handle`` runs in a worker process
    (see ``configure_transport``); ``max_retries``, ``retry_backoff`` and ``retry_backoff_max``
    say how it is retried (see :class:`Queued`), ``queue`` which queue it is sent to,
    ``outbox`` whether its messages go through the outbox (``None``: as configured), and
    ``failed(event, exc)`` is called in the worker when its last try failed. The class must be
    defined at module level, in a module that the workers import too.
    """

    listensFor: Sequence[_ListenTarget[_P] | str]
    """The Event classes and the patterns (regular expressions of names) it listens for."""
    priority: ClassVar[int] = 0
    abstract: ClassVar[bool] = True
    dispatcher: ClassVar[EventDispatcher] = Dispatcher
    after_commit: ClassVar[bool] = False
    """``True``: an event dispatched inside a transaction reaches this listener only once the
    transaction commits, never if it rolls back; outside a transaction, at once. The other
    handlers of the event are not held back. Needs an adapter that knows the transactions (the
    Django adapter): without one, events go at once. A value that is not a bool counts as
    ``False`` and fails Django's system check ``django_event_system.E012``."""
    registrations: ClassVar[tuple[Registration, ...]] = ()
    """The handles of this class's registrations (empty for an abstract class)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("abstract", False) is True or inspect.isabstract(cls):
            cls.registrations = ()
            return
        cls.abstract = False
        _refuse_misspelt_options(cls)
        listens_for = _declared_listens_for(cls)
        if listens_for is None:
            raise ListenerDefinitionError(
                f"{cls.__qualname__}.listensFor must be defined with at least one event "
                "(an Event class or a pattern string); set abstract = True on a base class "
                "that is only meant to be subclassed"
            )
        if isinstance(listens_for, str) or not isinstance(listens_for, (list, tuple)):
            raise ListenerDefinitionError(
                f"{cls.__qualname__}.listensFor must be a list of Event classes and pattern strings, "
                f"not {listens_for!r}"
            )
        entries = cast("list[object] | tuple[object, ...]", listens_for)
        if not entries:
            raise ListenerDefinitionError(
                f"{cls.__qualname__}.listensFor must be defined with at least one event "
                "(an Event class or a pattern string)"
            )
        targets: list[str | type[Event]] = []
        for target in entries:
            if not (isinstance(target, str) or is_event_class(target)):
                raise ListenerDefinitionError(
                    f"{cls.__qualname__}.listensFor entries must be Event classes or pattern strings, not {target!r}"
                )
            targets.append(target)
        typed = _typed_event(cls)
        if typed is not None:
            patterns = [target for target in targets if isinstance(target, str)]
            if patterns:
                raise ListenerDefinitionError(
                    f"{cls.__qualname__} is an EventListener[{typed}], whose handle takes the event: it cannot "
                    f"listen for the patterns {patterns}, whose handlers receive a name; use EventListener "
                    "without a parameter for those"
                )
        if cls.handle is EventListener.handle:
            raise ListenerDefinitionError(f"{cls.__qualname__} must define handle(self, event, *args, **kwargs)")
        refuse_async_generator(cls.handle, f"{cls.__qualname__}.handle")
        instance = cls()
        call = _ListenerCall(instance)
        queued = _queued_options(cls, call)
        after_commit = cls.after_commit is True
        registrations: list[Registration] = []
        try:
            for target in targets:
                registrations.append(
                    cls.dispatcher.RegisterHandler(
                        target, call, priority=cls.priority, queued=queued, after_commit=after_commit
                    )
                )
        except Exception:
            for registration in registrations:
                registration.cancel()
            raise
        cls.registrations = tuple(registrations)

    def handle(self, *args: _P.args, **kwargs: _P.kwargs) -> object:
        """Handle an event: ``handle(event)`` for Event classes, ``handle(name, *args, **kwargs)`` else."""
        raise NotImplementedError(f"{type(self).__qualname__} must define handle()")

    def failed(self, event: Any, exc: Exception) -> None:
        """Called in the worker when a queued listener's last try failed; does nothing by default.

        ``event`` is the Event instance, or the event name for a string event.
        """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call ``handle`` with the convention of the 1.0 API."""
        if len(args) > 1 and isinstance(args[1], Event):
            args = args[1:]
        handle: Callable[..., object] = self.handle
        return handle(*args, **kwargs)

    @classmethod
    def unregister(cls) -> None:
        """Remove this class's registrations: it no longer receives events."""
        for registration in cls.registrations:
            registration.cancel()


class _ListenerCall(HandlerWrapper):
    """The handler registered for a listener: looks ``handle`` up at every call."""

    __slots__ = ("instance",)

    def __init__(self, instance: EventListener) -> None:
        cls = type(instance)
        super().__init__(cls, f"{cls.__module__}:{cls.__qualname__}.handle")
        self.instance = instance

    def __call__(self, name: str, /, *args: Any, **kwargs: Any) -> Any:
        # An Event dispatch: the instance alone. A name dispatched with an Event among its
        # arguments keeps the (name, *args) convention.
        if args and isinstance(args[0], Event) and type(args[0]).__event_name__ == name:
            return self.instance.handle(*args, **kwargs)
        return self.instance.handle(name, *args, **kwargs)

    @property
    def after_commit(self) -> bool:
        return type(self.instance).after_commit is True

    def failed(self, event: Any, exc: Exception) -> None:
        self.instance.failed(event, exc)


_OPTIONS = (
    "listensFor",
    "priority",
    "abstract",
    "dispatcher",
    "after_commit",
    "queued",
    "max_retries",
    "retry_backoff",
    "retry_backoff_max",
    "queue",
    "outbox",
)


def _refuse_misspelt_options(cls: type[EventListener]) -> None:
    """A class attribute whose name is nearly an option's (``after_comit``) would be ignored: refuse it."""
    for name, value in vars(cls).items():
        if name.startswith("_") or name in _OPTIONS or callable(value) or isinstance(value, (classmethod, property)):
            continue
        if hasattr(EventListener, name):
            continue
        close = difflib.get_close_matches(name, _OPTIONS, n=1, cutoff=0.85) or difflib.get_close_matches(
            name.lower().replace("_", ""), [option.lower().replace("_", "") for option in _OPTIONS], n=1, cutoff=0.9
        )
        if close:
            option = next(o for o in _OPTIONS if close[0] in (o, o.lower().replace("_", "")))
            raise ListenerDefinitionError(
                f"{cls.__qualname__}.{name} is not an EventListener option: did you mean {option}? "
                "(a misspelt option would be ignored)"
            )


def _typed_event(cls: type[EventListener]) -> str | None:
    """The event class of ``EventListener[...]`` among ``cls``'s bases, by name; ``None`` without one."""
    for klass in cls.__mro__:
        for base in klass.__dict__.get("__orig_bases__", ()):
            if get_origin(base) is EventListener:
                parameters = get_args(base)
                if parameters and parameters[0] is not Ellipsis:
                    return ", ".join(getattr(p, "__qualname__", repr(p)) for p in _flatten(parameters))
    return None


def _flatten(parameters: tuple[object, ...]) -> list[object]:
    """``EventListener[OrderPlaced]``'s parameters: ``(OrderPlaced,)`` or ``((OrderPlaced,),)``."""
    flat: list[object] = []
    for parameter in parameters:
        if isinstance(parameter, (list, tuple)):
            flat.extend(cast("list[object] | tuple[object, ...]", parameter))
        else:
            flat.append(parameter)
    return flat


def _declared_listens_for(cls: type[EventListener]) -> object:
    """``listensFor`` from the class itself, or inherited from an abstract base.

    Inheriting from a concrete listener is refused: both classes would receive every event.
    """
    for klass in cls.__mro__:
        if "listensFor" in klass.__dict__:
            if klass is cls or klass.__dict__.get("abstract", False) is True or inspect.isabstract(klass):
                return klass.__dict__["listensFor"]
            return None
    return None


def _queued_options(cls: type[EventListener], call: _ListenerCall) -> Queued | bool:
    try:
        return cls.queued_options(failed=call.failed, key=f"{cls.__module__}:{cls.__qualname__}") or False
    except TypeError as exc:
        if str(exc).startswith(f"{cls.__qualname__}."):
            raise ListenerDefinitionError(str(exc)) from None
        raise ListenerDefinitionError(f"{cls.__qualname__}: {exc}") from None
    except ValueError as exc:
        raise ListenerDefinitionError(f"{cls.__qualname__}: {exc}") from None
