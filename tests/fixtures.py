"""Fixtures shared by the test packages that work on dispatchers directly (core and testing).

Each package's ``conftest.py`` imports them, so that they apply to its tests and to no others.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from django_event_system.core import Dispatcher, EventDispatcher, HandlerErrors, configure, is_sync


@pytest.fixture
def dispatcher() -> Iterator[EventDispatcher]:
    """A dispatcher of its own, so that a test's handlers and settings reach no other test."""
    instance = EventDispatcher()
    yield instance
    instance.sync = False
    instance.error_policy = "log"
    # A failing test may leave events queued or errors collected; neither may reach the next test.
    with contextlib.suppress(HandlerErrors):
        instance.ClearQueue(timeout=10)
    instance.registry.clear()


@pytest.fixture(autouse=True)
def clean_global_state() -> Iterator[None]:
    """Restore the process-wide sync default; fail a test that leaves handlers or an interceptor on ``Dispatcher``."""
    sync_before = is_sync()
    registered_before = set(Dispatcher.registry)
    yield
    configure(sync=sync_before)
    with contextlib.suppress(HandlerErrors):
        Dispatcher.ClearQueue(timeout=10)
    leaked = [registration for registration in Dispatcher.registry if registration not in registered_before]
    for registration in leaked:
        registration.cancel()
    interceptors = Dispatcher._interceptors
    assert not leaked, f"the test left handlers registered on Dispatcher: {leaked}"
    assert not interceptors, f"the test left interceptors on Dispatcher: {interceptors}"
