"""The Django adapter: model Observers, signals mapped to events, and the app that ties them in.

Add ``"django_event_system"`` to ``INSTALLED_APPS``. Importing this package touches no
settings; defining an Observer needs the app registry to be ready (as any model import does).
"""

from __future__ import annotations

from . import _suppression  # noqa: F401  # pyright: ignore[reportUnusedImport] - importing it adds the targets of without_events
from ._apps import DjangoEventSystemConfig, autodiscover
from ._broadcast import Broadcast, BroadcastObserver, observe_broadcasts
from ._changes import FieldChange, ModelChanges, get_changes
from ._command import EventsCommand
from ._inline import WriteRefused
from ._managers import EventManager, EventManagerMixin, EventQuerySet
from ._models import ModelAction, model_event_name
from ._observer import Observer
from ._payloads import BulkCreated, BulkUpdated, M2MChanged, QuerysetUpdated
from ._settings import conf
from ._signals import HookResult, RegisterSignalsFor, SignalMapping, SignalToEvent

__all__ = [
    "Broadcast",
    "BroadcastObserver",
    "BulkCreated",
    "BulkUpdated",
    "DjangoEventSystemConfig",
    "EventManager",
    "EventManagerMixin",
    "EventQuerySet",
    "EventsCommand",
    "FieldChange",
    "HookResult",
    "M2MChanged",
    "ModelAction",
    "ModelChanges",
    "Observer",
    "QuerysetUpdated",
    "RegisterSignalsFor",
    "SignalMapping",
    "SignalToEvent",
    "WriteRefused",
    "autodiscover",
    "conf",
    "get_changes",
    "model_event_name",
    "observe_broadcasts",
]
