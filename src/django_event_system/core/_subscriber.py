"""``on`` and the EventSubscriber base class: one class, many events, one decorated method each.

``@on(...)`` only records what it is given, on the function (see :class:`OnSpec`): the class the
method is defined in registers it. :class:`EventSubscriber` registers its methods here; the
Django adapter's ``Observer`` registers its own, and reads the conditions (``when=``...) that
only model events have.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any, ClassVar, Concatenate, Generic, TypeVar, cast, overload

from ._dispatcher import Dispatcher, EventDispatcher
from ._errors import ListenerDefinitionError
from ._event import Event, is_event_class
from ._handlers import HandlerWrapper, refuse_async_generator
from ._registry import Registration
from ._suppression import add_target_resolver, is_muted
from ._validation import is_int
from .queued import Queued

__all__ = ["UNSET", "EventSubscriber", "OnSpec", "on", "on_specs", "subscribers"]

logger = logging.getLogger("django_event_system")

_E = TypeVar("_E", bound=Event)
_S = TypeVar("_S")
_R = TypeVar("_R")
# A method of a pattern: called as method(self, name, *args, **kwargs).
_PatternMethod = TypeVar("_PatternMethod", bound=Callable[Concatenate[Any, str, ...], object])

_SPECS = "__event_system_on__"


class _Unset:
    """A condition that was not given (``None`` is a value a field may have)."""

    _instance: ClassVar[_Unset | None] = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()
"""The default of ``on``'s value conditions: not given."""


@dataclasses.dataclass(frozen=True)
class OnSpec:
    """What one ``@on(...)`` said: the target and the options, as given (``None``: not given)."""

    target: str | type[Event]
    """A pattern or an action (a str), or an Event class."""
    priority: int | None = None
    after_commit: bool | None = None
    queued: bool | Queued | None = None
    when: str | None = None
    """The field the conditions are about (Observer methods only)."""
    was: Any = UNSET
    is_now: Any = UNSET
    changes_to: Any = UNSET
    has_changed: bool | None = None
    inline: bool | None = None
    """Run in the saving code's stack, before or after the write (Observer methods only)."""

    @property
    def conditional(self) -> bool:
        """Whether it names a field (``when=``), so that the method runs only when its conditions hold."""
        return self.when is not None

    def describe(self) -> str:
        """``on('updated', when='status', is_now='shipped')``, for messages."""
        parts = [repr(self.target) if isinstance(self.target, str) else self.target.__name__]
        for option in ("priority", "after_commit", "queued", "inline", "when", "has_changed"):
            value = getattr(self, option)
            if value is not None:
                parts.append(f"{option}={value!r}")
        for option in ("was", "is_now", "changes_to"):
            value = getattr(self, option)
            if value is not UNSET:
                parts.append(f"{option}={value!r}")
        return f"on({', '.join(parts)})"


class _OnEvent(Generic[_E]):
    """Returned by ``on(EventClass)``: marks a method that receives the Event instance."""

    __slots__ = ("_spec",)

    def __init__(self, spec: OnSpec) -> None:
        self._spec = spec

    def __call__(self, method: Callable[[_S, _E], _R]) -> Callable[[_S, _E], _R]:
        _mark(method, self._spec)
        return method


def _mark(method: object, spec: OnSpec) -> None:
    if not inspect.isfunction(method):
        raise TypeError(f"{spec.describe()} decorates a method (a def or async def in the class body), not {method!r}")
    refuse_async_generator(method, f"{method.__qualname__}")
    if spec.inline and inspect.iscoroutinefunction(method):
        raise TypeError(
            f"{method.__qualname__}: {spec.describe()} is an async def, and an inline hook runs in the stack of "
            "the code that saves, which does not await it; make it a def, or drop inline=True to have its "
            "coroutine awaited off that stack"
        )
    # Decorators apply from the bottom up: the spec of the topmost @on comes first.
    setattr(method, _SPECS, (spec, *getattr(method, _SPECS, ())))


@overload
def on(
    target: type[_E],
    /,
    *,
    priority: int | None = None,
    after_commit: bool | None = None,
    queued: bool | Queued | None = None,
) -> _OnEvent[_E]: ...


@overload
def on(
    target: str,
    /,
    *,
    priority: int | None = None,
    after_commit: bool | None = None,
    queued: bool | Queued | None = None,
    inline: bool | None = None,
    when: str | None = None,
    was: Any = UNSET,
    is_now: Any = UNSET,
    changes_to: Any = UNSET,
    has_changed: bool | None = None,
) -> Callable[[_PatternMethod], _PatternMethod]: ...


def on(
    target: str | type[Event],
    /,
    *,
    priority: int | None = None,
    after_commit: bool | None = None,
    queued: bool | Queued | None = None,
    inline: bool | None = None,
    when: str | None = None,
    was: Any = UNSET,
    is_now: Any = UNSET,
    changes_to: Any = UNSET,
    has_changed: bool | None = None,
) -> _OnEvent[Any] | Callable[[_PatternMethod], _PatternMethod]:
    """Mark a method of an :class:`EventSubscriber` (or of an ``Observer``) as a handler.

    On an EventSubscriber, ``@on(OrderPlaced)`` makes the method receive the Event instance
    (``def placed(self, event: OrderPlaced)``, checked by the type checkers), and
    ``@on("orders::.*")`` the name and the arguments (``def audit(self, name: str, *args)``)::

        class Billing(EventSubscriber):
            @on(OrderPlaced)
            def charge(self, event: OrderPlaced) -> None: ...

            @on("orders::.*", priority=5)
            def audit(self, name: str, *args: object) -> None: ...

    On an Observer, the target is an action (``"updated"``), and ``when=`` names a field whose
    change the method waits for: ``@on("updated", when="status", was="placed", is_now="shipped")``
    (see the Observer's documentation for the conditions), and ``inline=True`` makes it run in
    the saving code's stack: ``@on("creating", inline=True)`` runs before the row is written, and
    may change the instance or refuse the write by raising.

    A method may carry several ``@on``: each is a registration of its own.

    :param priority: higher runs first (an Observer's own ``priority`` when not given).
    :param after_commit: the method receives what is dispatched in a transaction only once it
        commits (an Observer's own ``after_commit`` when not given).
    :param queued: run the method in a worker process (``True`` or a :class:`Queued`);
        EventSubscriber methods only (an Observer is queued by its class options).
    :param inline: run the method in the stack of the code that saves or deletes, in the model's
        signal receiver (Observer methods of ``creating`` ... ``deleted`` only; a ``def``, never
        queued nor after the commit).
    :param when: the field the conditions below are about (Observer methods only); alone, the
        method runs when that field changed.
    :param was: the field's value before the save.
    :param is_now: the field's value after the save (changed or not).
    :param changes_to: the field changed, to this value.
    :param has_changed: ``True``: the field changed; ``False``: it did not.
    :raises TypeError: an option has the wrong type, a condition is given without ``when``, or
        ``inline=True`` is given with ``queued`` or ``after_commit=True``, or on an ``async def``.
    """
    where = "on()"
    if not (isinstance(target, str) or is_event_class(target)):
        raise TypeError(f"on() takes an Event class or a pattern (str), not {target!r}")
    if isinstance(target, str) and not target:
        raise TypeError("on() takes a non-empty pattern or action name, not ''")
    if priority is not None and not is_int(priority):
        raise TypeError(f"{where}: priority must be an int, not {priority!r}")
    if after_commit is not None and not isinstance(after_commit, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"{where}: after_commit must be True or False, not {after_commit!r}")
    if queued is not None and not isinstance(queued, (bool, Queued)):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"{where}: queued must be True, False or a Queued(...), not {queued!r}")
    if has_changed is not None and not isinstance(has_changed, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"{where}: has_changed must be True or False, not {has_changed!r}")
    if inline is not None and not isinstance(inline, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"{where}: inline must be True or False, not {inline!r}")
    if inline and queued:
        raise TypeError(
            f"on({target!r}, inline=True, queued={queued!r}): an inline hook runs in the stack of the code that "
            "saves, and a queued one in a worker; choose one"
        )
    if inline and after_commit:
        raise TypeError(
            f"on({target!r}, inline=True, after_commit=True): an inline hook runs in the stack of the code that "
            "saves, inside its transaction, and cannot wait for the commit; choose one"
        )
    given = [
        name for name, value in (("was", was), ("is_now", is_now), ("changes_to", changes_to)) if value is not UNSET
    ]
    if has_changed is not None:
        given.append("has_changed")
    if when is None:
        if given:
            raise TypeError(
                f"on({target!r}): {', '.join(f'{name}=' for name in given)} needs when=<field name>, "
                "the field the condition is about"
            )
    elif not isinstance(cast("object", when), str) or not when:
        raise TypeError(f"on({target!r}): when must be a field name (a non-empty str), not {when!r}")
    spec = OnSpec(target, priority, after_commit, queued, when, was, is_now, changes_to, has_changed, inline)
    if is_event_class(target):
        if when is not None:
            raise TypeError(f"{spec.describe()}: conditions (when=) are for the actions of an Observer's model")
        if inline:
            raise TypeError(f"{spec.describe()}: inline hooks are for the actions of an Observer's model")
        return _OnEvent(spec)

    def decorator(method: _PatternMethod) -> _PatternMethod:
        _mark(method, spec)
        return method

    return decorator


def on_specs(method: object) -> tuple[OnSpec, ...]:
    """What the ``@on`` decorators of ``method`` said, topmost first (empty if it has none)."""
    function: object = method
    if isinstance(method, (staticmethod, classmethod)):
        function = cast("Any", method).__func__
    specs: object = getattr(function, _SPECS, ())
    return specs if isinstance(specs, tuple) else ()  # pyright: ignore[reportUnknownVariableType]


def decorated_methods(cls: type) -> list[tuple[str, Callable[..., object], tuple[OnSpec, ...]]]:
    """The methods of ``cls`` (its own and inherited) that carry ``@on``, in definition order, bases first."""
    names = dict.fromkeys(name for klass in reversed(cls.__mro__) for name in vars(klass))
    found: list[tuple[str, Callable[..., object], tuple[OnSpec, ...]]] = []
    for name in names:
        value = inspect.getattr_static(cls, name)
        specs = on_specs(value)
        if specs:
            if not inspect.isfunction(value):
                raise ListenerDefinitionError(
                    f"{cls.__qualname__}.{name} carries @on but is not a plain method: put @on on the "
                    "def itself, with no staticmethod or classmethod"
                )
            found.append((name, value, specs))
    return found


class EventSubscriber:
    """One class, many events: each method decorated with :func:`on` handles what it names::

        class Billing(EventSubscriber):
            @on(OrderPlaced)
            def charge(self, event: OrderPlaced) -> None: ...

            @on(OrderRefunded, after_commit=True)
            async def refund(self, event: OrderRefunded) -> None: ...

            @on("orders::.*", priority=5)
            def audit(self, name: str, *args: object) -> None: ...

    The class registers one instance of itself when it is defined, once: defining it again in
    the same module (a module reloaded) replaces the first; a class of the same name in another
    module is another subscriber. Methods are looked up at every call, so patching them in tests
    works; each may be an ``async def``.

    Class options: ``dispatcher`` (another :class:`EventDispatcher` than the global one),
    ``abstract = True`` on a base class that is only meant to be subclassed (its decorated
    methods are inherited and registered by each concrete subclass).

    :raises ListenerDefinitionError: the class has no decorated method, a method's ``@on`` has
        conditions (those are for Observers), or a queued method has no name a worker can find.
    """

    abstract: ClassVar[bool] = True
    dispatcher: ClassVar[EventDispatcher] = Dispatcher
    registrations: ClassVar[tuple[Registration, ...]] = ()
    """The handles of this class's registrations (empty for an abstract class)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("abstract", False) is True:
            cls.registrations = ()
            return
        cls.abstract = False
        where = f"{cls.__module__}.{cls.__qualname__}"
        for base in cls.__mro__[1:]:
            if (
                issubclass(base, EventSubscriber)
                and base is not EventSubscriber
                and base.__dict__.get("abstract") is not True
            ):
                raise ListenerDefinitionError(
                    f"{where} subclasses the subscriber {base.__qualname__}, which is registered already: both "
                    "would receive every event; set abstract = True on the base class"
                )
        dispatcher: object = cls.dispatcher
        if not isinstance(dispatcher, EventDispatcher):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ListenerDefinitionError(f"{where}.dispatcher must be an EventDispatcher, not {dispatcher!r}")
        methods = decorated_methods(cls)
        if not methods:
            raise ListenerDefinitionError(
                f"{where} has no method decorated with @on(...); set abstract = True on a base class "
                "that is only meant to be subclassed"
            )
        for name, _, specs in methods:
            for spec in specs:
                if spec.conditional:
                    raise ListenerDefinitionError(
                        f"{where}.{name}: {spec.describe()} has conditions, which only an Observer's model events "
                        "have; use an Observer, or test the event in the method"
                    )
                if spec.inline:
                    raise ListenerDefinitionError(
                        f"{where}.{name}: {spec.describe()} is inline, which only an Observer's methods can be (they "
                        "run in the receivers of a model's saves and deletes); use an Observer"
                    )
        _register(cls, methods)

    def failed(self, event: Any, exc: Exception) -> None:
        """Called in the worker when a queued method's last try failed; does nothing by default.

        ``event`` is the Event instance, or the event name for a string event.
        """

    @classmethod
    def unregister(cls) -> None:
        """Remove this class's registrations: it no longer receives events."""
        for registration in cls.registrations:
            registration.cancel()
        cls.registrations = ()
        key = (cls.__module__, cls.__qualname__)
        with _lock:
            if _subscribers.get(key) is cls:
                del _subscribers[key]


class SubscriberCall(HandlerWrapper):
    """The handler registered for one ``@on`` of a subscriber method: looks the method up at every call."""

    __slots__ = ("_after_commit", "instance", "method", "takes_event")

    def __init__(self, instance: object, method: str, *, takes_event: bool, after_commit: bool) -> None:
        cls = type(instance)
        super().__init__(cls, f"{cls.__module__}:{cls.__qualname__}.{method}")
        self.instance: object = instance
        self.method: str = method
        """The name of the method it calls."""
        self.takes_event: bool = takes_event
        """Whether the method receives the Event instance alone (``@on(EventClass)``)."""
        self._after_commit = after_commit

    @property
    def after_commit(self) -> bool:
        return self._after_commit

    def declines(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        return is_muted(type(self.instance), name, args)

    def __call__(self, name: str, /, *args: Any, **kwargs: Any) -> object:
        if is_muted(type(self.instance), name, args):
            return None
        method: Callable[..., object] = getattr(self.instance, self.method)
        if self.takes_event:
            return method(args[0])
        return method(str.__str__(name), *args, **kwargs)

    def failed(self, event: Any, exc: Exception) -> None:
        """Pass a queued method's last failure on to the subscriber's ``failed(event, exc)``."""
        failed: Callable[[Any, Exception], object] = getattr(self.instance, "failed")  # noqa: B009 - any object
        failed(event, exc)


_subscribers: dict[tuple[str, str], type[EventSubscriber]] = {}
_lock = threading.Lock()


def _queued(cls: type[EventSubscriber], method: str, spec: OnSpec, call: SubscriberCall, index: int) -> bool | Queued:
    queued = spec.queued
    if not queued:
        return False
    key = f"{cls.__module__}:{cls.__qualname__}.{method}" + (f"[{index + 1}]" if index else "")
    options = Queued() if queued is True else queued
    return dataclasses.replace(options, key=options.key or key, failed=options.failed or call.failed)


def _register(cls: type[EventSubscriber], methods: list[tuple[str, Callable[..., object], tuple[OnSpec, ...]]]) -> None:
    key = (cls.__module__, cls.__qualname__)
    with _lock:
        previous = _subscribers.get(key)
        _subscribers[key] = cls
    if previous is not None:
        for registration in previous.registrations:
            registration.cancel()
        previous.registrations = ()
        logger.debug("subscriber %s.%s defined again: the new definition replaces the first", *key)
    instance = cls()
    registrations: list[Registration] = []
    try:
        for name, _, specs in methods:
            for index, spec in enumerate(specs):
                call = SubscriberCall(
                    instance, name, takes_event=is_event_class(spec.target), after_commit=spec.after_commit is True
                )
                registrations.append(
                    cls.dispatcher.RegisterHandler(
                        spec.target,
                        call,
                        priority=spec.priority or 0,
                        queued=_queued(cls, name, spec, call, index),
                        after_commit=spec.after_commit is True,
                    )
                )
    except Exception:
        for registration in registrations:
            registration.cancel()
        with _lock:
            if _subscribers.get(key) is cls:
                del _subscribers[key]
        raise
    cls.registrations = tuple(registrations)


def subscribers() -> list[type[EventSubscriber]]:
    """Every registered EventSubscriber class, by module and name."""
    with _lock:
        return sorted(_subscribers.values(), key=lambda cls: (cls.__module__, cls.__qualname__))


def _resolve_subscriber(target: object) -> type | None:
    if isinstance(target, type) and issubclass(target, EventSubscriber):
        return target
    return None


add_target_resolver(lambda target: ("handlers", cls) if (cls := _resolve_subscriber(target)) is not None else None)
