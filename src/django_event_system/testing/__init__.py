"""Test helpers: mock, record, fake and mute dispatch, and assert on what was dispatched.

``Dispatcher.MocksDispatch`` and ``Dispatcher.Expect`` (the 1.0 API) live on the dispatcher;
this package adds recorders with typed assertions, fakes, a transport that keeps queued
handlers' messages off the broker (``fake_transport()``), broadcasts recorded instead of sent
(``record_broadcasts()``, ``assert_broadcast``) and a pytest plugin (the ``dispatched_events``,
``queued_messages`` and ``broadcasts`` fixtures). A *target* is an exact event name, a
compiled regular expression or an Event class. Importing it needs no Django settings.
"""

from __future__ import annotations

from ..core.integration import EventTarget, MockSession, MockUsageError, RecordedEvent
from ._broadcast import BroadcastRecorder, BroadcastTarget, assert_broadcast, record_broadcasts
from ._fakes import fake, fake_except, muted
from ._listening import assert_listening
from ._recorder import EventRecorder, record_events
from ._transport import FakeTransport, QueuedMessage, fake_transport

__all__ = [
    "BroadcastRecorder",
    "BroadcastTarget",
    "EventRecorder",
    "EventTarget",
    "FakeTransport",
    "MockSession",
    "MockUsageError",
    "QueuedMessage",
    "RecordedEvent",
    "assert_broadcast",
    "assert_listening",
    "fake",
    "fake_except",
    "fake_transport",
    "muted",
    "record_broadcasts",
    "record_events",
]
