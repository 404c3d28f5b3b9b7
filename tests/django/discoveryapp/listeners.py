"""Found by autodiscovery."""

from __future__ import annotations

from django_event_system import EventListener

heard: list[str] = []


class DiscoveredListener(EventListener):
    listensFor = ["discovery::.*"]

    def handle(self, event: str) -> None:
        heard.append(event)
