"""JSON encoding of event payloads for queued handlers, and the registry of revivable Event classes.

A queued handler runs in another process, so what it receives travels as JSON text. Values are
encoded by type; anything that JSON cannot carry as is becomes a one-key object whose key names
the type (``{"$decimal": "9.90"}``), so the worker rebuilds the same Python values::

    None, bool, int, float, str     as JSON (a non-finite float as {"$float": "nan"})
    list                            a JSON array; tuple: {"$tuple": [...]}
    dict with str keys              {"$dict": {...}}; other keys: {"$map": [[key, value], ...]}
    Decimal, UUID                   {"$decimal": "9.90"}, {"$uuid": "..."}
    datetime, date, time            {"$datetime": ISO 8601}, {"$date": ...}, {"$time": ...}
    timedelta                       {"$timedelta": [days, seconds, microseconds]}
    an Event instance               {"$event": {"name": ..., "id": ..., "ts": ..., "fields": {...}}}
    anything else                   a registered :class:`ValueCodec` (the Django adapter adds
                                    model instances), else :class:`SerializationError`

Reviving is the dangerous direction, so it is strict: an Event is rebuilt only if its class is
in the process's :data:`event_classes` registry, looked up by event name. Nothing named in a
message is ever imported, and no pickle is involved. A message that names an unknown class or
tag, or that does not have the expected shape, raises :class:`RejectedMessageError`.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import inspect
import math
import sys
import threading
import typing
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeAlias, TypeVar, cast

from .._errors import RejectedMessageError, SerializationError
from .._event import Event, EventMeta, is_event_class

__all__ = [
    "JSON",
    "EventClassRegistry",
    "ValueCodec",
    "decode_value",
    "encode_value",
    "event_classes",
    "register_event_class",
    "register_value_codec",
]

JSON: TypeAlias = bool | int | float | str | list["JSON"] | dict[str, "JSON"] | None
"""A value that ``json.dumps`` writes as it is."""

_E = TypeVar("_E", bound=Event)

# Reviving nests no deeper than this: a forged message cannot exhaust the stack.
MAX_DEPTH = 64


class EventClassRegistry:
    """The Event classes that queued messages may revive, by event name.

    A class gets in when a queued handler listens for it, or through :func:`register_event_class`
    (needed for an Event carried inside another one's fields or passed to a queued handler of a
    pattern). The producer checks it too, so a missing registration fails at dispatch rather
    than in the worker.
    """

    def __init__(self) -> None:
        self._classes: dict[str, type[Event]] = {}
        self._lock = threading.Lock()

    def register(self, cls: type[_E], *, nested: bool = True) -> type[_E]:
        """Allow ``cls`` to be revived from messages; returns it, so it works as a decorator.

        :param nested: also register the Event classes named in ``cls``'s field annotations
            (``child: OtherEvent``, ``items: list[OtherEvent]``), when they can be resolved.
        :raises TypeError: ``cls`` is not an Event subclass, or another class is registered
            under the same event name.
        """
        candidate: object = cls
        if not is_event_class(candidate) or candidate is Event:
            raise TypeError(f"register_event_class() takes an Event subclass, not {cls!r}")
        name = cls.__event_name__
        with self._lock:
            current = self._classes.get(name)
            if current is cls:
                return cls
            if current is not None and _qualified(current) != _qualified(cls):
                raise TypeError(
                    f"the event name {name!r} is already registered for {_qualified(current)}; "
                    f"give {_qualified(cls)} another Name to queue it"
                )
            # The same qualified name again is a re-import (a reloaded module): the newest wins.
            self._classes[name] = cls
        if nested:
            for child in _nested_event_classes(cls):
                if child.__event_name__ not in self._classes:
                    self.register(child, nested=True)
        return cls

    def unregister(self, cls: type[Event]) -> None:
        """Stop reviving ``cls`` (no error if it was not registered)."""
        with self._lock:
            if self._classes.get(cls.__event_name__) is cls:
                del self._classes[cls.__event_name__]

    def get(self, name: str) -> type[Event] | None:
        """Return the class registered under the event name ``name``, or ``None``."""
        return self._classes.get(name)

    def __contains__(self, cls: object) -> bool:
        return isinstance(cls, type) and self._classes.get(getattr(cls, "__event_name__", "")) is cls

    def __iter__(self) -> Iterator[type[Event]]:
        return iter(list(self._classes.values()))

    def __len__(self) -> int:
        return len(self._classes)


event_classes: EventClassRegistry = EventClassRegistry()
"""The process-wide registry of Event classes that messages may revive."""


def register_event_class(cls: type[_E]) -> type[_E]:
    """Allow ``cls`` (and the Event classes in its field annotations) to travel to queued handlers.

    Usable as a class decorator. Classes that a queued handler listens for are registered
    already; register the others that travel inside payloads, in a module that both the
    dispatching process and the workers import.
    """
    return event_classes.register(cls)


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _nested_event_classes(cls: type[Event]) -> list[type[Event]]:
    """The Event classes mentioned in ``cls``'s field annotations, as far as they resolve."""
    found: list[type[Event]] = []
    stack: list[object] = []
    for klass in cls.__mro__:
        if not (isinstance(klass, EventMeta) and klass is not Event):
            continue
        module = sys.modules.get(klass.__module__)
        namespace = dict(vars(module)) if module is not None else {}
        for hint in inspect.get_annotations(klass).values():
            if isinstance(hint, str):
                # The class's own source code (postponed annotations), never a message's text.
                try:
                    hint = eval(hint, namespace, dict(vars(klass)))
                except Exception:
                    continue  # not resolvable here: such classes are registered explicitly
            stack.append(hint)
    while stack:
        hint = stack.pop()
        if isinstance(hint, type) and issubclass(hint, Event) and hint is not Event and hint is not cls:
            found.append(hint)
        stack.extend(typing.get_args(hint))
    return found


class ValueCodec(Protocol):
    """Encodes one more kind of value, under the tag ``$<tag>``.

    ``decode`` receives what ``encode`` returned, from an untrusted message: it must check it
    and raise :class:`RejectedMessageError` for anything unexpected.
    """

    tag: str

    def can_encode(self, value: object) -> bool:
        """Whether this codec handles ``value``."""
        ...

    def encode(self, value: Any) -> JSON:
        """Return the JSON form of ``value``."""

    def decode(self, data: JSON) -> object:
        """Rebuild a value from what :meth:`encode` returned."""


_BUILTIN_TAGS = frozenset(
    {"$float", "$tuple", "$dict", "$map", "$decimal", "$uuid", "$datetime", "$date", "$time", "$timedelta", "$event"}
)
_codecs: dict[str, ValueCodec] = {}


def register_value_codec(codec: ValueCodec) -> Callable[[], None]:
    """Teach the encoder another type; returns a function that removes the codec again.

    :raises ValueError: the tag is taken.
    """
    tag = f"${codec.tag}"
    if not codec.tag.isidentifier() or tag in _BUILTIN_TAGS or tag in _codecs:
        raise ValueError(f"the value codec tag {codec.tag!r} is taken or not an identifier")
    _codecs[tag] = codec

    def remove() -> None:
        if _codecs.get(tag) is codec:
            del _codecs[tag]

    return remove


# -- encoding ---------------------------------------------------------------------------------


def encode_value(value: object, path: str = "payload") -> JSON:
    """Return the JSON form of ``value``; ``path`` names it in error messages.

    :raises SerializationError: the value (or something inside it) has a type that cannot travel.
    """
    kind = type(value)
    # Exact types, not isinstance: a subclass (an IntEnum, a str subclass) would not come back
    # as itself, so it is refused rather than silently changed.
    if kind is str or kind is int or kind is bool or value is None:
        return cast("JSON", value)
    if kind is float:
        number = cast("float", value)
        return number if math.isfinite(number) else {"$float": repr(number)}
    if kind is list or kind is tuple:
        items = [encode_value(item, f"{path}[{index}]") for index, item in enumerate(cast("list[Any]", value))]
        return items if kind is list else {"$tuple": items}
    if kind is dict:
        return _encode_dict(cast("dict[Any, Any]", value), path)
    if kind is decimal.Decimal:
        return {"$decimal": str(value)}
    if kind is datetime.datetime or kind is datetime.date or kind is datetime.time:
        moment = cast("datetime.date", value)
        return {f"${kind.__name__}": moment.isoformat()}
    if kind is datetime.timedelta:
        span = cast("datetime.timedelta", value)
        return {"$timedelta": [span.days, span.seconds, span.microseconds]}
    if kind is uuid.UUID:
        return {"$uuid": str(value)}
    if isinstance(value, Event):
        return {"$event": encode_event(value, path)}
    for tag, codec in _codecs.items():
        if codec.can_encode(value):
            return {tag: codec.encode(value)}
    raise SerializationError(
        f"{path} is a {kind.__module__}.{kind.__qualname__}, which queued handlers cannot receive: "
        "pass str, int, float, bool, None, Decimal, datetime, date, time, timedelta, UUID, "
        "lists, tuples and dicts of those, registered Event instances or model instances"
    )


def encode_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[list[JSON], dict[str, JSON]]:
    """Return the JSON forms of a handler's positional and keyword arguments.

    :raises SerializationError: an argument cannot travel; it is named ``args[i]`` or ``kwargs['key']``.
    """
    return (
        [encode_value(value, f"args[{index}]") for index, value in enumerate(args)],
        {key: encode_value(value, f"kwargs[{key!r}]") for key, value in kwargs.items()},
    )


def _encode_dict(value: dict[Any, Any], path: str) -> JSON:
    if all(type(key) is str for key in value):
        return {"$dict": {key: encode_value(item, f"{path}[{key!r}]") for key, item in value.items()}}
    return {
        "$map": [
            [encode_value(key, f"{path} key {key!r}"), encode_value(item, f"{path}[{key!r}]")]
            for key, item in value.items()
        ]
    }


def encode_event(event: Event, path: str = "event") -> dict[str, JSON]:
    """Return the JSON form of an Event: its name, id, timestamp and public attributes.

    :raises SerializationError: the class is not registered, or a field cannot travel.
    """
    cls = type(event)
    if event_classes.get(cls.__event_name__) is not cls:
        raise SerializationError(
            f"{path} is a {_qualified(cls)}, which is not registered for queued handlers: "
            f"call register_event_class({cls.__qualname__}) in a module that the workers import too"
        )
    fields = {key: encode_value(item, f"{path}.{key}") for key, item in vars(event).items() if not key.startswith("_")}
    return {"name": cls.__event_name__, "id": event.event_id, "ts": event.__dict__["_event_ts"], "fields": fields}


# -- decoding ---------------------------------------------------------------------------------


def decode_value(data: object, depth: int = 0) -> Any:
    """Rebuild a value from its JSON form, as parsed from an untrusted message.

    :raises RejectedMessageError: the data is not something :func:`encode_value` produces, or names
        an Event class that is not registered.
    """
    kind = type(data)
    if kind is str or kind is int or kind is bool or kind is float or data is None:
        return data
    if depth > MAX_DEPTH:
        raise RejectedMessageError(f"the payload nests deeper than {MAX_DEPTH} levels")
    value = cast("JSON", data)  # parsed from the message's JSON
    if type(value) is list:
        return [decode_value(item, depth + 1) for item in value]
    if type(value) is not dict or len(value) != 1:
        raise RejectedMessageError(f"unexpected value in the payload: {_preview(value)}")
    ((tag, inner),) = value.items()
    try:
        decoder = _DECODERS[tag]
    except KeyError:
        codec = _codecs.get(tag)
        if codec is None:
            raise RejectedMessageError(f"unknown value tag {tag!r} in the payload") from None
        return codec.decode(inner)
    try:
        return decoder(inner, depth + 1)
    except RejectedMessageError:
        raise
    except (TypeError, ValueError, ArithmeticError, AttributeError) as exc:
        raise RejectedMessageError(f"malformed {tag} value {_preview(inner)}: {exc}") from None


def _preview(data: object) -> str:
    text = repr(data)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _decode_float(data: JSON, depth: int) -> float:
    if data not in ("nan", "inf", "-inf"):
        raise ValueError("expected 'nan', 'inf' or '-inf'")
    return float(str(data))


def _decode_tuple(data: JSON, depth: int) -> tuple[Any, ...]:
    if type(data) is not list:
        raise TypeError("expected a list")
    return tuple(decode_value(item, depth) for item in data)


def _decode_dict(data: JSON, depth: int) -> dict[str, Any]:
    if type(data) is not dict:
        raise TypeError("expected an object")
    return {key: decode_value(item, depth) for key, item in data.items()}


def _decode_map(data: JSON, depth: int) -> dict[Any, Any]:
    if type(data) is not list or not all(type(pair) is list and len(pair) == 2 for pair in data):
        raise TypeError("expected a list of [key, value] pairs")
    pairs = cast("list[list[JSON]]", data)
    return {decode_value(key, depth): decode_value(item, depth) for key, item in pairs}


def _str(data: JSON) -> str:
    if type(data) is not str:
        raise TypeError("expected a string")
    return data


def _decode_decimal(data: JSON, depth: int) -> decimal.Decimal:
    try:
        return decimal.Decimal(_str(data))
    except decimal.InvalidOperation:
        raise ValueError("not a decimal number") from None


def _decode_timedelta(data: JSON, depth: int) -> datetime.timedelta:
    if type(data) is not list or len(data) != 3 or not all(type(part) is int for part in data):
        raise TypeError("expected [days, seconds, microseconds]")
    days, seconds, microseconds = cast("list[int]", data)
    return datetime.timedelta(days=days, seconds=seconds, microseconds=microseconds)


def _decode_event_value(data: JSON, depth: int) -> Event:
    return decode_event(data, depth)


_DECODERS: dict[str, Callable[[JSON, int], Any]] = {
    "$float": _decode_float,
    "$tuple": _decode_tuple,
    "$dict": _decode_dict,
    "$map": _decode_map,
    "$decimal": _decode_decimal,
    "$uuid": lambda data, depth: uuid.UUID(_str(data)),
    "$datetime": lambda data, depth: datetime.datetime.fromisoformat(_str(data)),
    "$date": lambda data, depth: datetime.date.fromisoformat(_str(data)),
    "$time": lambda data, depth: datetime.time.fromisoformat(_str(data)),
    "$timedelta": _decode_timedelta,
    "$event": _decode_event_value,
}


def decode_event(data: object, depth: int = 0) -> Event:
    """Revive an Event from :func:`encode_event`'s output, if its class is registered here.

    The instance is rebuilt without calling ``__init__`` (as a copy would be): its id,
    timestamp and public attributes are those that were sent.

    :raises RejectedMessageError: the class is not registered, or the data does not fit it.
    """
    message = cast("JSON", data)  # parsed from the message's JSON
    if type(message) is not dict or set(message) != {"name", "id", "ts", "fields"}:
        raise RejectedMessageError(f"malformed event in the payload: {_preview(message)}")
    name, event_id, timestamp, fields = message["name"], message["id"], message["ts"], message["fields"]
    if type(name) is not str or type(event_id) is not str or type(timestamp) not in (int, float):
        raise RejectedMessageError(f"malformed event header in the payload: {_preview(message)}")
    if type(fields) is not dict:
        raise RejectedMessageError(f"malformed fields of event {name!r}: {_preview(fields)}")
    timestamp = cast("float", timestamp)
    if utc_moment(timestamp) is None:
        raise RejectedMessageError(f"the message's {name!r} event has a timestamp out of range: {_preview(timestamp)}")
    cls = event_classes.get(name)
    if cls is None:
        raise RejectedMessageError(
            f"the message names the event class {name!r}, which is not registered in this process; "
            "nothing was imported or instantiated. Register it with register_event_class() in a "
            "module that the workers import."
        )
    declared: set[str] = {field.name for field in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
    missing = declared - fields.keys()
    if missing:
        raise RejectedMessageError(f"the message's {name!r} event lacks the fields {sorted(missing)}")
    for key in fields:
        if not key.isidentifier() or key.startswith("_") or (key not in declared and _is_class_behaviour(cls, key)):
            raise RejectedMessageError(f"the message's {name!r} event has the forbidden attribute {key!r}")
    event = object.__new__(cls)
    attributes = vars(event)
    for key, item in fields.items():
        attributes[key] = decode_value(item, depth + 1)
    attributes["_event_id"] = event_id
    attributes["_event_ts"] = float(timestamp)
    return event


def utc_moment(timestamp: float) -> datetime.datetime | None:
    """The aware UTC datetime of a POSIX timestamp read from a message; ``None`` if none can hold it."""
    try:
        return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    except (OverflowError, ValueError, OSError):  # which one depends on the value and the platform
        return None


def _is_class_behaviour(cls: type, key: str) -> bool:
    """Whether an instance attribute ``key`` would hide the Event API or a method of ``cls``."""
    if hasattr(Event, key):
        return True
    for klass in cls.__mro__:
        if key in klass.__dict__:
            attribute = klass.__dict__[key]
            return callable(attribute) or hasattr(attribute, "__get__")
    return False
