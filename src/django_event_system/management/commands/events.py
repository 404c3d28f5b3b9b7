"""``manage.py events``: the command lives in the Django adapter (``django_event_system.django``)."""

from __future__ import annotations

from django_event_system.django import EventsCommand as Command

__all__ = ["Command"]
