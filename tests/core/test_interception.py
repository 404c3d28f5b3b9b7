"""Tests for the ordered interceptors of a dispatcher (core._interception)."""

from __future__ import annotations

from typing import Any

from django_event_system.core import EventDispatcher
from django_event_system.core.integration import Stage


class Spy:
    def __init__(self, seen: list[str], label: str, *, takes: bool = False) -> None:
        self.seen = seen
        self.label = label
        self.takes = takes

    def check(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], event: object) -> bool:
        self.seen.append(self.label)
        return self.takes


def test_interceptors_run_by_stage_then_arrival() -> None:
    """An interceptor added later at an earlier stage still runs first; equal stages keep their order."""
    dispatcher = EventDispatcher()
    seen: list[str] = []
    dispatcher.interceptors.add(Spy(seen, "observe-1").check, Stage.OBSERVE)
    dispatcher.interceptors.add(Spy(seen, "hold").check, Stage.HOLD)
    dispatcher.interceptors.add(Spy(seen, "observe-2").check, Stage.OBSERVE)
    dispatcher.interceptors.add(Spy(seen, "check").check, Stage.CHECK)
    dispatcher.Dispatch("interception::order")
    assert seen == ["check", "hold", "observe-1", "observe-2"]
    dispatcher.ClearQueue(timeout=10)  # nothing left queued for a later test's hub turn to deliver


def test_an_interceptor_that_takes_the_event_stops_the_rest_and_the_delivery() -> None:
    """The first interceptor that returns True keeps the event from the later ones and from the handlers."""
    dispatcher = EventDispatcher()
    seen: list[str] = []
    handled: list[str] = []
    dispatcher.RegisterHandler("interception::taken", lambda name: handled.append(name))
    dispatcher.interceptors.add(Spy(seen, "taker", takes=True).check, Stage.HOLD)
    dispatcher.interceptors.add(Spy(seen, "late").check, Stage.OBSERVE)
    dispatcher.Dispatch("interception::taken")
    dispatcher.ClearQueue(timeout=10)
    assert (seen, handled) == (["taker"], [])


def test_removing_a_bound_method_removes_it_and_restores_the_fast_path() -> None:
    """A bound method is a new object at each access: removal goes by equality, and the fast path comes back."""
    dispatcher = EventDispatcher()
    spy = Spy([], "spy")
    dispatcher.interceptors.add(spy.check, Stage.CHECK)
    assert not dispatcher._queue_directly
    dispatcher.interceptors.remove(spy.check)
    assert len(dispatcher.interceptors) == 0
    assert dispatcher._queue_directly


def test_after_and_without_name_the_interceptors_around_one() -> None:
    """``after`` gives those that follow an interceptor (all of them when it is absent); ``without`` omits it."""
    dispatcher = EventDispatcher()
    first, middle, last = Spy([], "a"), Spy([], "b"), Spy([], "c")
    handle = dispatcher.interceptors.add(middle.check, Stage.HOLD)
    dispatcher.interceptors.add(first.check, Stage.CHECK)
    dispatcher.interceptors.add(last.check, Stage.OBSERVE)
    assert dispatcher.interceptors.after(middle.check) == (last.check,)
    assert dispatcher.interceptors.without(middle.check) == (first.check, last.check)
    handle.cancel()
    handle.cancel()  # twice is harmless
    assert dispatcher.interceptors.after(middle.check) == (first.check, last.check)
