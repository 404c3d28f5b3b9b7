"""The shop's listeners and signal mappings, found at start-up by the event system's autodiscovery."""

from __future__ import annotations

import gevent
from django.contrib.auth.signals import user_logged_in

from django_event_system import EventListener, SignalToEvent

from .console import say
from .events import CustomerLoggedIn, OrderPlaced
from .models import Order

# Django's signal becomes an event: CustomerLoggedIn is built from the signal's ``user``.
SignalToEvent(user_logged_in, event=CustomerLoggedIn)


class Welcome(EventListener):
    listensFor = [CustomerLoggedIn]

    def handle(self, event: CustomerLoggedIn) -> None:
        say("welcome", f"{event.user.get_username()} logged in")


class SendConfirmation(EventListener):
    """Slow on purpose: stands for a call to a mail service that takes a second and a half."""

    listensFor = [OrderPlaced]

    def handle(self, event: OrderPlaced) -> None:
        say("mail", f"sending the confirmation of order #{event.order_id} to {event.customer} (1.5 s)...")
        gevent.sleep(1.5)  # cooperative: the server keeps serving requests meanwhile
        Order.objects.filter(pk=event.order_id).update(confirmation_sent=True)
        say("mail", f"confirmation of order #{event.order_id} sent")


class Audit(EventListener):
    """A pattern: every model created, whatever the model."""

    listensFor = ["events::db::(.*)::created"]

    def handle(self, event: str, instance: object) -> None:
        say("audit", f"{event}: {instance}")
