"""Fakes: record events and keep (some of) them from their listeners.

Model-observer events (``events::db::...``) keep running under :func:`fake` and
:func:`fake_except` unless a target names them: faking "every event" should not silently switch
off the observers that keep the data consistent, which is what a test usually means.

An Observer's inline hooks (``@on("creating", inline=True)``), which run in the saving code's
stack, follow their event: a fake that keeps the event from its listeners (one that names it,
``muted()``) keeps it from the hooks too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator

from ..core import Event, EventBus
from ..core.integration import MODEL_EVENT_PREFIX, EventMatcher, EventTarget
from ._recorder import EventRecorder

__all__ = ["MODEL_EVENT_PREFIX", "fake", "fake_except", "muted"]


class _FakingRecorder(EventRecorder):
    """A recorder that keeps the events its rule selects from their listeners."""

    def __init__(self, rule: Callable[[str, Event | None], bool], dispatcher: EventBus | None) -> None:
        super().__init__(dispatcher)
        self._rule = rule

    def swallows(self, name: str, event: Event | None) -> bool:
        """Whether the rule fakes this dispatch."""
        return self._rule(name, event)


def _named(matchers: list[EventMatcher], name: str, event: Event | None) -> bool:
    return any(matcher.matches(name, event) for matcher in matchers)


@contextlib.contextmanager
def fake(*targets: EventTarget, dispatcher: EventBus | None = None) -> Generator[EventRecorder, None, None]:
    """Keep the listeners of ``targets`` from running inside the block; record every event.

    Without targets, every event is faked except model-observer events (``events::db::...``),
    which keep running unless a target names them. Events that are not faked reach their
    listeners as usual. ::

        with fake(OrderPlaced) as events:
            checkout(cart)
        events.assert_dispatched(OrderPlaced, where=lambda e: e.total == 42)

    :param targets: event names, compiled regexes or Event classes.
    :param dispatcher: the dispatcher to fake; the global ``Dispatcher`` by default.
    :raises TypeError: a target is not a name, a compiled regex or an Event class.
    """
    matchers = [EventMatcher(target) for target in targets]
    if matchers:

        def rule(name: str, event: Event | None) -> bool:
            return _named(matchers, name, event)

    else:

        def rule(name: str, event: Event | None) -> bool:
            return not name.startswith(MODEL_EVENT_PREFIX)

    with _FakingRecorder(rule, dispatcher) as recorder:
        yield recorder


@contextlib.contextmanager
def fake_except(*targets: EventTarget, dispatcher: EventBus | None = None) -> Generator[EventRecorder, None, None]:
    """Fake every event inside the block except ``targets`` (and model-observer events); record all.

    ::

        with fake_except(PaymentCaptured) as events:
            checkout(cart)   # only PaymentCaptured and model events reach their listeners

    :param targets: the events that still reach their listeners: names, compiled regexes or
        Event classes. At least one.
    :param dispatcher: the dispatcher to fake; the global ``Dispatcher`` by default.
    :raises ValueError: no target was given.
    :raises TypeError: a target is not a name, a compiled regex or an Event class.
    """
    if not targets:
        raise ValueError(
            "fake_except() needs at least one target: the events that still reach their listeners; "
            "use fake() to fake every event"
        )
    matchers = [EventMatcher(target) for target in targets]

    def rule(name: str, event: Event | None) -> bool:
        return not name.startswith(MODEL_EVENT_PREFIX) and not _named(matchers, name, event)

    with _FakingRecorder(rule, dispatcher) as recorder:
        yield recorder


@contextlib.contextmanager
def muted(*, dispatcher: EventBus | None = None) -> Generator[EventRecorder, None, None]:
    """Deliver nothing dispatched inside the block, model-observer events included; record all.

    Observers' inline hooks do not run in the block either: a model's fields that they fill are
    left as they are.

    Events queued before the block are not affected.

    :param dispatcher: the dispatcher to mute; the global ``Dispatcher`` by default.
    """

    def rule(name: str, event: Event | None) -> bool:
        return True

    with _FakingRecorder(rule, dispatcher) as recorder:
        yield recorder
