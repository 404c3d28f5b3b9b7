"""The ``observer`` variant: found by the event system's autodiscovery, installed only then."""

from __future__ import annotations

from django_event_system import Observer

from .handler import slow_io
from .models import Row


class RowObserver(Observer[Row]):
    """Runs the handler for each row created, in a worker greenlet, after the view has answered."""

    observes = Row

    def created(self, event_name: str, row: Row) -> None:
        slow_io(row)
