"""Events in the browser, over Django Channels: :class:`EventConsumer`, a websocket consumer that
clients subscribe to groups through, and :class:`InProcessChannelLayer`.

Needs the extra: ``pip install "django-event-system[channels]"`` (Channels, and channels-redis
for a channel layer that reaches every server process). Nothing else in the package imports this
module or Channels, except the broadcasts themselves, on the first one sent.

The protocol, one JSON object a frame; what the client sends, and what the consumer answers:

``{"subscribe": "orders.7"}``
    ``{"subscribed": "orders.7"}``, then each event broadcast to the group:
    ``{"event": NAME, "group": "orders.7", "payload": {...}}``.
``{"unsubscribe": "orders.7"}``
    ``{"unsubscribed": "orders.7"}``.
anything else, a refused group name, a group that :meth:`EventConsumer.can_subscribe` denies
    ``{"error": CODE, "message": "what was wrong and what to send"}`` (``CODE`` is one of
    :data:`ERROR_CODES`); the connection stays open.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar, cast

try:
    from channels.generic.websocket import AsyncJsonWebsocketConsumer
    from channels.layers import BaseChannelLayer, InMemoryChannelLayer
except ImportError as _missing:  # pragma: no cover - exercised in a subprocess without Channels
    raise ImportError(
        'django_event_system.channels needs Django Channels: pip install "django-event-system[channels]"'
    ) from _missing

from .django import Broadcast

__all__ = ["ERROR_CODES", "EventConsumer", "InProcessChannelLayer"]

ERROR_CODES: tuple[str, ...] = (
    "not-json",
    "bad-frame",
    "unknown-command",
    "invalid-group",
    "denied",
    "not-subscribed",
    "too-many-subscriptions",
    "no-channel-layer",
)
"""The ``error`` codes of the consumer's error frames."""

_PREVIEW = 80


def _preview(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 3] + "..."


class EventConsumer(AsyncJsonWebsocketConsumer):
    """A JSON websocket consumer that clients subscribe to groups through, to receive the events
    broadcast to them (``broadcast_on()`` on Event classes and Observers).

    Route it in your ASGI application (``path("ws/events/", MyConsumer.as_asgi())``), behind
    ``channels.auth.AuthMiddlewareStack`` for :attr:`user`, and override :meth:`can_subscribe`:
    every subscription is denied until you do. ``max_subscriptions`` bounds the groups one
    connection may join (100 by default).
    """

    max_subscriptions: ClassVar[int] = 100
    """The most groups one connection may be subscribed to at once."""

    subscriptions: set[str]
    """The groups this connection is subscribed to."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subscriptions = set()

    @property
    def user(self) -> Any:
        """The connection's user (``scope["user"]``, set by ``AuthMiddlewareStack``), else ``None``."""
        return self.scope.get("user")

    def _layer(self) -> BaseChannelLayer | None:
        # None without CHANNEL_LAYERS (the stubs say otherwise).
        layer: BaseChannelLayer | None = getattr(self, "channel_layer", None)
        return layer

    async def can_subscribe(self, group: str) -> bool:
        """Whether this connection may receive what is broadcast to ``group``: ``False`` (deny)
        unless a subclass says otherwise. :attr:`user` and ``self.scope`` are there to decide::

            class CustomerConsumer(EventConsumer):
                async def can_subscribe(self, group: str) -> bool:
                    return group == f"customers.{self.user.pk}"
        """
        return False

    async def error(self, code: str, message: str) -> None:
        """Send an error frame, ``{"error": code, "message": message}``; the connection stays open."""
        await self.send_json({"error": code, "message": message})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        """Read one frame; one that is not JSON text gets an error frame, not a closed connection."""
        if text_data is None:
            await self.error("not-json", 'send text frames of JSON, such as {"subscribe": "orders.7"}, not binary ones')
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self.error(
                "not-json", f'the frame {_preview(text_data)} is not JSON: send {{"subscribe": "orders.7"}}'
            )
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Carry out ``{"subscribe": GROUP}`` or ``{"unsubscribe": GROUP}``."""
        frame = cast("dict[object, object]", content) if isinstance(content, dict) else None
        if frame is None or len(frame) != 1:
            await self.error(
                "bad-frame",
                'a frame is a JSON object with one key, such as {"subscribe": "orders.7"}; '
                f"got {_preview(cast('object', content))}",
            )
            return
        ((command, group),) = frame.items()
        if command not in ("subscribe", "unsubscribe"):
            await self.error(
                "unknown-command",
                f'unknown command {command!r}: send {{"subscribe": GROUP}} or {{"unsubscribe": GROUP}}',
            )
            return
        layer = self._layer()
        if layer is None:
            await self.error(
                "no-channel-layer", "this server has no channel layer (CHANNEL_LAYERS): nothing is broadcast"
            )
            return
        try:
            layer.require_valid_group_name(group)
        except TypeError as exc:
            await self.error("invalid-group", f"{_preview(group)} is not a group name Channels accepts: {exc}")
            return
        name = cast("str", group)  # Channels checked it
        if command == "subscribe":
            await self.subscribe(name)
        else:
            await self.unsubscribe(name)

    async def subscribe(self, group: str) -> None:
        """Join ``group`` if :meth:`can_subscribe` allows it, and say so to the client."""
        if group not in self.subscriptions:
            if len(self.subscriptions) >= self.max_subscriptions:
                await self.error(
                    "too-many-subscriptions",
                    f"cannot subscribe to {group!r}: this connection is subscribed to {len(self.subscriptions)} "
                    f"groups already, the most it may (max_subscriptions); unsubscribe from one first",
                )
                return
            if not await self.can_subscribe(group):
                await self.error("denied", f"not allowed to subscribe to {group!r}")
                return
            await self.channel_layer.group_add(group, self.channel_name)
            self.subscriptions.add(group)
        await self.send_json({"subscribed": group})

    async def unsubscribe(self, group: str) -> None:
        """Leave ``group``, and say so to the client."""
        if group not in self.subscriptions:
            await self.error("not-subscribed", f"cannot unsubscribe from {group!r}: not subscribed to it")
            return
        self.subscriptions.discard(group)
        await self.channel_layer.group_discard(group, self.channel_name)
        await self.send_json({"unsubscribed": group})

    async def event_message(self, message: dict[str, Any]) -> None:
        """A broadcast (a channel-layer message of type ``event.message``): send it to the client."""
        group = message.get("group")
        if message.get("type") == Broadcast.message_type and group in self.subscriptions:
            await self.send_json({"event": message.get("event"), "group": group, "payload": message.get("payload")})

    async def disconnect(self, code: int) -> None:
        """Leave every group."""
        layer = self._layer()
        if layer is not None:
            for group in list(self.subscriptions):
                await layer.group_discard(group, self.channel_name)
        self.subscriptions.clear()


class InProcessChannelLayer(InMemoryChannelLayer):
    """Channels' in-memory layer, which broadcasts reach from any thread: for one server process
    (development, the demo, tests), not for several.

    Channels' ``InMemoryChannelLayer`` may only be used from the event loop its consumers run on,
    and broadcasts are sent from the library's own loop, in another thread. This layer remembers
    the loop that receives (the ASGI server's) and sends there::

        CHANNEL_LAYERS = {"default": {"BACKEND": "django_event_system.channels.InProcessChannelLayer"}}
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._home: asyncio.AbstractEventLoop | None = None

    def _elsewhere(self) -> asyncio.AbstractEventLoop | None:
        home = self._home
        if home is None or not home.is_running() or home is asyncio.get_running_loop():
            return None
        return home

    async def receive(self, channel: str) -> dict[str, Any]:
        """Receive on ``channel``; the loop that receives becomes the one sends go to."""
        self._home = asyncio.get_running_loop()
        return await super().receive(channel)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """Send ``message`` to ``channel``, on the loop that receives."""
        home = self._elsewhere()
        if home is None:
            await super().send(channel, message)
        else:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(super().send(channel, message), home))

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every channel of ``group``, on the loop that receives."""
        home = self._elsewhere()
        if home is None:
            await super().group_send(group, message)
        else:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(super().group_send(group, message), home))
