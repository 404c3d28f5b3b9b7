"""Tests for the Dispatcher facade: registration, dispatch, draining helpers, sync mode and ``listen``."""

from __future__ import annotations

import gc
from typing import Any

import greenlet
import pytest

from django_event_system.core import (
    Dispatcher,
    EmptyEventNameError,
    Event,
    EventDispatcher,
    InvalidEventError,
    InvalidHandlerError,
    InvalidPatternError,
    Registration,
    configure,
    is_sync,
)


class OrderPlaced(Event):
    order_id: int


class OrderShipped(Event):
    Name = "orders::shipped"


class Recorder:
    """A handler that records every call with the greenlet it ran in."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.greenlets: list[greenlet.greenlet] = []

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append((name, args, kwargs))
        self.greenlets.append(greenlet.getcurrent())

    @property
    def names(self) -> list[str]:
        return [name for name, _, _ in self.calls]


def register_cascade(dispatcher: EventDispatcher) -> list[str]:
    """Register an ``outer`` handler that dispatches ``inner`` and then returns, and one for ``inner``.

    Returns the list in which the two write, in order, ``"inner"`` and ``"outer returned"``.
    """
    order: list[str] = []

    def outer(name: str) -> None:
        dispatcher.Dispatch("inner")
        order.append("outer returned")

    dispatcher.RegisterHandler("outer", outer)
    dispatcher.RegisterHandler("inner", lambda name: order.append("inner"))
    return order


# -- RegisterHandler -----------------------------------------------------------------------------


def test_literal_pattern_does_not_receive_longer_names(dispatcher: EventDispatcher) -> None:
    """A handler for ``test_event`` does not receive ``test_event::3``."""
    recorder = Recorder()
    dispatcher.RegisterHandler("test_event", recorder)
    dispatcher.Dispatch("test_event")
    dispatcher.Dispatch("test_event::3")
    dispatcher.ClearQueue()
    assert recorder.names == ["test_event"]


def test_regex_pattern_receives_every_fully_matching_name(dispatcher: EventDispatcher) -> None:
    """A handler for ``test_event(.*)`` receives ``test_event`` and ``test_event::3``."""
    recorder = Recorder()
    dispatcher.RegisterHandler("test_event(.*)", recorder)
    dispatcher.Dispatch("test_event")
    dispatcher.Dispatch("test_event::3")
    dispatcher.Dispatch("other::test_event")
    dispatcher.ClearQueue()
    assert recorder.names == ["test_event", "test_event::3"]


def test_handler_receives_args_and_kwargs(dispatcher: EventDispatcher) -> None:
    """``Dispatch(name, *args, **kwargs)`` calls ``handler(name, *args, **kwargs)``."""
    recorder = Recorder()
    dispatcher.RegisterHandler("event::name", recorder)
    dispatcher.Dispatch("event::name", 1, "two", three=3)
    dispatcher.ClearQueue()
    assert recorder.calls == [("event::name", (1, "two"), {"three": 3})]


def test_register_returns_a_registration_that_cancels(dispatcher: EventDispatcher) -> None:
    """``RegisterHandler`` returns a Registration; after ``cancel()`` the handler gets nothing."""
    recorder = Recorder()
    registration = dispatcher.RegisterHandler("evt", recorder)
    assert isinstance(registration, Registration)
    dispatcher.Dispatch("evt")
    dispatcher.ClearQueue()
    registration.cancel()
    dispatcher.Dispatch("evt")
    dispatcher.ClearQueue()
    assert recorder.names == ["evt"]


def test_cancel_before_delivery_drops_queued_events_for_that_handler(dispatcher: EventDispatcher) -> None:
    """An event queued before ``cancel()`` no longer reaches the cancelled handler."""
    recorder = Recorder()
    registration = dispatcher.RegisterHandler("evt", recorder)
    dispatcher.Dispatch("evt")
    registration.cancel()
    dispatcher.ClearQueue()
    assert recorder.calls == []


def test_registration_context_manager(dispatcher: EventDispatcher) -> None:
    """A registration used as a context manager unregisters its handler when the block ends."""
    recorder = Recorder()
    with dispatcher.RegisterHandler("evt", recorder):
        dispatcher.Dispatch("evt")
        dispatcher.ClearQueue()
    dispatcher.Dispatch("evt")
    dispatcher.ClearQueue()
    assert recorder.names == ["evt"]


def test_priority_orders_handlers_across_literal_and_regex(dispatcher: EventDispatcher) -> None:
    """Handlers run by priority, then registration order, whatever the kind of pattern."""
    order: list[str] = []
    dispatcher.RegisterHandler("orders::shipped", lambda name: order.append("literal-0"))
    dispatcher.RegisterHandler("orders::.*", lambda name: order.append("regex-0"))
    dispatcher.RegisterHandler("orders::(shipped|paid)", lambda name: order.append("regex-9"), priority=9)
    dispatcher.RegisterHandler("orders::shipped", lambda name: order.append("literal-3"), priority=3)
    dispatcher.RegisterHandler("orders::shipped", lambda name: order.append("literal-neg"), priority=-1)
    dispatcher.Dispatch("orders::shipped")
    dispatcher.ClearQueue()
    assert order == ["regex-9", "literal-3", "literal-0", "regex-0", "literal-neg"]


def test_once_handler_is_called_for_the_first_event_only(dispatcher: EventDispatcher) -> None:
    """A handler registered with ``once=True`` receives one event and is then gone."""
    recorder = Recorder()
    registration = dispatcher.RegisterHandler("evt.*", recorder, once=True)
    for number in range(5):
        dispatcher.Dispatch(f"evt{number}")
    dispatcher.ClearQueue()
    assert recorder.names == ["evt0"]
    assert not registration.active


def test_weak_bound_method_is_dropped_with_its_object(dispatcher: EventDispatcher) -> None:
    """A weakly-registered bound method stops receiving events once its object is collected."""
    received: list[str] = []

    class Receiver:
        def on_event(self, name: str) -> None:
            received.append(name)

    receiver = Receiver()
    registration = dispatcher.RegisterHandler("evt", receiver.on_event, weak=True)
    dispatcher.Dispatch("evt")
    dispatcher.ClearQueue()
    del receiver
    gc.collect()
    assert not registration.active
    dispatcher.Dispatch("evt")
    dispatcher.ClearQueue()
    assert received == ["evt"]


def test_event_class_as_pattern_matches_its_name_exactly(dispatcher: EventDispatcher) -> None:
    """``RegisterHandler(EventClass, h)`` receives events named exactly like the class."""
    recorder = Recorder()
    dispatcher.RegisterHandler(OrderShipped, recorder)
    dispatcher.Dispatch("orders::shipped")
    dispatcher.Dispatch("orders::shipped::late")
    dispatcher.Dispatch("orders::shippedX")
    dispatcher.ClearQueue()
    assert recorder.names == ["orders::shipped"]


def test_invalid_pattern_is_rejected_by_register_handler(dispatcher: EventDispatcher) -> None:
    """An invalid regex raises InvalidPatternError at registration, naming the pattern and the error."""
    with pytest.raises(InvalidPatternError, match=r"invalid event pattern 'orders::\(\.\*': missing \)"):
        dispatcher.RegisterHandler("orders::(.*", Recorder())
    assert len(dispatcher.registry) == 0


def test_non_callable_handler_is_rejected(dispatcher: EventDispatcher) -> None:
    """A handler that is not callable raises InvalidHandlerError."""
    with pytest.raises(InvalidHandlerError, match=r"a handler must be callable, got None for pattern 'evt'"):
        dispatcher.RegisterHandler("evt", None)  # type: ignore[arg-type]


def test_bad_priority_is_rejected(dispatcher: EventDispatcher) -> None:
    """A priority that is not an int raises TypeError."""
    with pytest.raises(TypeError, match=r"priority must be an int, not 'high'"):
        dispatcher.RegisterHandler("evt", Recorder(), priority="high")  # type: ignore[arg-type]


# -- Dispatch ------------------------------------------------------------------------------------


def test_dispatch_enqueues_and_returns_before_any_handler_runs(dispatcher: EventDispatcher) -> None:
    """``Dispatch`` only queues: nothing runs until the queue is drained, and then not in the caller's greenlet."""
    recorder = Recorder()
    dispatcher.RegisterHandler("evt", recorder)
    result = dispatcher.Dispatch("evt", 1)
    assert result is None
    assert recorder.calls == []
    assert dispatcher.pending_count() == 1
    caller = greenlet.getcurrent()
    dispatcher.ClearQueue()
    assert recorder.calls == [("evt", (1,), {})]
    assert recorder.greenlets[0] is not caller
    assert dispatcher.pending_count() == 0


def test_handler_dispatching_does_not_run_the_handlers_inline(dispatcher: EventDispatcher) -> None:
    """A handler that dispatches returns before the inner event's handlers run."""
    order = register_cascade(dispatcher)
    dispatcher.Dispatch("outer")
    dispatcher.ClearQueue()
    assert order == ["outer returned", "inner"]


def test_dispatch_of_an_event_instance(dispatcher: EventDispatcher) -> None:
    """``Dispatch(event)`` returns the instance, and a handler receives ``(name, event)``."""
    recorder = Recorder()
    dispatcher.RegisterHandler(OrderPlaced, recorder)
    event = OrderPlaced(order_id=3)
    assert dispatcher.Dispatch(event) is event
    dispatcher.ClearQueue()
    assert recorder.calls == [(str(OrderPlaced), (event,), {})]


def test_dispatch_of_an_event_instance_with_extra_arguments(dispatcher: EventDispatcher) -> None:
    """Extra arguments to ``Dispatch(event, ...)`` follow the instance."""
    recorder = Recorder()
    dispatcher.RegisterHandler(".*", recorder)
    event = OrderShipped()
    dispatcher.Dispatch(event, "extra", key="value")
    dispatcher.ClearQueue()
    assert recorder.calls == [("orders::shipped", (event, "extra"), {"key": "value"})]


def test_dispatch_of_a_str_subclass(dispatcher: EventDispatcher) -> None:
    """A str subclass is dispatched under its plain string value."""

    class Name(str):
        pass

    recorder = Recorder()
    dispatcher.RegisterHandler("evt", recorder)
    dispatcher.Dispatch(Name("evt"))
    dispatcher.ClearQueue()
    assert recorder.names == ["evt"]
    assert type(recorder.names[0]) is str


@pytest.mark.parametrize("empty", ["", type("Name", (str,), {})("")])
def test_dispatch_of_an_empty_name_is_rejected(dispatcher: EventDispatcher, empty: str) -> None:
    """An empty event name raises EmptyEventNameError and queues nothing."""
    with pytest.raises(EmptyEventNameError, match=r"an event name cannot be empty"):
        dispatcher.Dispatch(empty)
    assert dispatcher.pending_count() == 0


def test_dispatch_of_a_non_event_is_rejected(dispatcher: EventDispatcher) -> None:
    """Dispatching an int raises InvalidEventError (also a TypeError) naming the value and its type."""
    with pytest.raises(
        InvalidEventError, match=r"Dispatch\(\) takes an event name \(str\) or an Event instance, not 42 \(int\)"
    ):
        dispatcher.Dispatch(42)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"not None \(NoneType\)"):
        dispatcher.Dispatch(None)  # type: ignore[call-overload]
    assert dispatcher.pending_count() == 0


def test_dispatch_of_an_event_class_is_rejected(dispatcher: EventDispatcher) -> None:
    """Dispatching an Event class instead of an instance raises InvalidEventError with a hint."""
    with pytest.raises(
        InvalidEventError,
        match=r"Dispatch\(\) takes an Event instance, not the class OrderPlaced; "
        r"use OrderPlaced.Dispatch\(...\) to build and dispatch one",
    ):
        dispatcher.Dispatch(OrderPlaced)  # type: ignore[call-overload]
    assert dispatcher.pending_count() == 0


def test_reset_unregisters_everything_and_drops_queued_events(dispatcher: EventDispatcher) -> None:
    """``Reset()`` removes every handler and forgets what this thread had queued."""
    recorder = Recorder()
    registration = dispatcher.RegisterHandler("evt", recorder)
    dispatcher.Dispatch("evt")
    dispatcher.Reset()
    dispatcher.RegisterHandler("evt", recorder)
    dispatcher.ClearQueue()
    assert recorder.calls == []
    assert not registration.active


def test_repr_shows_handler_count_and_pool_size() -> None:
    """The repr of a dispatcher shows how many handlers it has and its pool size."""
    dispatcher = EventDispatcher(pool_size=7)
    dispatcher.RegisterHandler("a", Recorder())
    assert repr(dispatcher) == "<EventDispatcher handlers=1 pool_size=7>"


# -- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize("pool_size", [0, -3, 1.5, "4", True])
def test_bad_pool_size_is_rejected(pool_size: object) -> None:
    """A pool size that is not a positive int raises ValueError, at construction and on assignment."""
    message = rf"pool_size must be a positive int, not {pool_size!r}"
    with pytest.raises(ValueError, match=message):
        EventDispatcher(pool_size=pool_size)  # type: ignore[arg-type]
    dispatcher = EventDispatcher()
    with pytest.raises(ValueError, match=message):
        dispatcher.pool_size = pool_size  # type: ignore[assignment]
    assert dispatcher.pool_size == 100


@pytest.mark.parametrize("policy", ["ignore", None, 3])
def test_bad_error_policy_is_rejected(policy: object) -> None:
    """An error policy other than 'log', 'raise' or a callable raises ValueError."""
    with pytest.raises(ValueError, match=rf"error_policy must be 'log', 'raise' or a callable, not {policy!r}"):
        EventDispatcher(error_policy=policy)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["yes", 1, 0])
def test_bad_sync_value_is_rejected(value: object) -> None:
    """A sync value that is not a bool (or None) raises TypeError, per dispatcher and globally."""
    with pytest.raises(TypeError, match=rf"sync must be a bool or None, not {value!r}"):
        EventDispatcher(sync=value)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=rf"sync must be a bool, not {value!r}"):
        configure(sync=value)  # type: ignore[arg-type]
    assert is_sync() is False


# -- EnsureQueueIsCleared ------------------------------------------------------------------------


def test_ensure_queue_is_cleared_as_decorator(dispatcher: EventDispatcher) -> None:
    """The decorated function's events are handled when it returns; its result and metadata are kept."""
    recorder = Recorder()
    dispatcher.RegisterHandler("evt", recorder)

    def work(value: int) -> int:
        """Dispatch and return."""
        dispatcher.Dispatch("evt", value)
        assert recorder.calls == []
        return value * 2

    wrapped = dispatcher.EnsureQueueIsCleared(work)
    assert wrapped(21) == 42
    assert recorder.calls == [("evt", (21,), {})]
    assert wrapped.__name__ == "work"
    assert wrapped.__doc__ == "Dispatch and return."
    assert wrapped.__wrapped__ is work  # type: ignore[attr-defined]


def test_ensure_queue_is_cleared_as_context_manager(dispatcher: EventDispatcher) -> None:
    """Events dispatched in the block are handled when the block ends."""
    recorder = Recorder()
    dispatcher.RegisterHandler("evt", recorder)
    with dispatcher.EnsureQueueIsCleared():
        dispatcher.Dispatch("evt")
        assert recorder.calls == []
    assert recorder.names == ["evt"]
    assert dispatcher.pending_count() == 0


def test_ensure_queue_is_cleared_rejects_a_non_callable(dispatcher: EventDispatcher) -> None:
    """Decorating something that is not callable raises TypeError."""
    with pytest.raises(TypeError, match=r"EnsureQueueIsCleared decorates a callable, not 3"):
        dispatcher.EnsureQueueIsCleared(3)  # type: ignore[call-overload]


# -- sync mode -----------------------------------------------------------------------------------


def test_sync_dispatcher_runs_handlers_inline(dispatcher: EventDispatcher) -> None:
    """With ``sync=True`` handlers run inside ``Dispatch``, in the caller's greenlet."""
    dispatcher.sync = True
    recorder = Recorder()
    dispatcher.RegisterHandler("evt", recorder)
    dispatcher.Dispatch("evt", 1)
    assert recorder.calls == [("evt", (1,), {})]
    assert recorder.greenlets == [greenlet.getcurrent()]
    assert dispatcher.pending_count() == 0


def test_sync_set_at_construction() -> None:
    """``EventDispatcher(sync=True)`` runs handlers inline from the start."""
    dispatcher = EventDispatcher(sync=True)
    recorder = Recorder()
    dispatcher.RegisterHandler("evt", recorder)
    dispatcher.Dispatch("evt")
    assert recorder.names == ["evt"]


def test_sync_mode_context_manager_restores_the_previous_mode(dispatcher: EventDispatcher) -> None:
    """Inside ``sync_mode()`` handlers run inline; afterwards dispatching queues again."""
    recorder = Recorder()
    dispatcher.RegisterHandler("evt.*", recorder)
    with dispatcher.sync_mode():
        inside = dispatcher.sync
        dispatcher.Dispatch("evt1")
        assert recorder.names == ["evt1"]
    assert inside is True
    assert dispatcher.sync is None
    dispatcher.Dispatch("evt2")
    assert recorder.names == ["evt1"]
    dispatcher.ClearQueue()
    assert recorder.names == ["evt1", "evt2"]


def test_sync_mode_false_queues_inside_a_sync_dispatcher() -> None:
    """``sync_mode(False)`` queues events even on a sync dispatcher, and restores sync afterwards."""
    dispatcher = EventDispatcher(sync=True)
    recorder = Recorder()
    dispatcher.RegisterHandler("evt", recorder)
    with dispatcher.sync_mode(False):
        dispatcher.Dispatch("evt")
        assert recorder.calls == []
    assert dispatcher.sync is True
    dispatcher.ClearQueue()
    assert recorder.names == ["evt"]


def test_global_sync_applies_to_dispatchers_without_their_own_setting(dispatcher: EventDispatcher) -> None:
    """``configure(sync=True)`` makes ``sync=None`` dispatchers run handlers inline; ``sync=False`` still queues."""
    recorder = Recorder()
    dispatcher.RegisterHandler("evt", recorder)
    explicit = EventDispatcher(sync=False)
    explicit_recorder = Recorder()
    explicit.RegisterHandler("evt", explicit_recorder)
    configure(sync=True)
    try:
        assert is_sync()
        dispatcher.Dispatch("evt")
        explicit.Dispatch("evt")
        assert recorder.greenlets == [greenlet.getcurrent()]
        assert explicit_recorder.calls == []
    finally:
        configure(sync=False)
    explicit.ClearQueue()
    assert explicit_recorder.names == ["evt"]
    dispatcher.Dispatch("evt")
    assert len(recorder.calls) == 1


def test_sync_mode_runs_cascades_depth_first(dispatcher: EventDispatcher) -> None:
    """In sync mode an event dispatched by a handler is handled before that handler continues."""
    order = register_cascade(dispatcher)
    with dispatcher.sync_mode():
        dispatcher.Dispatch("outer")
    assert order == ["inner", "outer returned"]


# -- listen --------------------------------------------------------------------------------------


def test_listen_with_an_event_class_passes_the_instance(dispatcher: EventDispatcher) -> None:
    """``@listen(OrderPlaced)`` calls the function with the instance alone and returns the function."""
    received: list[OrderPlaced] = []

    def on_order(event: OrderPlaced) -> None:
        received.append(event)

    decorated = dispatcher.listen(OrderPlaced)(on_order)
    assert decorated is on_order
    event = dispatcher.Dispatch(OrderPlaced(order_id=9))
    dispatcher.ClearQueue()
    assert received == [event]


def test_listen_with_a_pattern_passes_name_and_arguments(dispatcher: EventDispatcher) -> None:
    """``@listen("pat.*")`` calls the function with the name, args and kwargs, and returns the function."""
    received: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    @dispatcher.listen("pat.*")
    def on_pattern(name: str, *args: Any, **kwargs: Any) -> None:
        received.append((name, args, kwargs))

    assert on_pattern.__name__ == "on_pattern"
    dispatcher.Dispatch("pattern", 1, key=2)
    dispatcher.Dispatch("other")
    dispatcher.ClearQueue()
    assert received == [("pattern", (1,), {"key": 2})]


def test_listen_options(dispatcher: EventDispatcher) -> None:
    """``listen`` honours ``priority`` and ``once``."""
    order: list[str] = []

    @dispatcher.listen(OrderPlaced)
    def normal(event: OrderPlaced) -> None:
        order.append(f"normal {event.order_id}")

    @dispatcher.listen(OrderPlaced, priority=5, once=True)
    def first_once(event: OrderPlaced) -> None:
        order.append(f"first {event.order_id}")

    dispatcher.Dispatch(OrderPlaced(order_id=1))
    dispatcher.Dispatch(OrderPlaced(order_id=2))
    dispatcher.ClearQueue()
    assert order == ["first 1", "normal 1", "normal 2"]


def test_listen_on_the_global_dispatcher() -> None:
    """``@Dispatcher.listen`` registers on the package-wide dispatcher."""
    received: list[int] = []

    @Dispatcher.listen(OrderPlaced)
    def on_order(event: OrderPlaced) -> None:
        received.append(event.order_id)

    try:
        OrderPlaced.Dispatch(order_id=4)
        Dispatcher.ClearQueue()
    finally:
        for registration in Dispatcher.registry.registrations_for(str(OrderPlaced)):
            registration.cancel()
    assert received == [4]


def test_listen_with_an_invalid_pattern_fails_at_the_decorator(dispatcher: EventDispatcher) -> None:
    """``listen("(")`` raises InvalidPatternError before any function is decorated."""
    with pytest.raises(InvalidPatternError, match=r"invalid event pattern '\(': missing \), unterminated subpattern"):
        dispatcher.listen("(")
    assert len(dispatcher.registry) == 0


def test_listen_with_a_bad_target_is_rejected(dispatcher: EventDispatcher) -> None:
    """``listen`` with something that is neither a pattern nor an Event class raises TypeError."""
    with pytest.raises(TypeError, match=r"listen\(\) takes an event pattern \(str\) or an Event class, not 42"):
        dispatcher.listen(42)  # type: ignore[call-overload]


def test_clear_all_queues_drains_every_dispatcher_and_raises_their_errors_together() -> None:
    """``clear_all_queues`` drains each live dispatcher, and one's failures do not stop the others."""
    from django_event_system import HandlerErrors, clear_all_queues

    first = EventDispatcher(error_policy="raise")
    second = EventDispatcher(error_policy="raise")
    seen: list[str] = []

    def broken(name: str) -> None:
        raise ValueError(name)

    first.RegisterHandler("a", broken)
    second.RegisterHandler("b", lambda name: seen.append(name))
    second.RegisterHandler("c", broken)
    first.Dispatch("a")
    second.Dispatch("b")
    second.Dispatch("c")
    with pytest.raises(HandlerErrors) as caught:
        clear_all_queues(timeout=5)
    assert sorted(str(exc) for exc in caught.value.exceptions) == ["a", "c"]
    assert seen == ["b"]
    assert first.pending_count() == 0
    assert second.pending_count() == 0
