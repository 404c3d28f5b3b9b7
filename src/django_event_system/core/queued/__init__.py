"""The queued tier: handlers that run in a worker process, reached through a transport.

One module a concern, in the order a message lives:

- ``_options``: :class:`Queued`, how a queued handler is retried and routed, and
  :class:`QueuedOptions`, the same options as class attributes;
- ``_serialization``: the JSON codec of events and values, which revives registered Event
  classes only;
- ``_message``: the message format, written and read there alone;
- ``_transport``: the :class:`Transport` interface (the transports themselves live in
  ``django_event_system.transports``);
- ``_sending``: the dispatching side: :class:`QueuedHandler`, the dispatch check, messages held
  until the commit, the outbox seam, sending;
- ``_worker``: the worker side: :func:`process_message`, retries, the delivery guard, and
  :class:`InMemoryTransport`.
"""

from ._message import MESSAGE_VERSION, Message, decode_payload, read_envelope
from ._options import DEFAULT_MAX_RETRIES, DEFAULT_RETRY_BACKOFF, DEFAULT_RETRY_BACKOFF_MAX, Queued, QueuedOptions
from ._sending import (
    EnqueueErrorPolicy,
    EnqueueFailure,
    HeldMessages,
    Outbox,
    QueuedHandler,
    configure_transport,
    current_outbox,
    current_transport,
    queued_handler,
    register_queued,
    set_hold_provider,
    set_outbox,
    using_transport,
)
from ._serialization import (
    JSON,
    EventClassRegistry,
    ValueCodec,
    decode_value,
    encode_value,
    event_classes,
    register_event_class,
    register_value_codec,
)
from ._transport import Transport
from ._worker import (
    Delivery,
    DeliveryGuard,
    InMemoryTransport,
    Outcome,
    Result,
    current_delivery,
    process_message,
    set_delivery_guard,
)

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_RETRY_BACKOFF",
    "DEFAULT_RETRY_BACKOFF_MAX",
    "JSON",
    "MESSAGE_VERSION",
    "Delivery",
    "DeliveryGuard",
    "EnqueueErrorPolicy",
    "EnqueueFailure",
    "EventClassRegistry",
    "HeldMessages",
    "InMemoryTransport",
    "Message",
    "Outbox",
    "Outcome",
    "Queued",
    "QueuedHandler",
    "QueuedOptions",
    "Result",
    "Transport",
    "ValueCodec",
    "configure_transport",
    "current_delivery",
    "current_outbox",
    "current_transport",
    "decode_payload",
    "decode_value",
    "encode_value",
    "event_classes",
    "process_message",
    "queued_handler",
    "read_envelope",
    "register_event_class",
    "register_queued",
    "register_value_codec",
    "set_delivery_guard",
    "set_hold_provider",
    "set_outbox",
    "using_transport",
]
