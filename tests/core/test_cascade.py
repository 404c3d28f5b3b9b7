"""Cascade depth: handlers that dispatch events, and the guard against dispatch loops."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import gevent
import pytest

from django_event_system.core import CascadeDepthError, EventDispatcher
from django_event_system.core._cascade import current_depth


@pytest.fixture
def dispatcher() -> Iterator[EventDispatcher]:
    dispatcher = EventDispatcher(max_depth=5)
    yield dispatcher
    dispatcher.Reset()


def test_self_dispatching_handler_stops_at_max_depth_with_a_clear_error(
    dispatcher: EventDispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler that dispatches the event it handles runs max_depth times, then is stopped and logged."""
    calls: list[int] = []

    def loop(name: str) -> None:
        calls.append(current_depth())
        dispatcher.Dispatch(name)

    dispatcher.RegisterHandler("loop", loop)
    with caplog.at_level(logging.ERROR, logger="django_event_system"):
        dispatcher.Dispatch("loop")
        dispatcher.ClearQueue(timeout=10)
    assert calls == [1, 2, 3, 4, 5]
    [record] = [r for r in caplog.records if r.exc_info]
    assert record.exc_info is not None
    error = record.exc_info[1]
    assert isinstance(error, CascadeDepthError)
    assert str(error) == (
        "event 'loop' was dispatched at cascade depth 6, beyond max_depth=5: a handler probably "
        "dispatches the event it handles, directly or through other events. If the cascade is "
        "intended, raise the dispatcher's max_depth."
    )


def test_sync_mode_loop_is_stopped_at_the_same_depth(dispatcher: EventDispatcher) -> None:
    """In sync mode the guard stops the recursion before Python's own recursion limit does."""
    calls: list[int] = []
    failures: list[Exception] = []
    dispatcher.error_policy = lambda failure: failures.append(failure.exception)

    def loop(name: str) -> None:
        calls.append(current_depth())
        dispatcher.Dispatch(name)

    dispatcher.RegisterHandler("loop", loop)
    with dispatcher.sync_mode():
        dispatcher.Dispatch("loop")
    assert calls == [1, 2, 3, 4, 5]
    assert len(failures) == 1
    assert isinstance(failures[0], CascadeDepthError)


def test_a_long_cascade_within_max_depth_completes(dispatcher: EventDispatcher) -> None:
    """A chain of distinct events shorter than max_depth is handled in full by one ClearQueue."""
    seen: list[str] = []

    def step(name: str, level: int) -> None:
        seen.append(name)
        if level < 5:
            dispatcher.Dispatch(f"step::{level + 1}", level + 1)

    dispatcher.RegisterHandler(r"step::\d+", step)
    dispatcher.Dispatch("step::1", 1)
    dispatcher.ClearQueue(timeout=10)
    assert seen == ["step::1", "step::2", "step::3", "step::4", "step::5"]


def test_application_code_dispatches_at_depth_zero_even_while_workers_are_suspended(
    dispatcher: EventDispatcher,
) -> None:
    """Depth is per greenlet: code outside handlers is never counted as part of a cascade."""
    depths: list[int] = []

    def slow(name: str) -> None:
        depths.append(current_depth())
        gevent.sleep(0.01)

    dispatcher.RegisterHandler("slow", slow)
    for _ in range(10):
        dispatcher.Dispatch("slow")
        gevent.sleep(0)  # let a worker start and suspend mid-handler
        assert current_depth() == 0
    dispatcher.ClearQueue(timeout=10)
    assert depths == [1] * 10


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "10"])
def test_max_depth_must_be_a_positive_int(value: object) -> None:
    """A max_depth that is not a positive int is refused with its value in the message."""
    with pytest.raises(ValueError, match=rf"max_depth must be a positive int, not {value!r}"):
        EventDispatcher(max_depth=value)  # type: ignore[arg-type]
