"""django-event-system: string-named events, regex listeners and asynchronous dispatch on gevent.

The core names (``Dispatcher``, ``Event``, ``EventListener``, ``GetPathFromClass``...) import
no Django. The Django-bound names (``Observer``, ``RegisterSignalsFor``, ``SignalToEvent``) are
loaded on first use, so ``import django_event_system`` works before settings are configured.
"""

from __future__ import annotations

import importlib
from typing import Any

from .core import (
    CascadeDepthError,
    Dispatcher,
    EmptyEventNameError,
    ErrorPolicy,
    Event,
    EventDispatcher,
    EventListener,
    EventSystemError,
    GetPathFromClass,
    Handler,
    HandlerErrors,
    HandlerFailure,
    InvalidEventError,
    InvalidHandlerError,
    InvalidPatternError,
    ListenerDefinitionError,
    QueueUsageError,
    Registration,
    configure,
    get_path_from_class,
)

__version__ = "2.0.0.dev0"

# Names loaded from the Django adapter on first access (PEP 562).
_LAZY: dict[str, str] = {}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "CascadeDepthError",
    "Dispatcher",
    "EmptyEventNameError",
    "ErrorPolicy",
    "Event",
    "EventDispatcher",
    "EventListener",
    "EventSystemError",
    "GetPathFromClass",
    "Handler",
    "HandlerErrors",
    "HandlerFailure",
    "InvalidEventError",
    "InvalidHandlerError",
    "InvalidPatternError",
    "ListenerDefinitionError",
    "QueueUsageError",
    "Registration",
    "configure",
    "get_path_from_class",
]
