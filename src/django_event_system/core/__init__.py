"""The Django-free core of django-event-system: patterns, the gevent queue, events and listeners.

Nothing in this package imports Django; it works in any Python program.
"""

from ._dispatcher import (
    Dispatcher,
    ErrorPolicy,
    EventDispatcher,
    FullPolicy,
    HandlerFailure,
    QueueCleared,
    clear_all_queues,
    configure,
    is_sync,
)
from ._errors import (
    CascadeDepthError,
    EmptyEventNameError,
    EnqueueError,
    EventSystemError,
    HandlerErrors,
    HandlerInterruptedError,
    InvalidEventError,
    InvalidHandlerError,
    InvalidPatternError,
    ListenerDefinitionError,
    QueueFullError,
    QueueUsageError,
    RejectedMessageError,
    SerializationError,
    TransportError,
)
from ._event import Event, EventMeta
from ._listener import EventListener
from ._names import GetPathFromClass, get_path_from_class
from ._queue import QueueStats, ThreadStats
from ._queued import (
    EnqueueErrorPolicy,
    EnqueueFailure,
    HeldMessages,
    Queued,
    QueuedHandler,
    configure_transport,
    current_transport,
    queued_handler,
    set_hold_provider,
    using_transport,
)
from ._registry import Handler, PatternRegistry, Registration, describe_handler
from ._serialization import EventClassRegistry, ValueCodec, event_classes, register_event_class, register_value_codec
from ._transport import Message, Transport
from ._worker import Delivery, InMemoryTransport, Outcome, Result, current_delivery, process_message

__all__ = [
    "CascadeDepthError",
    "Delivery",
    "Dispatcher",
    "EmptyEventNameError",
    "EnqueueError",
    "EnqueueErrorPolicy",
    "EnqueueFailure",
    "ErrorPolicy",
    "Event",
    "EventClassRegistry",
    "EventDispatcher",
    "EventListener",
    "EventMeta",
    "EventSystemError",
    "FullPolicy",
    "GetPathFromClass",
    "Handler",
    "HandlerErrors",
    "HandlerFailure",
    "HandlerInterruptedError",
    "HeldMessages",
    "InMemoryTransport",
    "InvalidEventError",
    "InvalidHandlerError",
    "InvalidPatternError",
    "ListenerDefinitionError",
    "Message",
    "Outcome",
    "PatternRegistry",
    "QueueCleared",
    "QueueFullError",
    "QueueStats",
    "QueueUsageError",
    "Queued",
    "QueuedHandler",
    "Registration",
    "RejectedMessageError",
    "Result",
    "SerializationError",
    "ThreadStats",
    "Transport",
    "TransportError",
    "ValueCodec",
    "clear_all_queues",
    "configure",
    "configure_transport",
    "current_delivery",
    "current_transport",
    "describe_handler",
    "event_classes",
    "get_path_from_class",
    "is_sync",
    "process_message",
    "queued_handler",
    "register_event_class",
    "register_value_codec",
    "set_hold_provider",
    "using_transport",
]
