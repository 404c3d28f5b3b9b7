"""The Observer of the worker tests, found by the adapter's autodiscovery."""

from __future__ import annotations

from django_event_system import Observer

from .models import Note, Receipt


class NoteObserver(Observer[Note]):
    """Records each handling of a note's ``created`` event, in the process that saved it."""

    observes = Note

    def created(self, event_name: str, note: Note, /) -> None:
        Receipt.objects.create(kind="observed", reference=note.key)
