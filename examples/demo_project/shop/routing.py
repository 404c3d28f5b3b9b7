"""The shop's websocket routes, which the project's ASGI application (``demo/asgi.py``) serves."""

from __future__ import annotations

from typing import Any, cast

from django.urls import URLPattern, path

from .consumers import LiveOrdersConsumer

# cast: Django's path() is typed for views; Channels' URLRouter takes ASGI applications there too.
websocket_urlpatterns: list[URLPattern] = [path("ws/events/", cast("Any", LiveOrdersConsumer.as_asgi()))]
