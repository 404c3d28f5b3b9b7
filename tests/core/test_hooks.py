"""Tests for the seams that framework adapters use: delivery greenlet exit hooks and targeted delivery."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import gevent
import pytest
from greenlet import getcurrent, greenlet

from django_event_system.core import EmptyEventNameError, EventDispatcher, HandlerErrors
from django_event_system.core.integration import add_greenlet_exit_hook


@pytest.fixture
def exits() -> Iterator[list[greenlet]]:
    """Record the greenlet of every delivery greenlet exit hook call while the test runs."""
    calls: list[greenlet] = []
    remove = add_greenlet_exit_hook(lambda: calls.append(getcurrent()))
    yield calls
    remove()


def test_exit_hook_runs_once_per_batch_in_the_worker(dispatcher: EventDispatcher, exits: list[greenlet]) -> None:
    """A worker that handles five events calls the hook once, in its own greenlet."""
    dispatcher.pool_size = 1
    handled_in: list[greenlet] = []
    dispatcher.RegisterHandler("hooks::batch", lambda name: handled_in.append(getcurrent()))
    for _ in range(5):
        dispatcher.Dispatch("hooks::batch")
    dispatcher.ClearQueue()
    assert len(handled_in) == 5
    assert exits == [handled_in[0]]
    assert exits[0] is not getcurrent()


def test_exit_hook_does_not_run_in_sync_mode(dispatcher: EventDispatcher, exits: list[greenlet]) -> None:
    """Inline (sync) delivery runs in the caller, which owns its resources: no worker, no hook."""
    dispatcher.sync = True
    received: list[str] = []
    dispatcher.RegisterHandler("hooks::sync", received.append)
    dispatcher.Dispatch("hooks::sync")
    assert received == ["hooks::sync"]
    assert exits == []


def test_clear_queue_waits_for_exit_hooks(dispatcher: EventDispatcher) -> None:
    """A hook that waits on I/O has finished when ``ClearQueue`` returns."""
    finished: list[bool] = []

    def slow_hook() -> None:
        gevent.sleep(0.01)
        finished.append(True)

    dispatcher.pool_size = 1
    remove = add_greenlet_exit_hook(slow_hook)
    try:
        dispatcher.RegisterHandler("hooks::slow", lambda name: None)
        dispatcher.Dispatch("hooks::slow")
        dispatcher.ClearQueue(timeout=10)
        assert finished == [True]
    finally:
        remove()


def test_failing_exit_hook_is_logged_and_the_others_run(
    dispatcher: EventDispatcher, exits: list[greenlet], caplog: pytest.LogCaptureFixture
) -> None:
    """A hook that raises is logged with its traceback and does not stop the next hook."""

    def broken_hook() -> None:
        raise RuntimeError("cannot release")

    dispatcher.pool_size = 1
    remove = add_greenlet_exit_hook(broken_hook)
    second: list[bool] = []
    remove_second = add_greenlet_exit_hook(lambda: second.append(True))
    try:
        dispatcher.RegisterHandler("hooks::broken", lambda name: None)
        dispatcher.Dispatch("hooks::broken")
        with caplog.at_level(logging.ERROR, logger="django_event_system"):
            dispatcher.ClearQueue(timeout=10)
    finally:
        remove()
        remove_second()
    assert second == [True]
    assert len(exits) == 1
    [record] = [r for r in caplog.records if "delivery greenlet exit hook" in r.getMessage()]
    assert "broken_hook" in record.getMessage()
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "cannot release"


def test_removed_exit_hook_is_not_called(dispatcher: EventDispatcher) -> None:
    """After ``remove()``, workers no longer call the hook."""
    calls: list[bool] = []
    remove = add_greenlet_exit_hook(lambda: calls.append(True))
    remove()
    dispatcher.RegisterHandler("hooks::removed", lambda name: None)
    dispatcher.Dispatch("hooks::removed")
    dispatcher.ClearQueue(timeout=10)
    assert calls == []


def test_exit_hook_must_be_callable() -> None:
    """Registering something that is not callable fails at once, naming it."""
    with pytest.raises(TypeError, match=r"a delivery greenlet exit hook must be callable, not 42"):
        add_greenlet_exit_hook(42)  # type: ignore[arg-type]


def test_event_queued_while_a_hook_waits_is_not_stranded(dispatcher: EventDispatcher) -> None:
    """With a full pool, an event dispatched while the last worker runs its hooks is still handled."""
    dispatcher.pool_size = 1
    handled: list[str] = []
    dispatcher.RegisterHandler("hooks::.*", lambda name: handled.append(name))
    first_call = [True]

    def dispatching_hook() -> None:
        if first_call:
            first_call.clear()
            dispatcher.Dispatch("hooks::late")
            gevent.sleep(0)  # the hub runs while the only worker is still counted as running

    remove = add_greenlet_exit_hook(dispatching_hook)
    try:
        dispatcher.Dispatch("hooks::first")
        # No ClearQueue: only the hub gets control, as in a monkey-patched server.
        for _ in range(200):
            if len(handled) == 2:
                break
            gevent.sleep(0.005)
        assert handled == ["hooks::first", "hooks::late"]
    finally:
        remove()


def test_deliver_to_reaches_only_the_given_callbacks(dispatcher: EventDispatcher) -> None:
    """Handlers whose pattern matches the name are skipped; the given ones get ``(name, *args, **kwargs)``."""
    by_pattern: list[str] = []
    targeted: list[tuple[str, tuple[object, ...], dict[str, object]]] = []
    dispatcher.RegisterHandler(".*", by_pattern.append)

    def target(name: str, *args: object, **kwargs: object) -> None:
        targeted.append((name, args, kwargs))

    assert dispatcher.deliver_to([target], "orders::paid", (7,), {"total": 9.5}) is True
    assert targeted == []  # queued, not run in the caller's stack
    dispatcher.ClearQueue(timeout=10)
    assert targeted == [("orders::paid", (7,), {"total": 9.5})]
    assert by_pattern == []
    dispatcher.Dispatch("orders::paid")
    dispatcher.ClearQueue(timeout=10)
    assert by_pattern == ["orders::paid"]
    assert len(targeted) == 1


def test_deliver_to_is_shown_to_interceptors(dispatcher: EventDispatcher) -> None:
    """An interceptor that takes the event stops the delivery; ``intercept=False`` skips interceptors."""
    seen: list[str] = []
    received: list[str] = []

    def interceptor(name: str, args: tuple[object, ...], kwargs: dict[str, object], event: object) -> bool:
        seen.append(name)
        return True

    interception = dispatcher.intercept(interceptor)
    try:
        assert dispatcher.deliver_to([received.append], "orders::held") is False
        assert dispatcher.deliver_to([received.append], "orders::forced", intercept=False) is True
        dispatcher.ClearQueue(timeout=10)
    finally:
        interception.cancel()
    assert seen == ["orders::held"]
    assert received == ["orders::forced"]


def test_deliver_to_in_sync_mode_runs_inline_and_raises(dispatcher: EventDispatcher) -> None:
    """In sync mode the callbacks run in ``deliver_to``; under "raise" their errors surface there."""
    dispatcher.sync = True
    dispatcher.error_policy = "raise"
    received: list[str] = []

    def broken(name: str) -> None:
        raise ValueError("no stock")

    with pytest.raises(HandlerErrors, match=r"1 event handler failed") as caught:
        dispatcher.deliver_to([received.append, broken], "orders::inline")
    assert received == ["orders::inline"]
    [error] = caught.value.exceptions
    assert "no stock" in str(error)
    assert "while handling event 'orders::inline'" in "".join(getattr(error, "__notes__", []))


def test_deliver_to_logs_failures_with_the_event_name(
    dispatcher: EventDispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    """Under the "log" policy, a failing callback is logged with the event's real name, not the marker."""

    def broken(name: str) -> None:
        raise ValueError("no stock")

    dispatcher.deliver_to([broken], "orders::logged")
    with caplog.at_level(logging.ERROR, logger="django_event_system"):
        dispatcher.ClearQueue(timeout=10)
    [record] = caplog.records
    assert "test_hooks:test_deliver_to_logs_failures_with_the_event_name.<locals>.broken" in record.getMessage()
    assert "'orders::logged'" in record.getMessage()


def test_deliver_to_without_callbacks_queues_nothing(dispatcher: EventDispatcher) -> None:
    """No callbacks: nothing is queued, and the result still says the event was not intercepted."""
    assert dispatcher.deliver_to([], "orders::nobody") is True
    assert dispatcher.pending_count() == 0


def test_deliver_to_rejects_an_empty_name(dispatcher: EventDispatcher) -> None:
    """An empty name is refused, as ``Dispatch`` refuses it."""
    with pytest.raises(EmptyEventNameError, match=r"an event name cannot be empty"):
        dispatcher.deliver_to([print], "")
