"""The message format of queued handlers: written by the sending side, read by the worker side.

A message body is a JSON object, one queued handler's share of one event::

    {"v": 1, "handler": "app.listeners:send_receipt", "name": "app::events::OrderPlaced",
     "id": "<uuid>", "ts": 1767225600.0, "event": {...} | null, "args": [...], "kwargs": {...}}

``event`` is the encoded Event instance (see ``_serialization``), ``null`` for a string event;
``args`` and ``kwargs`` are the other arguments, encoded value by value. An outbox message has
``"outbox": true`` as its first member. This module is the only place that writes or reads it.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from .._errors import RejectedMessageError
from .._event import Event
from ._serialization import decode_event, decode_value, encode_arguments, encode_event, utc_moment

__all__ = [
    "MESSAGE_VERSION",
    "Envelope",
    "MalformedMessageError",
    "Message",
    "decode_payload",
    "encode_message",
    "outbox_message",
    "read_envelope",
    "split_event",
]

MESSAGE_VERSION = 1
"""The version of the message format, the body's ``"v"``."""

_KEYS = frozenset({"v", "handler", "name", "id", "ts", "event", "args", "kwargs"})
_OUTBOX_KEYS = _KEYS | {"outbox"}


@dataclass(frozen=True)
class Message:
    """One queued handler's share of one event, ready to send.

    ``body`` is the JSON text that the worker receives; the other attributes repeat what is in
    it, for routing and for logs.
    """

    body: str
    """The JSON text to deliver to :func:`~django_event_system.core.process_message`."""
    event_id: str
    """The event's unique id (the same for every queued handler of one Event instance)."""
    event_name: str
    handler: str
    """The key of the queued handler, ``module:qualname`` unless given explicitly."""
    queue: str | None = None
    """The queue name the handler asked for, or ``None`` for the transport's default."""


def encode_message(
    key: str,
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    queue: str | None,
    *,
    encoded: dict[str, Any] | None = None,
) -> Message:
    """Encode one delivery of event ``name`` to the queued handler ``key``.

    An Event (the first argument, if it is one) is sent as ``encoded``, its encoding at dispatch,
    when given; a string event has no instance to carry an identity, so each of its messages gets
    its own id.

    :raises SerializationError: something in the payload cannot travel.
    """
    event, rest = split_event(args)
    if event is not None:
        encoded_event: Any = encoded or encode_event(event)
        event_id = encoded_event["id"]
        timestamp = encoded_event["ts"]
    else:
        encoded_event = None
        event_id = str(uuid.uuid4())
        timestamp = time.time()
    encoded_args, encoded_kwargs = encode_arguments(rest, kwargs)
    body = {
        "v": MESSAGE_VERSION,
        "handler": key,
        "name": name,
        "id": event_id,
        "ts": timestamp,
        "event": encoded_event,
        "args": encoded_args,
        "kwargs": encoded_kwargs,
    }
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return Message(text, event_id, name, key, queue)


def outbox_message(message: Message) -> Message:
    """``message`` marked as an outbox message, which the worker runs once per event and handler."""
    # The body is always a JSON object: the mark is its first member.
    body = '{"outbox":true,' + message.body[1:]
    return Message(body, message.event_id, message.event_name, message.handler, message.queue)


def split_event(args: tuple[Any, ...]) -> tuple[Event | None, tuple[Any, ...]]:
    """A delivery's Event (its first argument, if it is one) and the arguments after it."""
    if args and isinstance(args[0], Event):
        return args[0], args[1:]
    return None, args


@dataclass(frozen=True)
class Envelope:
    """A message body that has the shape of a message; its payload is not decoded yet."""

    handler: str
    name: str
    event_id: str
    occurred_at: Any
    """An aware UTC datetime."""
    outbox: bool
    fields: dict[str, Any]


def read_envelope(body: str | bytes) -> Envelope:
    """Check that ``body`` is a message of this version; nothing in it is decoded or imported.

    :raises ~django_event_system.core.RejectedMessageError: it is not (a ``MalformedMessageError``);
        the error says why, its ``detail`` quotes the body, and its ``event_id`` is set once the id
        is known.
    """
    try:
        # Any until checked just below: read as the dict it must be.
        fields: dict[str, Any] = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, TypeError, RecursionError) as exc:
        raise _rejected("the body is not JSON", f" ({exc}): {_preview(body)}") from None
    if (
        type(fields) is not dict
        or (fields.keys() != _KEYS and fields.keys() != _OUTBOX_KEYS)
        or fields["v"] != MESSAGE_VERSION
        or fields.get("outbox", True) is not True
    ):
        raise _rejected("the body is not a queued event message", f": {_preview(body)}")
    key, name, event_id = fields["handler"], fields["name"], fields["id"]
    if type(key) is not str or type(name) is not str or type(event_id) is not str:
        raise _rejected("the message's handler, name or id is not a string", f": {_preview(body)}")
    if type(fields["args"]) is not list or type(fields["kwargs"]) is not dict:
        raise _rejected("the message's args or kwargs are malformed", f": {_preview(body)}", event_id)
    if type(fields["ts"]) not in (int, float):
        raise _rejected("the message's timestamp is not a number", f": {_preview(body)}", event_id)
    occurred_at = utc_moment(fields["ts"])
    if occurred_at is None:
        raise _rejected(
            f"the message's timestamp {_preview(fields['ts'])} is out of range (event {name!r}, id {event_id})",
            event_id=event_id,
        )
    return Envelope(key, name, event_id, occurred_at, "outbox" in fields, fields)


def decode_payload(envelope: Envelope) -> tuple[tuple[Any, ...], dict[str, Any], Event | None]:
    """The handler's arguments, as the dispatching code passed them, and the Event among them.

    :raises RejectedMessageError: an Event of a class not registered for reviving, or one whose
        name and id are not the message's.
    """
    fields = envelope.fields
    event: Event | None = None
    if fields["event"] is not None:
        event = decode_event(fields["event"])
        if type(event).__event_name__ != envelope.name or event.event_id != envelope.event_id:
            raise RejectedMessageError("the message's event does not match its name and id")
    args = tuple(decode_value(value, 1) for value in fields["args"])
    kwargs = {key: decode_value(value, 1) for key, value in fields["kwargs"].items()}
    if event is not None:
        args = (event, *args)
    return args, kwargs, event


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _preview(body: object) -> str:
    text = repr(body)
    return text if len(text) <= 200 else f"{text[:197]}..."


class MalformedMessageError(RejectedMessageError):
    """Raised by :func:`read_envelope`: ``str()`` is the reason; :attr:`detail` quotes the body."""

    def __init__(self, reason: str, detail: str, event_id: str | None) -> None:
        super().__init__(reason)
        self.detail = detail
        self.event_id = event_id


def _rejected(reason: str, detail: str = "", event_id: str | None = None) -> MalformedMessageError:
    return MalformedMessageError(reason, detail, event_id)
