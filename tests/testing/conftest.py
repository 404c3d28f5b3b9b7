"""Fixtures for the testing-layer tests: a fresh dispatcher per test, and a clean global state after each."""

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
    with contextlib.suppress(HandlerErrors):
        instance.ClearQueue(timeout=10)
    instance.registry.clear()


@pytest.fixture(autouse=True)
def _clean_global_state() -> Iterator[None]:
    """Fail a test that leaves handlers or an interceptor on ``Dispatcher``, and restore sync mode."""
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
