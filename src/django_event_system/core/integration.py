"""The core's interface for the layers built on it: the Django adapter, the transports and the
testing helpers.

Application code needs only :mod:`django_event_system` (or :mod:`django_event_system.core`).
Code that plugs the core into a framework needs more: hooks into the life of threads and
delivery greenlets, the after-commit gate's view of transactions, the outbox and its delivery
guard, the message codec, the base class of wrapped handlers, the handling observers (what
handlers did, and how long they took), and the machinery of the test doubles. All of it is here,
and nothing outside ``core`` imports a private core module (an import-linter contract checks it).
"""

from ._bridge import in_bridge_thread
from ._cascade import DEFAULT_MAX_DEPTH
from ._commit import CommitHook, HoldState, PendingCommit, current_hold, dispatch_after_commit, set_commit_hook
from ._draining import drain_for_worker
from ._event import watch_event_classes
from ._handlers import (
    HandlerWrapper,
    add_handler_source,
    handler_target,
    handlers_outside,
    holds_for_commit,
    refuse_async_generator,
)
from ._handling import DeliveryObserver, HandlingObserver, add_handling_observer
from ._interception import Interception, Interceptor, Interceptors, Stage
from ._local_queue import DEFAULT_POOL_SIZE, add_greenlet_exit_hook
from ._mocking import (
    DispatchObserver,
    DispatchStatus,
    EventMatcher,
    EventTarget,
    MockSession,
    MockUsageError,
    RecordedEvent,
    attach_observer,
    describe_dispatched,
    drain_quietly,
    suggest_name,
    swallowed,
)
from ._names import MODEL_EVENT_PREFIX
from ._registry import DEFAULT_CACHE_SIZE
from ._subscriber import UNSET, OnSpec, SubscriberCall, decorated_methods, on_specs, subscribers
from ._suppression import Suppression, add_target_resolver, is_muted, is_quiet
from ._threads import add_thread_exit_hook
from .queued import (
    JSON,
    MESSAGE_VERSION,
    DeliveryGuard,
    Outbox,
    QueuedOptions,
    current_outbox,
    decode_payload,
    decode_value,
    encode_value,
    read_envelope,
    set_delivery_guard,
    set_outbox,
)

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_POOL_SIZE",
    "JSON",
    "MESSAGE_VERSION",
    "MODEL_EVENT_PREFIX",
    "UNSET",
    "CommitHook",
    "DeliveryGuard",
    "DeliveryObserver",
    "DispatchObserver",
    "DispatchStatus",
    "EventMatcher",
    "EventTarget",
    "HandlerWrapper",
    "HandlingObserver",
    "HoldState",
    "Interception",
    "Interceptor",
    "Interceptors",
    "MockSession",
    "MockUsageError",
    "OnSpec",
    "Outbox",
    "PendingCommit",
    "QueuedOptions",
    "RecordedEvent",
    "Stage",
    "SubscriberCall",
    "Suppression",
    "add_greenlet_exit_hook",
    "add_handler_source",
    "add_handling_observer",
    "add_target_resolver",
    "add_thread_exit_hook",
    "attach_observer",
    "current_hold",
    "current_outbox",
    "decode_payload",
    "decode_value",
    "decorated_methods",
    "describe_dispatched",
    "dispatch_after_commit",
    "drain_for_worker",
    "drain_quietly",
    "encode_value",
    "handler_target",
    "handlers_outside",
    "holds_for_commit",
    "in_bridge_thread",
    "is_muted",
    "is_quiet",
    "on_specs",
    "read_envelope",
    "refuse_async_generator",
    "set_commit_hook",
    "set_delivery_guard",
    "set_outbox",
    "subscribers",
    "suggest_name",
    "swallowed",
    "watch_event_classes",
]
