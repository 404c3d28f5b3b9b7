"""The Observer class: a class whose methods handle the model events of one model."""

from __future__ import annotations

import difflib
import inspect
import logging
import re
import threading
import typing
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Generic, Literal, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model

from ..core import Dispatcher, EventDispatcher, Registration
from ..core.integration import HandlerWrapper, QueuedOptions, refuse_async_generator
from ._broadcast import register_observer_broadcasts
from ._changes import ModelChanges, get_changes
from ._models import ACTIONS, ModelAction, bind, check_model, model_event_name
from ._payloads import BulkCreated, BulkUpdated, M2MChanged, QuerysetUpdated
from ._queued import check_queued_observer, observer_queue_options
from ._transactions import COMMIT_ACTIONS

__all__ = ["Observer", "observers"]

logger = logging.getLogger("django_event_system.django")

ModelT = TypeVar("ModelT", bound=Model)

# Attributes of Observer that a subclass may define without being an action.
_OWN = frozenset({"observes", "after_commit", "priority", "track_changes", "dispatcher", "abstract"}).union(
    {"queued", "max_retries", "retry_backoff", "retry_backoff_max", "queue", "outbox", "failed"}
)

_observers: dict[tuple[type[Model], str], type[Observer[Any]]] = {}
_lock = threading.Lock()


class Observer(QueuedOptions, Generic[ModelT]):
    """Handle the model events of one model with methods named after the actions::

        class ExampleObserver(Observer[Example]):
            observes = Example

            def created(self, event_name: str, example: Example) -> None: ...

            def updated(self, event_name: str, example: Example) -> None:
                if "status" in self.changes(example): ...

    Each method is called as ``method(event_name, instance)``, in a delivery greenlet, for the
    event ``events::db::<GetPathFromClass(Model)>::<action>``. The actions are ``creating``,
    ``created``, ``updating``, ``updated``, ``deleting``, ``deleted``, plus ``saving`` and
    ``saved`` for both creates and updates; ``bulk_created``, ``bulk_updated`` and
    ``queryset_updated`` (through an :class:`EventManager`) and ``m2m_added``, ``m2m_removed``
    and ``m2m_cleared`` receive a payload instead of an instance. Defining an Observer also makes the model dispatch
    all those events, for any listener (those that nothing can receive are not dispatched at
    all). The class registers one instance of itself when it is
    defined, once: defining it again (a module imported twice) replaces the first.

    Class options:

    ``observes``
        The model class (required). Events follow Django's signals: saving a proxy model or a
        multi-table child dispatches that class's events, not its parent's.
    ``after_commit``
        ``True``: ``created``, ``updated``, ``saved`` and ``deleted`` are called only once the
        transaction commits, never after a rollback, at once in autocommit.
    ``priority``
        Higher runs before other handlers of the same event.
    ``track_changes``
        ``True`` (the default) keeps a snapshot of loaded instances so that ``updating`` and
        ``updated`` can ask :meth:`changes`.
    ``dispatcher``
        Another :class:`EventDispatcher` than the global ``Dispatcher``.
    ``abstract``
        ``True`` on a base class that is only meant to be subclassed: it is not registered.
    ``queued``
        ``True``: ``created``, ``updated`` and ``saved`` run in a worker process (see
        ``DJANGO_EVENT_SYSTEM["QUEUED"]``), with ``max_retries``, ``retry_backoff``,
        ``retry_backoff_max`` and ``queue`` as on a queued EventListener, and
        ``failed(event_name, exc)`` called in the worker when the last try failed.

    :raises ImproperlyConfigured: ``observes`` is missing or not a concrete model class.
    """

    observes: type[ModelT]
    after_commit: ClassVar[bool] = False
    priority: ClassVar[int] = 0
    track_changes: ClassVar[bool] = True
    dispatcher: ClassVar[EventDispatcher] = Dispatcher
    abstract: ClassVar[bool] = True
    registrations: ClassVar[tuple[Registration, ...]] = ()
    """The handles of this class's registrations (empty for an abstract class)."""
    events: ClassVar[Mapping[ModelAction, str]] = {}
    """The names of the observed model's events, by action."""
    suspicious_methods: ClassVar[tuple[tuple[str, str], ...]] = ()
    """Methods whose names look like misspelt actions, each with the action it resembles."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("abstract", False) is True:
            cls.registrations = ()
            return
        cls.abstract = False
        where = f"{cls.__module__}.{cls.__qualname__}"
        model = getattr(cls, "observes", None)
        if model is None:
            raise ImproperlyConfigured(
                f"{where} must set observes = <a model class>; set abstract = True on a base "
                "class that is only meant to be subclassed"
            )
        problem = check_model(model)
        if problem is not None:
            raise ImproperlyConfigured(f"{where}.observes must be a concrete model class: {problem}")
        declared = _declared_model(cls)
        if declared is not None and not issubclass(model, declared):
            raise ImproperlyConfigured(
                f"{where} is declared Observer[{declared.__qualname__}] but observes {model.__qualname__}"
            )
        for option, kind in (("after_commit", bool), ("track_changes", bool)):
            value = getattr(cls, option)
            if not isinstance(value, kind):
                raise ImproperlyConfigured(f"{where}.{option} must be True or False, not {value!r}")
        priority: object = cls.priority
        if not isinstance(priority, int) or isinstance(priority, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ImproperlyConfigured(f"{where}.priority must be an int, not {priority!r}")
        dispatcher: object = cls.dispatcher
        if not isinstance(dispatcher, EventDispatcher):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ImproperlyConfigured(f"{where}.dispatcher must be an EventDispatcher, not {dispatcher!r}")
        cls.suspicious_methods = _suspicious_methods(cls)
        cls.events = {action: model_event_name(model, action) for action in ACTIONS}
        defined: list[str] = [a for a in ACTIONS if getattr(cls, a) is not getattr(Observer, a)]
        for action in defined:
            refuse_async_generator(getattr(cls, action), f"{where}.{action}")
        check_queued_observer(cls, defined)
        _register(cls, model)

    # The actions. Positional-only, so that a subclass may name the parameters as it likes; each
    # may be an ``async def`` (its coroutine is awaited on the runner's loop, off the caller's).

    def creating(self, event_name: str, instance: ModelT, /) -> object:
        """Called when a new instance is about to be saved (``instance._state.adding``)."""

    def created(self, event_name: str, instance: ModelT, /) -> object:
        """Called when a new instance was saved."""

    def updating(self, event_name: str, instance: ModelT, /) -> object:
        """Called when an existing instance is about to be saved."""

    def updated(self, event_name: str, instance: ModelT, /) -> object:
        """Called when an existing instance was saved."""

    def saving(self, event_name: str, instance: ModelT, /) -> object:
        """Called when any instance is about to be saved (new or existing)."""

    def saved(self, event_name: str, instance: ModelT, /) -> object:
        """Called when any instance was saved (new or existing)."""

    def deleting(self, event_name: str, instance: ModelT, /) -> object:
        """Called when an instance is about to be deleted."""

    def deleted(self, event_name: str, instance: ModelT, /) -> object:
        """Called when an instance was deleted."""

    def bulk_created(self, event_name: str, created: BulkCreated[ModelT], /) -> object:
        """Called after a ``bulk_create()`` through an :class:`EventManager` wrote rows, once per call.

        ``created.objects`` are the objects written; ``created.pks_known`` says whether the
        database returned their primary keys.
        """

    def bulk_updated(self, event_name: str, updated: BulkUpdated[ModelT], /) -> object:
        """Called after a ``bulk_update()`` through an :class:`EventManager`, once per call, with
        the objects and the names of the fields written."""

    def queryset_updated(self, event_name: str, updated: QuerysetUpdated[ModelT], /) -> object:
        """Called after a ``QuerySet.update()`` through an :class:`EventManager` changed rows, once
        per call, with their primary keys and the names of the fields written."""

    def m2m_added(self, event_name: str, change: M2MChanged[ModelT], /) -> object:
        """Called after objects were added to a many-to-many relation of an instance (``add()``,
        ``set()``), from either side: ``change.reverse`` says which."""

    def m2m_removed(self, event_name: str, change: M2MChanged[ModelT], /) -> object:
        """Called after objects were removed from a many-to-many relation of an instance
        (``remove()``, ``set()``)."""

    def m2m_cleared(self, event_name: str, change: M2MChanged[ModelT], /) -> object:
        """Called after ``clear()`` emptied a many-to-many relation of an instance; ``change.pks``
        are those it removed."""

    def failed(self, event_name: str, exc: Exception) -> None:
        """Called in the worker when a queued Observer's last try failed; does nothing by default."""

    def broadcast_on(self, action: Literal["created", "updated", "deleted"], instance: ModelT, /) -> Iterable[str]:
        """The channel-layer groups that the model's ``created``, ``updated`` and ``deleted``
        events are broadcast to, once the transaction commits (never after a rollback). Empty by
        default: nothing is broadcast. Called in a delivery greenlet after the commit; on
        ``deleted``, Django has already set the instance's primary key to ``None``.

        .. versionadded:: 2.0
        """
        return ()

    def broadcast_payload(
        self, action: Literal["created", "updated", "deleted"], instance: ModelT, /
    ) -> Mapping[str, object] | None:
        """What the broadcast of ``action`` carries, a dict of JSON values; ``None`` (the
        default): the instance's concrete fields through the JSON codec of queued handlers.

        .. versionadded:: 2.0
        """
        return None

    def changes(self, instance: ModelT) -> ModelChanges[ModelT]:
        """What the latest save of ``instance`` changed (see :func:`get_changes`)."""
        return get_changes(instance)

    @classmethod
    def unregister(cls) -> None:
        """Remove this class's handlers; the model keeps dispatching while others observe it."""
        for registration in cls.registrations:
            registration.cancel()
        cls.registrations = ()
        model = cls.__dict__.get("observes", getattr(cls, "observes", None))
        if isinstance(model, type) and issubclass(model, Model):
            key = (model, cls.__qualname__)
            with _lock:
                if _observers.get(key) is cls:
                    del _observers[key]
                    bind(model).release(("observer", cls.__qualname__))


class _ObserverCall(HandlerWrapper):
    """The handler registered for one action of an Observer: looks the method up at every call."""

    __slots__ = ("_after_commit", "action", "observer")

    def __init__(self, observer: Observer[Any], action: ModelAction) -> None:
        cls = type(observer)
        super().__init__(cls, f"{cls.__module__}:{cls.__qualname__}.{action}")
        self.observer = observer
        self.action = action
        self._after_commit = action in COMMIT_ACTIONS and cls.after_commit is True

    @property
    def after_commit(self) -> bool:
        return self._after_commit

    def __call__(self, name: str, /, *args: Any, **kwargs: Any) -> object:
        method = getattr(self.observer, self.action)
        return method(name, args[0])

    def __repr__(self) -> str:
        return f"<observer call {self.description}>"


def _declared_model(cls: type) -> type[Model] | None:
    """The model in ``Observer[Model]`` among the class's bases, if it is a class."""
    for klass in cls.__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            if typing.get_origin(base) is Observer:
                (argument,) = typing.get_args(base)
                if isinstance(argument, type) and issubclass(argument, Model):
                    return argument
                return None
    return None


def _suspicious_methods(cls: type) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    for name, value in vars(cls).items():
        if name.startswith("_") or name in ACTIONS or name in _OWN or not inspect.isfunction(value):
            continue
        if hasattr(Observer, name):
            continue
        close = difflib.get_close_matches(name.lower(), ACTIONS, n=1, cutoff=0.75)
        if close:
            found.append((name, close[0]))
    return tuple(found)


def _register(cls: type[Observer[Any]], model: type[Model]) -> None:
    key = (model, cls.__qualname__)
    with _lock:
        previous = _observers.get(key)
        if previous is not None:
            for registration in previous.registrations:
                registration.cancel()
            previous.registrations = ()
            if previous.__module__ == cls.__module__:
                logger.debug(
                    "observer %s.%s defined again: the new definition replaces the first",
                    cls.__module__,
                    cls.__qualname__,
                )
            else:
                logger.warning(
                    "observer %s.%s replaces %s.%s (same name, same model %s): is one module imported under two names?",
                    cls.__module__,
                    cls.__qualname__,
                    previous.__module__,
                    previous.__qualname__,
                    model._meta.label,
                )
        _observers[key] = cls
        bind(model).claim(("observer", cls.__qualname__), cls.dispatcher, cls.track_changes)
    instance = cls()
    registrations: list[Registration] = []
    for action in ACTIONS:
        if getattr(cls, action) is getattr(Observer, action):
            continue
        pattern = re.escape(model_event_name(model, action))
        call = _ObserverCall(instance, action)
        queued = observer_queue_options(instance, action)
        registrations.append(
            cls.dispatcher.RegisterHandler(
                pattern, call, priority=cls.priority, queued=queued, after_commit=call.after_commit
            )
        )
    if getattr(cls, "broadcast_on") is not getattr(Observer, "broadcast_on"):  # noqa: B009 - typed Any on purpose
        registrations.extend(register_observer_broadcasts(instance, cls.dispatcher, cls.events, cls.priority))
    cls.registrations = tuple(registrations)
    logger.debug(
        "observer %s.%s registered for %s: %s",
        cls.__module__,
        cls.__qualname__,
        model._meta.label,
        ", ".join(r.pattern.rsplit("::", 1)[-1] for r in registrations) or "no action",
    )


def observers() -> list[type[Observer[Any]]]:
    """Every registered Observer class, by model label and name."""
    return sorted(_observers.values(), key=lambda cls: (cls.observes._meta.label, cls.__qualname__))  # pyright: ignore[reportGeneralTypeIssues]
