"""The demo's ASGI application (``live.py`` serves it): Django's views over HTTP, and the
``/ws/events/`` websocket that the live orders page subscribes through (``shop/routing.py``)."""

from __future__ import annotations

import os
from importlib import import_module
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
django_application = get_asgi_application()  # sets Django up before the consumers are imported

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

# Imported by name: the type checkers see the examples as one tree, where ``shop`` is not top-level.
websocket_urlpatterns: list[Any] = import_module("shop.routing").websocket_urlpatterns

application = ProtocolTypeRouter(
    {"http": django_application, "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns))}
)
