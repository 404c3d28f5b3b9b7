"""The core's interface for the layers built on it: the Django adapter, the transports and the
testing helpers.

Application code needs only :mod:`django_event_system` (or :mod:`django_event_system.core`).
Code that plugs the core into a framework needs more: hooks into the life of threads and
delivery greenlets, the after-commit gate's view of transactions, the outbox and its delivery
guard, the message codec, the base class of wrapped handlers, and the machinery of the test
doubles. All of it is here, and nothing outside ``core`` imports a private core module (an
import-linter contract checks it).
"""

from ._bridge import in_bridge_thread
from ._cascade import DEFAULT_MAX_DEPTH
from ._commit import CommitHook, HoldState, PendingCommit, current_hold, dispatch_after_commit, set_commit_hook
from ._draining import drain_for_worker
from ._event import watch_event_classes
from ._handlers import HandlerWrapper, handler_target, holds_for_commit, refuse_async_generator
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
)
from ._names import MODEL_EVENT_PREFIX
from ._registry import DEFAULT_CACHE_SIZE
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
    "CommitHook",
    "DeliveryGuard",
    "DispatchObserver",
    "DispatchStatus",
    "EventMatcher",
    "EventTarget",
    "HandlerWrapper",
    "HoldState",
    "Interception",
    "Interceptor",
    "Interceptors",
    "MockSession",
    "MockUsageError",
    "Outbox",
    "PendingCommit",
    "QueuedOptions",
    "RecordedEvent",
    "Stage",
    "add_greenlet_exit_hook",
    "add_thread_exit_hook",
    "attach_observer",
    "current_hold",
    "current_outbox",
    "decode_payload",
    "decode_value",
    "describe_dispatched",
    "dispatch_after_commit",
    "drain_for_worker",
    "drain_quietly",
    "encode_value",
    "handler_target",
    "holds_for_commit",
    "in_bridge_thread",
    "read_envelope",
    "refuse_async_generator",
    "set_commit_hook",
    "set_delivery_guard",
    "set_outbox",
    "suggest_name",
    "watch_event_classes",
]
