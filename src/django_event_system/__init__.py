"""django-event-system: string-named events, regex listeners and asynchronous dispatch on gevent.

The core names (``Dispatcher``, ``Event``, ``EventListener``, ``GetPathFromClass``...) import
no Django. The Django-bound names (``Observer``, ``RegisterSignalsFor``, ``SignalToEvent``,
``WriteRefused``...) are loaded on first use, so ``import django_event_system`` works before
settings are configured.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .core import (
    CascadeDepthError,
    Dispatcher,
    EmptyEventNameError,
    ErrorPolicy,
    Event,
    EventDispatcher,
    EventListener,
    EventSubscriber,
    EventSystemError,
    GetPathFromClass,
    Handler,
    HandlerErrors,
    HandlerFailure,
    HandlerInterruptedError,
    InvalidEventError,
    InvalidHandlerError,
    InvalidPatternError,
    ListenerDefinitionError,
    QueueFullError,
    QueueUsageError,
    Registration,
    clear_all_queues,
    configure,
    get_path_from_class,
    on,
    without_events,
)

__version__ = "2.0.0.dev0"

if TYPE_CHECKING:
    from .django import (
        BulkCreated,
        BulkUpdated,
        EventManager,
        EventManagerMixin,
        EventQuerySet,
        FieldChange,
        M2MChanged,
        ModelChanges,
        Observer,
        QuerysetUpdated,
        RegisterSignalsFor,
        SignalMapping,
        SignalToEvent,
        WriteRefused,
        get_changes,
        model_event_name,
    )

# Names loaded from the Django adapter on first access (PEP 562).
_LAZY: dict[str, str] = {
    "BulkCreated": "django_event_system.django",
    "BulkUpdated": "django_event_system.django",
    "EventManager": "django_event_system.django",
    "EventManagerMixin": "django_event_system.django",
    "EventQuerySet": "django_event_system.django",
    "FieldChange": "django_event_system.django",
    "M2MChanged": "django_event_system.django",
    "ModelChanges": "django_event_system.django",
    "Observer": "django_event_system.django",
    "QuerysetUpdated": "django_event_system.django",
    "RegisterSignalsFor": "django_event_system.django",
    "SignalMapping": "django_event_system.django",
    "SignalToEvent": "django_event_system.django",
    "WriteRefused": "django_event_system.django",
    "get_changes": "django_event_system.django",
    "model_event_name": "django_event_system.django",
}


if not TYPE_CHECKING:
    # Hidden from the type checkers, which see the names imported above: with a module-level
    # __getattr__, any name (a misspelt one too) would be Any to them.

    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value


__all__ = [
    "BulkCreated",
    "BulkUpdated",
    "CascadeDepthError",
    "Dispatcher",
    "EmptyEventNameError",
    "ErrorPolicy",
    "Event",
    "EventDispatcher",
    "EventListener",
    "EventManager",
    "EventManagerMixin",
    "EventQuerySet",
    "EventSubscriber",
    "EventSystemError",
    "FieldChange",
    "GetPathFromClass",
    "Handler",
    "HandlerErrors",
    "HandlerFailure",
    "HandlerInterruptedError",
    "InvalidEventError",
    "InvalidHandlerError",
    "InvalidPatternError",
    "ListenerDefinitionError",
    "M2MChanged",
    "ModelChanges",
    "Observer",
    "QuerysetUpdated",
    "QueueFullError",
    "QueueUsageError",
    "RegisterSignalsFor",
    "Registration",
    "SignalMapping",
    "SignalToEvent",
    "WriteRefused",
    "clear_all_queues",
    "configure",
    "get_changes",
    "get_path_from_class",
    "model_event_name",
    "on",
    "without_events",
]
