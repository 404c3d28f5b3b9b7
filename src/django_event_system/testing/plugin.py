"""The pytest plugin of django-event-system, registered through the ``pytest11`` entry point.

Fixtures:

``dispatched_events``
    An :class:`~django_event_system.testing.EventRecorder` that records everything dispatched on
    the global ``Dispatcher`` during the test::

        def test_checkout(dispatched_events: EventRecorder) -> None:
            checkout(cart)
            dispatched_events.assert_dispatched(OrderPlaced, times=1)

``queued_messages``
    A :class:`~django_event_system.testing.FakeTransport` that keeps the messages of queued
    handlers sent during the test, instead of the configured transport (so no test reaches the
    broker)::

        def test_receipt(queued_messages: FakeTransport) -> None:
            checkout(cart)
            [message] = queued_messages.messages
            queued_messages.run()   # through the worker's code path, in this process

``broadcasts``
    A :class:`~django_event_system.testing.BroadcastRecorder` that records what is broadcast to
    channel-layer groups during the test, instead of sending it::

        def test_live_orders(broadcasts: BroadcastRecorder) -> None:
            checkout(cart)
            broadcasts.assert_broadcast("orders.7", OrderPlaced)

Importing this module touches no Django settings, so the plugin loads in any pytest run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._broadcast import BroadcastRecorder, record_broadcasts
from ._recorder import EventRecorder, record_events
from ._transport import FakeTransport, fake_transport

__all__ = ["broadcasts", "dispatched_events", "queued_messages"]


@pytest.fixture
def dispatched_events() -> Iterator[EventRecorder]:
    """Record every event dispatched on ``Dispatcher`` while the test runs."""
    with record_events() as recorder:
        yield recorder


@pytest.fixture
def queued_messages() -> Iterator[FakeTransport]:
    """Keep the messages that queued handlers send during the test, off the configured transport."""
    with fake_transport() as transport:
        yield transport


@pytest.fixture
def broadcasts() -> Iterator[BroadcastRecorder]:
    """Record what is broadcast to channel-layer groups while the test runs, instead of sending it."""
    with record_broadcasts() as recorder:
        yield recorder
