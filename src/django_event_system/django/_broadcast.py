"""Broadcasting to channel-layer groups (Django Channels), once the transaction commits.

An Event class whose ``broadcast_on()`` is its own (not :class:`Event`'s) gets one registration
on its dispatcher, made when the class is defined: an after-commit handler, so that the commit
gate holds it until the dispatching transaction commits and drops it on a rollback, and
delivers it at once in autocommit. An Observer whose ``broadcast_on(action, instance)`` is its
own gets one for each of its model's ``created``, ``updated`` and ``deleted`` events, held by
the model events' own after-commit path (``dispatch_model_event``).

The handler runs in a delivery greenlet like any other: there it asks ``broadcast_on()`` and
``broadcast_payload()`` (which may use the ORM), checks the group names and the payload, shows
each :class:`Broadcast` to the observers (the testing helpers record them there), and returns a
coroutine that sends them through the project's channel layer
(``channels.layers.get_channel_layer()``). The delivery greenlet awaits it on the library's
coroutine runner, one event loop per process that every broadcast reuses, off any loop of the
server's. Channels is imported then, on the first broadcast, never at import.

Each group receives ``{"type": "event.message", "event": NAME, "group": GROUP, "payload":
{...}}``; :class:`~django_event_system.channels.EventConsumer` sends it to its clients.
"""

from __future__ import annotations

import math
import re
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol, cast

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model

from ..core import Event, EventDispatcher, Registration, SerializationError
from ..core.integration import JSON, HandlerWrapper, encode_value, watch_event_classes
from ._models import ModelAction

if TYPE_CHECKING:
    from channels.layers import BaseChannelLayer

__all__ = [
    "BROADCAST_ACTIONS",
    "MESSAGE_TYPE",
    "Broadcast",
    "BroadcastObserver",
    "event_payload",
    "instance_payload",
    "observe_broadcasts",
    "register_observer_broadcasts",
]

MESSAGE_TYPE: Final = "event.message"
"""The ``type`` of the channel-layer messages that broadcasts send: Channels calls a consumer's
``event_message`` method for them."""

BROADCAST_ACTIONS: Final[tuple[ModelAction, ...]] = ("created", "updated", "deleted")
"""The model actions whose events an Observer's ``broadcast_on(action, instance)`` is asked about."""

_GROUP_NAME = re.compile(r"[a-zA-Z\d\-_.]{1,99}")


@dataclass(frozen=True)
class Broadcast:
    """One message sent to one channel-layer group: what the testing helpers record."""

    group: str
    """The group's name."""
    event: str
    """The event's name (an Event class's ``Name``, or ``events::db::...::created`` for an Observer)."""
    payload: Mapping[str, JSON]
    """What the message carries, JSON values."""

    message_type: ClassVar[str] = MESSAGE_TYPE
    """The ``type`` of the channel-layer message, ``"event.message"``: Channels calls a consumer's
    ``event_message`` method for it."""

    def message(self) -> dict[str, Any]:
        """The channel-layer message: ``{"type": "event.message", "event", "group", "payload"}``."""
        return {"type": MESSAGE_TYPE, "event": self.event, "group": self.group, "payload": dict(self.payload)}


class _BroadcastingObserver(Protocol):
    """What the broadcast of an Observer's model events asks of it."""

    def broadcast_on(self, action: Any, instance: Any, /) -> Iterable[str]: ...

    def broadcast_payload(self, action: Any, instance: Any, /) -> Mapping[str, object] | None: ...


BroadcastObserver = Callable[[Broadcast], bool]
"""Shown each broadcast before it is sent; returns ``True`` to keep it from being sent."""

_observers: list[BroadcastObserver] = []
_observers_lock = threading.Lock()


def observe_broadcasts(observer: BroadcastObserver) -> Callable[[], None]:
    """Show every broadcast to ``observer`` before it is sent; returns a function that stops it.

    The testing helpers (``record_broadcasts``) record broadcasts here, and by default keep them
    from reaching the channel layer.
    """
    with _observers_lock:
        _observers.append(observer)

    def stop() -> None:
        with _observers_lock:
            if observer in _observers:
                _observers.remove(observer)

    return stop


# -- payloads and group names -------------------------------------------------------------------


def event_payload(event: Event) -> dict[str, JSON]:
    """The default payload of an Event's broadcast: its fields, each through the JSON codec.

    :raises SerializationError: a field holds a value that the codec cannot encode.
    """
    where = type(event).__qualname__
    return {key: encode_value(value, f"{where}.{key}") for key, value in vars(event).items() if not key.startswith("_")}


def instance_payload(instance: Model) -> dict[str, JSON]:
    """The default payload of an Observer's broadcast: the instance's concrete fields
    (``attname``: ``customer_id`` for a foreign key), each through the JSON codec."""
    where = type(instance).__qualname__
    return {
        field.attname: encode_value(getattr(instance, field.attname), f"{where}.{field.attname}")
        for field in instance._meta.concrete_fields
    }


def _groups(returned: object, where: str) -> list[str]:
    if isinstance(returned, str) or not isinstance(returned, Iterable):
        raise TypeError(f"{where} returned {returned!r}: return a list of group names, such as ['orders.7']")
    groups: list[str] = []
    for group in returned:  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(group, str) or not _GROUP_NAME.fullmatch(group):
            raise ValueError(
                f"{where} returned the group name {group!r}, which Channels refuses: a group name is a str "
                "of fewer than 100 ASCII letters, digits, hyphens, underscores or periods ('orders.7')"
            )
        if group not in groups:
            groups.append(group)
    return groups


def _json(value: object, path: str, where: str) -> JSON:
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:
        return cast("JSON", value)
    if kind is float and math.isfinite(cast("float", value)):
        return cast("float", value)
    if kind is list:
        items = cast("list[object]", value)
        return [_json(item, f"{path}[{index}]", where) for index, item in enumerate(items)]
    if kind is dict:
        mapping = cast("dict[object, object]", value)
        if all(type(key) is str for key in mapping):
            return {cast("str", key): _json(item, f"{path}[{key!r}]", where) for key, item in mapping.items()}
    raise TypeError(
        f"{where} returned {path} = {value!r}, which a broadcast cannot carry: return JSON values "
        "(dicts with str keys, lists, str, int, finite floats, bool, None); encode the others yourself "
        "(str(), or django_event_system.core.integration.encode_value)"
    )


def _payload(returned: object, where: str) -> dict[str, JSON]:
    if not isinstance(returned, Mapping):
        raise TypeError(f"{where} returned {returned!r}: return a dict of JSON values, or None for the default")
    checked = _json(dict(returned), "the payload", where)  # pyright: ignore[reportUnknownArgumentType]
    assert isinstance(checked, dict)
    return checked


# -- sending -------------------------------------------------------------------------------------


def _channel_layer(where: str) -> BaseChannelLayer:
    try:
        from channels.layers import get_channel_layer
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"{where} declares groups to broadcast to, and broadcasting needs Django Channels: "
            'pip install "django-event-system[channels]"'
        ) from exc
    layer = get_channel_layer()
    if layer is None:
        raise ImproperlyConfigured(
            f"{where} declares groups to broadcast to, but Django has no channel layer: set "
            'CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", ...}}'
        )
    return layer


def _send(where: str, broadcasts: list[Broadcast]) -> object:
    """Show the broadcasts to the observers; return the coroutine that sends the rest, if any."""
    with _observers_lock:
        observers = list(_observers)
    to_send = [b for b in broadcasts if not any([observer(b) for observer in observers])]  # noqa: C419 - each observer sees it
    if not to_send:
        return None
    layer = _channel_layer(where)

    async def send_broadcasts() -> None:
        for broadcast in to_send:
            await layer.group_send(broadcast.group, broadcast.message())

    return send_broadcasts()


class _EventBroadcast(HandlerWrapper):
    """The after-commit handler that broadcasts an Event class's events."""

    __slots__ = ()

    fixed_after_commit = True

    def __init__(self, cls: type[Event]) -> None:
        super().__init__(cls, f"{cls.__module__}:{cls.__qualname__}.broadcast_on")

    @property
    def after_commit(self) -> bool:
        return True

    def __call__(self, name: str, /, *args: object, **kwargs: object) -> object:
        event = args[0] if args else None
        if not isinstance(event, Event):
            return None  # dispatched by name, without an instance: nothing to ask
        where = f"{type(event).__qualname__}.broadcast_on()"
        groups = _groups(event.broadcast_on(), where)
        if not groups:
            return None
        payload_where = f"{type(event).__qualname__}.broadcast_payload()"
        returned = event.broadcast_payload()
        try:
            payload = event_payload(event) if returned is None else _payload(returned, payload_where)
        except SerializationError as exc:
            raise SerializationError(f"{exc}; or define {payload_where} to choose what is sent") from exc
        return _send(where, [Broadcast(group, name, payload) for group in groups])


class _ObserverBroadcast(HandlerWrapper):
    """The after-commit handler that broadcasts one model event for an Observer."""

    __slots__ = ("action", "observer")

    fixed_after_commit = True

    def __init__(self, observer: _BroadcastingObserver, action: ModelAction) -> None:
        cls = type(observer)
        super().__init__(cls, f"{cls.__module__}:{cls.__qualname__}.broadcast_on")
        self.observer = observer
        self.action = action

    @property
    def after_commit(self) -> bool:
        return True

    def __call__(self, name: str, /, *args: object, **kwargs: object) -> object:
        instance = args[0] if args else None
        if not isinstance(instance, Model):
            return None
        cls = type(self.observer)
        where = f"{cls.__qualname__}.broadcast_on({self.action!r}, ...)"
        groups = _groups(self.observer.broadcast_on(self.action, instance), where)
        if not groups:
            return None
        payload_where = f"{cls.__qualname__}.broadcast_payload({self.action!r}, ...)"
        returned = self.observer.broadcast_payload(self.action, instance)
        try:
            payload = instance_payload(instance) if returned is None else _payload(returned, payload_where)
        except SerializationError as exc:
            raise SerializationError(f"{exc}; or define {payload_where} to choose what is sent") from exc
        return _send(where, [Broadcast(group, name, payload) for group in groups])


def register_observer_broadcasts(
    observer: _BroadcastingObserver, dispatcher: EventDispatcher, names: Mapping[ModelAction, str], priority: int
) -> list[Registration]:
    """Register the handlers that broadcast an Observer's model events, for an Observer that
    overrides ``broadcast_on``; ``names`` are the model's event names by action."""
    return [
        dispatcher.RegisterHandler(
            re.escape(names[action]), _ObserverBroadcast(observer, action), priority=priority, after_commit=True
        )
        for action in BROADCAST_ACTIONS
    ]


# -- Event classes: one registration while the class declares broadcast_on ------------------------

_event_registrations: weakref.WeakKeyDictionary[type[Event], tuple[object, Registration]] = weakref.WeakKeyDictionary()
_classes_lock = threading.Lock()


def _declares(cls: type[Event]) -> bool:
    return cls.broadcast_on is not Event.broadcast_on


def _note_event_class(cls: type[Event], previous_dispatchers: tuple[object, ...] = ()) -> None:
    """Called when an Event class is defined or its dispatcher changes: register its broadcasts
    on its dispatcher while it declares ``broadcast_on``."""
    with _classes_lock:
        dispatcher = getattr(cls, "dispatcher", None)
        known = _event_registrations.get(cls)
        if known is not None:
            if _declares(cls) and known[0] is dispatcher and known[1].active:
                return
            known[1].cancel()
            del _event_registrations[cls]
        if _declares(cls) and isinstance(dispatcher, EventDispatcher):
            registration = dispatcher.RegisterHandler(cls, _EventBroadcast(cls), after_commit=True)
            _event_registrations[cls] = (dispatcher, registration)


def _every_event_class() -> list[type[Event]]:
    found: list[type[Event]] = []
    stack = list(Event.__subclasses__())
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


watch_event_classes(_note_event_class)
for _cls in _every_event_class():  # the classes defined before the adapter was imported
    _note_event_class(_cls)
