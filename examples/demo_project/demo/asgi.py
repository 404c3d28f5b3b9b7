"""The demo's ASGI application (``live.py`` serves it): Django's views over HTTP, and the
``/ws/events/`` websocket that the live orders page subscribes through."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
django_application = get_asgi_application()  # sets Django up before the consumers are imported

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from shop.consumers import LiveOrdersConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": AuthMiddlewareStack(URLRouter([path("ws/events/", LiveOrdersConsumer.as_asgi())])),
    }
)
