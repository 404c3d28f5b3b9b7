"""Autodiscovered by the test server: records each created Example from a delivery greenlet."""

from __future__ import annotations

from django_event_system import Observer
from tests.django.testapp.models import Example, HandledEvent


class RecordCreated(Observer[Example]):
    """Writes a row, so that the delivery greenlet opens a database connection of its own."""

    observes = Example

    def created(self, event_name: str, instance: Example) -> None:
        HandledEvent.objects.create(name=event_name, object_id=str(instance.pk))
