"""The Observer class: a class whose methods handle the model events of one model."""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import logging
import re
import sys
import threading
import typing
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Generic, Literal, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model

from ..core import Dispatcher, EventDispatcher, ListenerDefinitionError, Queued, QueuedHandler, Registration
from ..core.integration import (
    HandlerWrapper,
    OnSpec,
    QueuedOptions,
    add_handler_source,
    decorated_methods,
    is_muted,
    on_specs,
    refuse_async_generator,
)
from ._broadcast import register_observer_broadcasts
from ._changes import ModelChanges, get_changes
from ._conditions import Condition, build_condition, watch_saves
from ._inline import INLINE_ACTIONS, InlineHook
from ._models import ACTIONS, ModelAction, bind, check_model, model_event_name
from ._payloads import BulkCreated, BulkUpdated, M2MChanged, QuerysetUpdated
from ._queued import check_queued_observer
from ._transactions import COMMIT_ACTIONS

__all__ = ["Observer", "observers"]

logger = logging.getLogger("django_event_system.django")

ModelT = TypeVar("ModelT", bound=Model)

# Attributes of Observer that a subclass may define without being an action.
_OWN = frozenset({"observes", "after_commit", "priority", "track_changes", "dispatcher", "abstract"}).union(
    {"queued", "max_retries", "retry_backoff", "retry_backoff_max", "queue", "outbox", "failed"}
)

_observers: dict[tuple[type[Model], str, str], type[Observer[Any]]] = {}
"""The registered Observers, by model, module and name."""
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
    defined, once: defining it again (a module imported twice) replaces the first; an Observer
    of the same name in another module is another Observer.

    Any method decorated with ``@on(action, ...)`` handles that action, whatever its name, and
    ``when=`` makes it wait for a field's change::

        @on("updated", when="status", was="placed", is_now="shipped")
        def shipped(self, event_name: str, order: Order) -> None: ...

    (``was``, ``is_now``, ``changes_to``, ``has_changed``: see ``django_event_system.on``; the
    field is checked against the model here, when the class is defined.)

    ``inline=True`` makes a method run in the stack of the code that saves or deletes, before
    the write (``creating``, ``updating``, ``saving``, ``deleting``: it may change the instance,
    and what it assigns is saved, or refuse the write by raising ``WriteRefused``) or after it
    (``created``, ``updated``, ``saved``, ``deleted``: in the caller's transaction), before any
    handler of the event::

        @on("creating", inline=True)
        def fill_slug(self, event_name: str, article: Article) -> None:
            article.slug = slugify(article.title)

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

    :raises ImproperlyConfigured: ``observes`` is missing or not a concrete model class, or an
        ``@on`` names what is not an action, a field the model does not have, or a condition
        that cannot hold for its action.
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
        handlers = _handlers(cls, model, where)
        for handler in handlers:
            refuse_async_generator(getattr(cls, handler.method), f"{where}.{handler.method}")
        # Inline hooks run in the saving code's stack, whatever the class's queued option says.
        check_queued_observer(cls, list(dict.fromkeys(h.action for h in handlers if not h.inline)))
        _register(cls, model, handlers)

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
            key = (model, cls.__module__, cls.__qualname__)
            with _lock:
                if _observers.get(key) is cls:
                    del _observers[key]
                    bind(model).release(("observer", cls.__module__, cls.__qualname__))
                    _watch_saves(model)


@dataclasses.dataclass(frozen=True)
class _Handler:
    """One registration of an Observer: a method for an action, with its options."""

    method: str
    action: ModelAction
    priority: int
    after_commit: bool
    condition: Condition | None
    key: str
    """The queued handler key: ``module:qualname.method``, numbered past a method's first ``@on``."""
    inline: bool = False
    """Whether it runs in the stack of the code that saves (``@on(..., inline=True)``)."""


def _handlers(cls: type[Observer[Any]], model: type[Model], where: str) -> list[_Handler]:
    """The methods named after actions (without ``@on``), then the ``@on`` methods, in definition order.

    :raises ImproperlyConfigured: an ``@on`` names what is not an action, or its options do not fit.
    """
    prefix = f"{cls.__module__}:{cls.__qualname__}"
    handlers: list[_Handler] = []
    for action in ACTIONS:
        method = getattr(cls, action)
        if method is getattr(Observer, action) or on_specs(inspect.getattr_static(cls, action)):
            continue
        after_commit = action in COMMIT_ACTIONS and cls.after_commit is True
        handlers.append(_Handler(action, action, cls.priority, after_commit, None, f"{prefix}.{action}"))
    try:
        decorated = decorated_methods(cls)
    except ListenerDefinitionError as exc:
        raise ImproperlyConfigured(str(exc)) from None
    for name, _, specs in decorated:
        if hasattr(Observer, name) and name not in ACTIONS:
            raise ImproperlyConfigured(
                f"{where}.{name} carries @on, but {name} is a name Observer uses itself; name the method otherwise"
            )
        for index, spec in enumerate(specs):
            handlers.append(
                _decorated(cls, model, where, name, spec, f"{prefix}.{name}" + (f"[{index + 1}]" if index else ""))
            )
    return handlers


def _decorated(cls: type[Observer[Any]], model: type[Model], where: str, name: str, spec: OnSpec, key: str) -> _Handler:
    described = f"{where}.{name}: {spec.describe()}"
    target = spec.target
    if not isinstance(target, str):
        raise ImproperlyConfigured(
            f"{described} names an Event class; on an Observer method, @on names an action of "
            f"{model.__qualname__} ({', '.join(ACTIONS)}); use an EventSubscriber for Event classes"
        )
    if target not in ACTIONS:
        close = difflib.get_close_matches(target, ACTIONS, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"the actions are {', '.join(ACTIONS)}"
        raise ImproperlyConfigured(f"{described} names {target!r}, which is not a model action: {hint}")
    action: ModelAction = target
    if spec.inline and action not in INLINE_ACTIONS:
        kind = "a many-to-many change" if action.startswith("m2m") else "a bulk write"
        raise ImproperlyConfigured(
            f"{described}: an inline hook runs in the receivers of one instance's save or delete, and "
            f"{action!r} is not one ({kind} goes through no such receiver); inline=True fits "
            f"{', '.join(a for a in ACTIONS if a in INLINE_ACTIONS)}"
        )
    if spec.queued is not None:
        raise ImproperlyConfigured(
            f"{described}: an Observer is queued as a whole; set queued = True (and its retry options) "
            "on the class, not on @on"
        )
    if spec.after_commit is True and action not in COMMIT_ACTIONS:
        raise ImproperlyConfigured(
            f"{described}: {action!r} comes before the row is written and never waits for the commit; "
            f"after_commit=True fits {', '.join(sorted(COMMIT_ACTIONS))}"
        )
    condition = build_condition(model, action, spec, f"{where}.{name}")
    if condition is not None and cls.track_changes is not True:
        raise ImproperlyConfigured(
            f"{described} needs the changes of each save, and {where} sets track_changes = False; "
            "remove one or the other"
        )
    after_commit = cls.after_commit is True if spec.after_commit is None else spec.after_commit
    priority = cls.priority if spec.priority is None else spec.priority
    if spec.inline:
        return _Handler(name, action, priority, False, condition, key, inline=True)
    return _Handler(name, action, priority, after_commit and action in COMMIT_ACTIONS, condition, key)


class _ObserverCall(HandlerWrapper):
    """The handler registered for one method of an Observer: looks the method up at every call.

    It skips a delivery when ``without_events`` muted the Observer where the event was
    dispatched, or when the method's condition does not hold for the save. A queued method's
    condition is evaluated in the process that saved (:meth:`declines`, asked before the message
    is sent); in the worker, where the row is loaded again without its changes, it is not.
    """

    __slots__ = ("_after_commit", "action", "condition", "method", "observer", "queued")

    fixed_after_commit = True  # the handler's, set when the Observer registers

    def __init__(self, observer: Observer[Any], handler: _Handler, *, queued: bool) -> None:
        cls = type(observer)
        super().__init__(cls, f"{cls.__module__}:{cls.__qualname__}.{handler.method}")
        self.observer = observer
        self.action = handler.action
        self.method = handler.method
        self.condition = handler.condition
        self.queued = queued
        self._after_commit = handler.after_commit

    @property
    def after_commit(self) -> bool:
        return self._after_commit

    def declines(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        if is_muted(type(self.observer), name, args):
            return True
        condition = self.condition
        return condition is not None and not condition.holds(name, args[0])

    def __call__(self, name: str, /, *args: Any, **kwargs: Any) -> object:
        # A plain name carries no muting (a model event carries no Event instance to mute by
        # either), and a method without a condition always runs: the common case asks nothing.
        if type(name) is not str or self.condition is not None:
            if not self.queued and self.declines(name, args, kwargs):
                return None
            name = str.__str__(name)
        return getattr(self.observer, self.method)(name, args[0])

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
        if on_specs(value):  # registered by its @on, whatever its name
            continue
        if hasattr(Observer, name):
            continue
        close = difflib.get_close_matches(name.lower(), ACTIONS, n=1, cutoff=0.75)
        if close:
            found.append((name, close[0]))
    return tuple(found)


def _same_module(first: str, second: str) -> bool:
    """Whether two module names are one module imported under two names (``app.observers`` and
    ``project.app.observers``): the same file, or one name ending with the other."""
    files = [getattr(sys.modules.get(name), "__file__", None) for name in (first, second)]
    if files[0] is not None and files[1] is not None:
        return bool(files[0] == files[1])
    return first == second or first.endswith(f".{second}") or second.endswith(f".{first}")


def _register(cls: type[Observer[Any]], model: type[Model], handlers: list[_Handler]) -> None:
    key = (model, cls.__module__, cls.__qualname__)
    instance = cls()
    hooks = [
        InlineHook(
            instance,
            h.method,
            h.action,
            model_event_name(model, h.action),
            priority=h.priority,
            condition=h.condition,
            dispatcher=cls.dispatcher,
        )
        for h in handlers
        if h.inline
    ]
    with _lock:
        replaced = [
            other
            for (other_model, module, qualname), other in _observers.items()
            if other_model is model and qualname == cls.__qualname__ and _same_module(module, cls.__module__)
        ]
        for previous in replaced:
            for registration in previous.registrations:
                registration.cancel()
            previous.registrations = ()
            del _observers[(model, previous.__module__, previous.__qualname__)]
            bind(model).release(("observer", previous.__module__, previous.__qualname__))
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
        bind(model).claim(("observer", cls.__module__, cls.__qualname__), cls.dispatcher, cls.track_changes, hooks)
    registrations: list[Registration] = []
    for handler in handlers:
        if handler.inline:
            continue
        action = handler.action
        queued: Queued | bool = cls.queued_options(failed=instance.failed, key=handler.key) or False
        call = _ObserverCall(instance, handler, queued=bool(queued))
        registrations.append(
            cls.dispatcher.RegisterHandler(
                re.escape(model_event_name(model, action)),
                call,
                priority=handler.priority,
                queued=queued,
                after_commit=handler.after_commit,
            )
        )
    if getattr(cls, "broadcast_on") is not getattr(Observer, "broadcast_on"):  # noqa: B009 - typed Any on purpose
        registrations.extend(register_observer_broadcasts(instance, cls.dispatcher, cls.events, cls.priority))
    cls.registrations = tuple(registrations)
    _watch_saves(model)
    logger.debug(
        "observer %s.%s registered for %s: %s",
        cls.__module__,
        cls.__qualname__,
        model._meta.label,
        ", ".join(
            (f"{h.method}({h.action})" if h.method != h.action else h.action) + (" inline" if h.inline else "")
            for h in handlers
        )
        or "no action",
    )


def _watch_saves(model: type[Model]) -> None:
    """Whether the events of ``model`` carry their save's changes: while an Observer with conditions observes it."""
    conditional = any(
        isinstance(call := _call_of(registration), _ObserverCall) and call.condition is not None
        for (observed, _, _), observer in list(_observers.items())
        if observed is model
        for registration in observer.registrations
    )
    watch_saves(model, conditional)


def _call_of(registration: Registration) -> object:
    handler: object = registration.handler
    return getattr(handler, "target", handler) if isinstance(handler, QueuedHandler) else handler


def observers() -> list[type[Observer[Any]]]:
    """Every registered Observer class, by model label, name and module."""
    return sorted(_observers.values(), key=lambda cls: (cls.observes._meta.label, cls.__qualname__, cls.__module__))  # pyright: ignore[reportGeneralTypeIssues]


def _inline_hooks(dispatcher: object, name: str) -> list[HandlerWrapper]:
    """The inline hooks of the Observers on ``dispatcher`` for the event ``name`` (for ``assert_listening``)."""
    with _lock:
        models = {model for model, _, _ in _observers}
    return [
        hook
        for model in models
        for hooks in bind(model).inline.values()
        for hook in hooks
        if hook.dispatcher is dispatcher and hook.event == name
    ]


add_handler_source(_inline_hooks)
