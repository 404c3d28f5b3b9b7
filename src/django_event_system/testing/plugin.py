"""The pytest plugin of django-event-system, registered through the ``pytest11`` entry point.

Fixtures:

``dispatched_events``
    An :class:`~django_event_system.testing.EventRecorder` that records everything dispatched on
    the global ``Dispatcher`` during the test::

        def test_checkout(dispatched_events: EventRecorder) -> None:
            checkout(cart)
            dispatched_events.assert_dispatched(OrderPlaced, times=1)

Importing this module touches no Django settings, so the plugin loads in any pytest run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._recorder import EventRecorder, record_events

__all__ = ["dispatched_events"]


@pytest.fixture
def dispatched_events() -> Iterator[EventRecorder]:
    """Record every event dispatched on ``Dispatcher`` while the test runs."""
    with record_events() as recorder:
        yield recorder
