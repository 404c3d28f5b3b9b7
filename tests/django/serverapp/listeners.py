"""Autodiscovered by the test server: a handler that waits until the test releases it."""

from __future__ import annotations

import gevent.event

from django_event_system import EventListener
from tests.django.testapp.models import HandledEvent

released = gevent.event.Event()


class HeldHandler(EventListener):
    """Records that it started, waits for ``/release/``, then records that it finished."""

    listensFor = ["server::held"]

    def handle(self, event: str) -> None:
        HandledEvent.objects.create(name="held::started")
        released.wait()
        HandledEvent.objects.create(name="held::finished")
