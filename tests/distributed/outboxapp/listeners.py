"""The queued listeners of the outbox scenarios, found by the adapter's autodiscovery."""

from __future__ import annotations

from typing import ClassVar

from django_event_system import EventListener, RegisterSignalsFor
from django_event_system.core import current_delivery
from django_event_system.django import model_event_name

from .models import Effect, Letter, Parcel

RegisterSignalsFor(Parcel)
RegisterSignalsFor(Letter)


class RecordsEffect(EventListener):
    """A queued listener whose every run writes one Effect of ``kind`` for the saved instance."""

    abstract = True
    queued = True
    kind: ClassVar[str]

    def handle(self, event: str, instance: Parcel | Letter) -> None:
        delivery = current_delivery()
        assert delivery is not None
        Effect.objects.create(kind=self.kind, reference=instance.reference, event_id=delivery.event_id)


class ShipParcel(RecordsEffect):
    """Uses the outbox: its message is a row written with the parcel."""

    listensFor = [model_event_name(Parcel, "created")]
    outbox = True
    kind = "parcel"


class PostLetter(RecordsEffect):
    """The control: sent after the commit by the web process itself, as without the outbox."""

    listensFor = [model_event_name(Letter, "created")]
    outbox = False
    kind = "letter"
