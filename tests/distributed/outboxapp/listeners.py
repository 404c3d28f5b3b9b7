"""The queued listeners of the outbox scenarios, found by the adapter's autodiscovery."""

from __future__ import annotations

from django_event_system import EventListener, RegisterSignalsFor
from django_event_system.core import current_delivery
from django_event_system.django import model_event_name

from .models import Effect, Letter, Parcel

RegisterSignalsFor(Parcel)
RegisterSignalsFor(Letter)


def record(kind: str, reference: str) -> None:
    delivery = current_delivery()
    assert delivery is not None
    Effect.objects.create(kind=kind, reference=reference, event_id=delivery.event_id)


class ShipParcel(EventListener):
    """Uses the outbox: its message is a row written with the parcel."""

    listensFor = [model_event_name(Parcel, "created")]
    queued = True
    outbox = True

    def handle(self, event: str, parcel: Parcel) -> None:
        record("parcel", parcel.reference)


class PostLetter(EventListener):
    """The control: sent after the commit by the web process itself, as without the outbox."""

    listensFor = [model_event_name(Letter, "created")]
    queued = True
    outbox = False

    def handle(self, event: str, letter: Letter) -> None:
        record("letter", letter.reference)
