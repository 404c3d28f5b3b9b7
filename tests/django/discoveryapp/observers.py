"""Found by autodiscovery (and imported by the app's ready(), the 1.0 way)."""

from __future__ import annotations

from django_event_system import Observer
from tests.django.testapp.models import Example

created: list[str] = []


class DiscoveredObserver(Observer[Example]):
    observes = Example

    def created(self, event_name: str, instance: Example) -> None:
        created.append(instance.name)
