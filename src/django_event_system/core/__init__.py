"""The Django-free core of django-event-system: patterns, the gevent queue, events and listeners.

Nothing in this package imports Django; it works in any Python program.
"""

from ._dispatcher import Dispatcher, ErrorPolicy, EventDispatcher, HandlerFailure, configure, is_sync
from ._errors import (
    CascadeDepthError,
    EmptyEventNameError,
    EventSystemError,
    HandlerErrors,
    InvalidEventError,
    InvalidHandlerError,
    InvalidPatternError,
    ListenerDefinitionError,
    QueueUsageError,
)
from ._event import Event, EventMeta
from ._listener import EventListener
from ._names import GetPathFromClass, get_path_from_class
from ._registry import Handler, PatternRegistry, Registration, describe_handler

__all__ = [
    "CascadeDepthError",
    "Dispatcher",
    "EmptyEventNameError",
    "ErrorPolicy",
    "Event",
    "EventDispatcher",
    "EventListener",
    "EventMeta",
    "EventSystemError",
    "GetPathFromClass",
    "Handler",
    "HandlerErrors",
    "HandlerFailure",
    "InvalidEventError",
    "InvalidHandlerError",
    "InvalidPatternError",
    "ListenerDefinitionError",
    "PatternRegistry",
    "QueueUsageError",
    "Registration",
    "configure",
    "describe_handler",
    "get_path_from_class",
    "is_sync",
]
