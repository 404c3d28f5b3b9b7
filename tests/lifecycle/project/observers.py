"""Autodiscovered: writes down each created Example as handled, by its primary key."""

from __future__ import annotations

from django_event_system import Observer
from tests.django.testapp.models import Example
from tests.lifecycle.records import handled


class RecordCreated(Observer[Example]):
    """The id of the event of a created Example is ``example-<pk>``."""

    observes = Example

    def created(self, event_name: str, instance: Example) -> None:
        handled(f"example-{instance.pk}")
