"""Fixtures for the Django adapter tests: every test leaves the adapter as it found it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest

from django_event_system import Dispatcher, HandlerErrors, configure
from django_event_system.core import is_sync
from django_event_system.django import _apps, _models, _observer, _signals


@pytest.fixture(autouse=True)
def _clean_adapter_state() -> Iterator[None]:
    """Undo the Observers, model bindings, signal mappings and handlers a test adds."""
    sync_before = is_sync()
    registrations_before = set(Dispatcher.registry)
    observers_before = dict(_observer._observers)
    claims_before = {model: dict(binding.claims) for model, binding in _models._bindings.items()}
    mappings_before = dict(_signals._mappings)
    discovered_before = set(_apps._discovered)
    policy_before = Dispatcher.error_policy
    yield
    configure(sync=sync_before)
    Dispatcher.error_policy = "log"
    with contextlib.suppress(HandlerErrors):
        Dispatcher.ClearQueue(timeout=10)
    Dispatcher.error_policy = policy_before
    for observer_key, observer in list(_observer._observers.items()):
        if observers_before.get(observer_key) is not observer:
            observer.unregister()
    for model, binding in list(_models._bindings.items()):
        for claim in list(binding.claims):
            if claim not in claims_before.get(model, {}):
                binding.release(claim)
    for mapping_key, mapping in list(_signals._mappings.items()):
        if mappings_before.get(mapping_key) is not mapping:
            mapping.disconnect()
    for registration in Dispatcher.registry:
        if registration not in registrations_before:
            registration.cancel()
    _apps._discovered.intersection_update(discovered_before)


@pytest.fixture
def received() -> Iterator[list[tuple[str, object]]]:
    """``(event name, first argument)`` of every ``events::db::...`` event, in the order handled."""
    calls: list[tuple[str, object]] = []

    def record(name: str, *args: object, **kwargs: object) -> None:
        calls.append((name, args[0] if args else None))

    with Dispatcher.RegisterHandler("events::db::.*", record):
        yield calls


@pytest.fixture
def drain() -> Callable[[], None]:
    """Handle everything queued now (the queue of the test's thread)."""

    def clear() -> None:
        Dispatcher.ClearQueue(timeout=10)

    return clear
