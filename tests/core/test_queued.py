"""Tests for queued handlers in the core: registration, sending, retries, failure and holding back."""

from __future__ import annotations

import decimal
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from django_event_system.core import (
    EnqueueError,
    EnqueueErrorPolicy,
    EnqueueFailure,
    Event,
    EventDispatcher,
    EventListener,
    HandlerErrors,
    HeldMessages,
    InMemoryTransport,
    InvalidHandlerError,
    ListenerDefinitionError,
    Message,
    Outcome,
    Queued,
    Transport,
    current_delivery,
    event_classes,
    queued_handler,
    set_hold_provider,
    using_transport,
)
from tests.helpers import installed

calls: list[tuple[Any, ...]] = []
failures: list[tuple[Any, Exception]] = []


class OrderPlaced(Event):
    Name = "queued::order_placed"
    order_id: int
    total: decimal.Decimal


def send_receipt(event: OrderPlaced) -> None:
    calls.append(("receipt", event, current_delivery()))


def audit(name: str, *args: Any, **kwargs: Any) -> None:
    calls.append(("audit", name, args, kwargs, current_delivery()))


def flaky(event: OrderPlaced) -> None:
    """Fails on the first two tries."""
    calls.append(("flaky", event))
    delivery = current_delivery()
    assert delivery is not None
    if delivery.attempt < 2:
        raise ConnectionError(f"try {delivery.attempt} failed")


def always_fails(event: OrderPlaced) -> None:
    calls.append(("always_fails", event))
    raise ValueError("the mail server says no")


def record_failure(event: Any, exc: Exception) -> None:
    failures.append((event, exc))


def failing_failure_hook(event: Any, exc: Exception) -> None:
    raise RuntimeError("the hook itself broke")


def dispatches_more(event: OrderPlaced) -> None:
    event.dispatcher.Dispatch("queued::follow_up", event.order_id)


listener_dispatcher = EventDispatcher()


class QueuedReceipt(EventListener):
    """A queued listener class, defined at module level as workers need."""

    listensFor = [OrderPlaced]
    dispatcher = listener_dispatcher
    queued = True
    max_retries = 1
    retry_backoff = 0.5

    def handle(self, event: OrderPlaced) -> None:
        calls.append(("listener", event))
        if event.order_id < 0:
            raise ValueError("negative order")

    def failed(self, event: Any, exc: Exception) -> None:
        failures.append((event, exc))


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    calls.clear()
    failures.clear()
    yield
    calls.clear()
    failures.clear()


@pytest.fixture
def transport() -> Iterator[InMemoryTransport]:
    """An in-memory transport, configured for the test only."""
    memory = InMemoryTransport()
    with using_transport(memory):
        yield memory


def test_a_queued_handler_is_sent_and_not_run_in_process(
    dispatcher: EventDispatcher, transport: InMemoryTransport
) -> None:
    """Dispatching sends a message for the queued handler; in-process handlers still run."""
    in_process: list[OrderPlaced] = []
    dispatcher.listen(OrderPlaced, queued=True)(send_receipt)
    dispatcher.listen(OrderPlaced)(in_process.append)
    event = OrderPlaced(7, decimal.Decimal("9.90"))
    dispatcher.Dispatch(event)
    dispatcher.ClearQueue()
    assert in_process == [event]
    assert calls == []
    assert len(transport.sent) == 1
    message = transport.sent[0]
    assert (message.handler, message.event_id, message.event_name) == (
        "tests.core.test_queued:send_receipt",
        event.event_id,
        "queued::order_placed",
    )
    assert json.loads(message.body)["event"]["fields"] == {"order_id": 7, "total": {"$decimal": "9.90"}}


def test_the_worker_revives_the_event_and_calls_the_handler(
    dispatcher: EventDispatcher, transport: InMemoryTransport
) -> None:
    """The handler receives an equal event with the same id, and sees its delivery."""
    dispatcher.listen(OrderPlaced, queued=True)(send_receipt)
    event = OrderPlaced(7, decimal.Decimal("9.90"))
    dispatcher.Dispatch(event)
    dispatcher.ClearQueue()
    results = transport.work()
    assert [result.outcome for result in results] == [Outcome.DONE]
    ((tag, received, delivery),) = calls
    assert tag == "receipt"
    assert received is not event
    assert (received.order_id, received.total, received.event_id) == (7, decimal.Decimal("9.90"), event.event_id)
    assert (delivery.event_id, delivery.attempt, delivery.handler) == (event.event_id, 0, send_receipt_key())
    assert delivery.occurred_at == event.occurred_at
    assert current_delivery() is None


def send_receipt_key() -> str:
    return "tests.core.test_queued:send_receipt"


def test_a_queued_pattern_handler_receives_the_name_args_and_kwargs(
    dispatcher: EventDispatcher, transport: InMemoryTransport
) -> None:
    """A string event reaches a queued pattern handler with its name, arguments and an id."""
    dispatcher.listen("queued::orders::.*", queued=True)(audit)
    dispatcher.Dispatch("queued::orders::paid", 7, (1, 2), note={"amount": decimal.Decimal("1.5")})
    dispatcher.ClearQueue()
    transport.work()
    ((_, name, args, kwargs, delivery),) = calls
    assert (name, args, kwargs) == ("queued::orders::paid", (7, (1, 2)), {"note": {"amount": decimal.Decimal("1.5")}})
    assert delivery.event_id == transport.sent[0].event_id


def test_every_queued_handler_of_one_event_gets_the_same_event_id(
    dispatcher: EventDispatcher, transport: InMemoryTransport
) -> None:
    """Two queued handlers of one Event instance send the same id: it identifies the event."""
    dispatcher.listen(OrderPlaced, queued=True)(send_receipt)
    dispatcher.listen("queued::order_.*", queued=True)(audit)
    event = OrderPlaced(1, decimal.Decimal(1))
    dispatcher.Dispatch(event)
    dispatcher.ClearQueue()
    assert [message.event_id for message in transport.sent] == [event.event_id, event.event_id]


def test_a_failing_handler_is_retried_with_backoff_until_it_succeeds(
    dispatcher: EventDispatcher, transport: InMemoryTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two failures, then success: three calls, delays doubling from retry_backoff."""
    dispatcher.listen(OrderPlaced, queued=Queued(max_retries=3, retry_backoff=0.25))(flaky)
    monkeypatch.setattr(OrderPlaced, "dispatcher", dispatcher)
    OrderPlaced.Dispatch(1, decimal.Decimal(1))
    dispatcher.ClearQueue()
    results = transport.work()
    assert [result.outcome for result in results] == [Outcome.RETRY, Outcome.RETRY, Outcome.DONE]
    assert transport.delays == [0.25, 0.5]
    assert len(calls) == 3


def test_a_handler_that_always_fails_ends_in_failed_without_looping(
    dispatcher: EventDispatcher, transport: InMemoryTransport, caplog: pytest.LogCaptureFixture
) -> None:
    """After max_retries retries the failed hook gets the event and the last error, once."""
    dispatcher.listen(OrderPlaced, queued=Queued(max_retries=2, retry_backoff=0, failed=record_failure))(always_fails)
    event = OrderPlaced(3, decimal.Decimal(1))
    dispatcher.Dispatch(event)
    dispatcher.ClearQueue()
    results = transport.work()
    assert [result.outcome for result in results] == [Outcome.RETRY, Outcome.RETRY, Outcome.FAILED]
    assert len(calls) == 3
    ((failed_event, exc),) = failures
    assert failed_event.event_id == event.event_id
    assert isinstance(exc, ValueError)
    assert f"failed on event 'queued::order_placed' (id {event.event_id}) after 3 tries; giving up" in caplog.text


def test_a_failed_hook_that_raises_is_logged(
    dispatcher: EventDispatcher, transport: InMemoryTransport, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception from the failed hook is logged; the message still ends as FAILED."""
    options = Queued(max_retries=0, failed=failing_failure_hook)
    dispatcher.listen(OrderPlaced, queued=options)(always_fails)
    dispatcher.Dispatch(OrderPlaced(3, decimal.Decimal(1)))
    dispatcher.ClearQueue()
    assert [result.outcome for result in transport.work()] == [Outcome.FAILED]
    assert "the failed() hook of the queued handler tests.core.test_queued:always_fails raised" in caplog.text


def test_a_queued_listener_class_retries_then_calls_its_failed_method(transport: InMemoryTransport) -> None:
    """An EventListener with queued = True is sent, retried max_retries times, then failed()."""
    listener_dispatcher.Dispatch(OrderPlaced(-1, decimal.Decimal(0)))
    listener_dispatcher.ClearQueue()
    assert [message.handler for message in transport.sent] == ["tests.core.test_queued:QueuedReceipt"]
    results = transport.work()
    assert [result.outcome for result in results] == [Outcome.RETRY, Outcome.FAILED]
    assert transport.delays == [0.5]
    assert [tag for tag, _ in calls] == ["listener", "listener"]
    assert [type(exc) for _, exc in failures] == [ValueError]


def test_events_a_queued_handler_dispatches_are_handled_before_it_returns(
    dispatcher: EventDispatcher, transport: InMemoryTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the handler dispatches in the worker is drained before the message is done."""
    follow_ups: list[tuple[Any, ...]] = []
    dispatcher.listen(OrderPlaced, queued=True)(dispatches_more)
    dispatcher.RegisterHandler("queued::follow_up", lambda name, *args: follow_ups.append(args))
    monkeypatch.setattr(OrderPlaced, "dispatcher", dispatcher)
    dispatcher.Dispatch(OrderPlaced(5, decimal.Decimal(0)))
    dispatcher.ClearQueue()
    assert follow_ups == []
    transport.work()
    assert follow_ups == [(5,)]


def test_registering_a_queued_handler_registers_its_event_class(dispatcher: EventDispatcher) -> None:
    """Listening for an Event class with queued=True lets the class be revived."""

    class Fresh(Event):
        Name = "queued::fresh"

    try:
        dispatcher.RegisterHandler(Fresh, send_receipt, queued=True)
        assert Fresh in event_classes
    finally:
        event_classes.unregister(Fresh)


def test_a_cancelled_queued_handler_is_no_longer_found_by_workers(dispatcher: EventDispatcher) -> None:
    """After cancel(), the worker's lookup by key finds nothing."""
    registration = dispatcher.RegisterHandler(OrderPlaced, send_receipt, queued=True)
    assert queued_handler(send_receipt_key()) is not None
    registration.cancel()
    assert queued_handler(send_receipt_key()) is None


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"max_retries": -1}, "max_retries must be an int >= 0, not -1"),
        ({"max_retries": 1.5}, "max_retries must be an int >= 0, not 1.5"),
        ({"retry_backoff": "1"}, "retry_backoff must be a finite number of seconds >= 0, not '1'"),
        ({"retry_backoff_max": float("inf")}, "retry_backoff_max must be a finite number of seconds >= 0"),
        ({"retry_backoff": float("nan")}, "retry_backoff must be a finite number"),
        ({"key": ""}, "key must be a non-empty str or None, not ''"),
        ({"queue": 3}, "queue must be a non-empty str or None, not 3"),
    ],
)
def test_invalid_queued_options_are_refused(options: dict[str, Any], match: str) -> None:
    """Each invalid option is refused with a message naming it and its value."""
    with pytest.raises(ValueError, match=match):
        Queued(**options)


def test_a_failed_hook_must_be_callable() -> None:
    """A failed hook that cannot be called is refused."""
    with pytest.raises(TypeError, match=r"failed must be callable as failed\(event, exc\), not 3"):
        Queued(failed=3)  # type: ignore[arg-type]


def test_backoff_doubles_up_to_its_cap() -> None:
    """The delay doubles after each failure and never exceeds retry_backoff_max."""
    options = Queued(retry_backoff=1, retry_backoff_max=5)
    assert [options.delay_for(attempt) for attempt in range(5)] == [1, 2, 4, 5, 5]
    assert options.delay_for(10_000) == 5


def test_a_queued_option_must_be_a_bool_or_queued(dispatcher: EventDispatcher) -> None:
    """``queued`` takes True or a Queued; anything else is refused."""
    with pytest.raises(TypeError, match=r"queued must be a bool or a Queued\(...\), not 'yes'"):
        dispatcher.RegisterHandler(OrderPlaced, send_receipt, queued="yes")  # type: ignore[arg-type]


def test_local_functions_and_lambdas_cannot_be_queued(dispatcher: EventDispatcher) -> None:
    """A handler that a worker could not find by name is refused, suggesting Queued(key=...)."""

    def local(event: OrderPlaced) -> None: ...

    with pytest.raises(InvalidHandlerError, match=r"test_local_functions.*<locals>.local has no name that a worker"):
        dispatcher.listen(OrderPlaced, queued=True)(local)
    with pytest.raises(InvalidHandlerError, match=r"<lambda> has no name .* or name it with Queued\(key=...\)"):
        dispatcher.RegisterHandler("queued::x", lambda name: None, queued=True)
    registration = dispatcher.RegisterHandler(OrderPlaced, local, queued=Queued(key="tests.local"))
    assert queued_handler("tests.local") is not None
    registration.cancel()


def test_a_queued_listener_defined_in_a_function_is_refused() -> None:
    """An EventListener class defined inside a function cannot be queued."""
    with pytest.raises(InvalidHandlerError, match=r"<locals>.Local has no name that a worker process can find"):

        class Local(EventListener):
            listensFor = ["queued::local"]
            dispatcher = listener_dispatcher
            queued = True

            def handle(self, *args: Any) -> None: ...


def test_invalid_listener_queue_options_are_definition_errors() -> None:
    """Bad retry options on a listener class fail when the class is defined."""
    with pytest.raises(ListenerDefinitionError, match="Bad: max_retries must be an int >= 0, not -2"):

        class Bad(EventListener):
            listensFor = ["queued::bad"]
            dispatcher = listener_dispatcher
            queued = True
            max_retries = -2

            def handle(self, *args: Any) -> None: ...

    with pytest.raises(ListenerDefinitionError, match=r"Odd\.queued must be True or False, not 1"):

        class Odd(EventListener):
            listensFor = ["queued::odd"]
            dispatcher = listener_dispatcher
            queued = 1  # type: ignore[assignment]

            def handle(self, *args: Any) -> None: ...


@pytest.mark.parametrize("flag", ["once", "weak"])
def test_once_and_weak_cannot_be_combined_with_queued(dispatcher: EventDispatcher, flag: str) -> None:
    """once and weak make no sense across processes and are refused."""
    with pytest.raises(ValueError, match="cannot be registered with once=True or weak=True"):
        dispatcher.RegisterHandler(OrderPlaced, send_receipt, queued=True, **{flag: True})


def test_two_handlers_cannot_share_a_key(dispatcher: EventDispatcher) -> None:
    """A key already naming another live handler is refused."""
    dispatcher.RegisterHandler(OrderPlaced, send_receipt, queued=Queued(key="shared"))
    with pytest.raises(InvalidHandlerError, match="the queued handler key 'shared' already names"):
        dispatcher.RegisterHandler(OrderPlaced, audit, queued=Queued(key="shared"))


def test_the_same_handler_with_other_options_is_refused(dispatcher: EventDispatcher) -> None:
    """Registering one handler again with different options is an error, not a silent change."""
    dispatcher.RegisterHandler(OrderPlaced, send_receipt, queued=True)
    dispatcher.RegisterHandler("queued::other", send_receipt, queued=True)
    with pytest.raises(InvalidHandlerError, match="is registered again with other options"):
        dispatcher.RegisterHandler("queued::third", send_receipt, queued=Queued(max_retries=9))


class BrokenTransport(Transport):
    name = "broken"

    def enqueue(self, message: Message, *, delay: float = 0.0, attempt: int = 0) -> None:
        raise ConnectionRefusedError("broker down")


def dispatch_unsent(
    dispatcher: EventDispatcher, transport: Transport | None, on_enqueue_error: EnqueueErrorPolicy = "raise"
) -> tuple[OrderPlaced, pytest.ExceptionInfo[HandlerErrors]]:
    """Dispatch an order whose receipt is queued through ``transport``, under "raise"; the drain must raise.

    Returns the event and what the drain raised.
    """
    dispatcher.error_policy = "raise"
    dispatcher.listen(OrderPlaced, queued=True)(send_receipt)
    with using_transport(transport, on_enqueue_error=on_enqueue_error):
        event = dispatcher.Dispatch(OrderPlaced(1, decimal.Decimal(1)))
        with pytest.raises(HandlerErrors) as caught:
            dispatcher.ClearQueue()
    return event, caught


def test_without_a_transport_the_error_names_the_event_and_the_fix(
    dispatcher: EventDispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    """With no transport configured, sending fails loudly with the event id and what to do."""
    event, caught = dispatch_unsent(dispatcher, None)
    assert caught.group_contains(EnqueueError, match=r"no transport is configured for queued handlers")
    assert f"(id {event.event_id})" in caplog.text


def test_a_broker_failure_is_logged_with_the_event_id_and_raised(
    dispatcher: EventDispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    """Under the "raise" policy the failure is logged with the id and raised, carrying the message."""
    event, caught = dispatch_unsent(dispatcher, BrokenTransport())
    assert caught.group_contains(EnqueueError, match=f"id {event.event_id}.*broker down")
    error = caught.value.exceptions[0]
    assert isinstance(error, EnqueueError)
    assert json.loads(error.message.body)["id"] == event.event_id
    assert (
        f"could not enqueue event 'queued::order_placed' (id {event.event_id}) for the queued handler "
        f"{send_receipt_key()}: ConnectionRefusedError: broker down" in caplog.text
    )


def test_a_policy_callable_receives_the_unsent_message(
    dispatcher: EventDispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    """A callable policy gets the message to keep; the failure is still logged, nothing raised."""
    dispatcher.error_policy = "raise"
    outbox: list[EnqueueFailure] = []
    dispatcher.listen(OrderPlaced, queued=True)(send_receipt)
    with using_transport(BrokenTransport(), on_enqueue_error=outbox.append):
        event = dispatcher.Dispatch(OrderPlaced(1, decimal.Decimal(1)))
        dispatcher.ClearQueue()
    ((failure,),) = [outbox]
    assert failure.message.event_id == event.event_id
    assert isinstance(failure.exception, ConnectionRefusedError)
    assert event.event_id in caplog.text


def broken_policy(failure: EnqueueFailure) -> None:
    raise OSError("outbox full")


def test_a_policy_callable_that_raises_falls_back_to_raising(
    dispatcher: EventDispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    """If the policy callable fails too, EnqueueError is raised: the message is never dropped quietly."""
    _, caught = dispatch_unsent(dispatcher, BrokenTransport(), on_enqueue_error=broken_policy)
    assert caught.group_contains(EnqueueError)
    assert "the enqueue error policy" in caplog.text


def test_an_invalid_enqueue_error_policy_is_refused() -> None:
    """Only "raise" or a callable is accepted as the enqueue error policy."""
    with (
        pytest.raises(TypeError, match="on_enqueue_error must be 'raise' or a callable, not 'log'"),
        using_transport(InMemoryTransport(), on_enqueue_error="log"),  # type: ignore[arg-type]
    ):
        pass
    with pytest.raises(TypeError, match="takes a Transport or None, not 'memory'"), using_transport("memory"):  # type: ignore[arg-type]
        pass


class TransactionStub:
    """Stands for a database transaction: a HeldMessages while open, None outside."""

    def __init__(self) -> None:
        self.open: HeldMessages | None = None
        self.asked = 0
        self.names: list[str] = []

    def __call__(self, name: str) -> HeldMessages | None:
        self.asked += 1
        self.names.append(name)
        return self.open


@pytest.fixture
def transaction() -> Iterator[TransactionStub]:
    with installed(set_hold_provider, TransactionStub()) as stub:
        yield stub


def test_messages_dispatched_while_held_are_sent_on_release_only(
    dispatcher: EventDispatcher, transport: InMemoryTransport, transaction: TransactionStub
) -> None:
    """Inside a "transaction", queued messages wait for release; in-process handlers do not."""
    in_process: list[object] = []
    dispatcher.listen(OrderPlaced, queued=True)(send_receipt)
    dispatcher.listen("queued::orders::.*", queued=True)(audit)
    dispatcher.RegisterHandler(".*", lambda name, *args: in_process.append(name))
    held = transaction.open = HeldMessages()
    dispatcher.Dispatch(OrderPlaced(1, decimal.Decimal(1)))
    dispatcher.Dispatch("queued::orders::paid", 1)
    dispatcher.ClearQueue()
    assert in_process == ["queued::order_placed", "queued::orders::paid"]
    assert transport.sent == []
    assert len(held) == 2
    transaction.open = None
    held.release()
    assert [message.event_name for message in transport.sent] == ["queued::order_placed", "queued::orders::paid"]
    dispatcher.Dispatch("queued::orders::refunded")
    dispatcher.ClearQueue()
    assert len(transport.sent) == 3, "outside the transaction, messages go at once"


def test_messages_held_and_never_released_are_never_sent(
    dispatcher: EventDispatcher, transport: InMemoryTransport, transaction: TransactionStub
) -> None:
    """A "rolled back" transaction drops its messages: nothing is sent."""
    dispatcher.listen(OrderPlaced, queued=True)(send_receipt)
    transaction.open = HeldMessages()
    event = dispatcher.Dispatch(OrderPlaced(1, decimal.Decimal(1)))
    dispatcher.ClearQueue()
    transaction.open = None
    assert transport.sent == []
    dispatcher.Dispatch(event)
    dispatcher.ClearQueue()
    assert len(transport.sent) == 1, "dispatched again outside, the same event is not held"


def test_events_without_queued_handlers_never_ask_the_hold_provider(
    dispatcher: EventDispatcher, transport: InMemoryTransport, transaction: TransactionStub
) -> None:
    """The provider is asked only for events that have a queued handler."""
    dispatcher.listen(OrderPlaced, queued=True)(send_receipt)
    dispatcher.Dispatch("queued::unrelated")
    assert transaction.asked == 0
    dispatcher.Dispatch(OrderPlaced(1, decimal.Decimal(1)))
    assert transaction.names == ["queued::order_placed"]
    dispatcher.ClearQueue()


def test_other_interceptors_see_each_held_event_once(
    dispatcher: EventDispatcher, transport: InMemoryTransport, transaction: TransactionStub
) -> None:
    """Interceptors (the testing helpers) see a held string event once, with its plain name."""
    seen: list[str] = []

    def spy(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], event: Event | None) -> bool:
        seen.append(name)
        return False

    interception = dispatcher.intercept(spy)
    dispatcher.listen("queued::orders::.*", queued=True)(audit)
    transaction.open = HeldMessages()
    dispatcher.Dispatch("queued::orders::paid", 1)
    dispatcher.ClearQueue()
    interception.cancel()
    assert seen == ["queued::orders::paid"]
    assert len(transaction.open) == 1


def test_a_held_message_released_with_a_broken_broker_raises_from_release(dispatcher: EventDispatcher) -> None:
    """Release sends every message and raises the first failure: the commit learns of it."""
    held = HeldMessages()
    dispatcher.listen(OrderPlaced, queued=True)(send_receipt)
    stub = dispatcher.registry.resolve("queued::order_placed")[0]
    message = stub.prepare("queued::order_placed", (OrderPlaced(1, decimal.Decimal(1)),), {})  # type: ignore[attr-defined]
    assert held.hold(message)
    with using_transport(BrokenTransport()), pytest.raises(EnqueueError, match="broker down"):
        held.release()
    assert held.released
    assert not held.hold(message), "after release, messages are sent at once"


def test_the_log_of_a_failing_handler_names_the_try(
    dispatcher: EventDispatcher, transport: InMemoryTransport, caplog: pytest.LogCaptureFixture
) -> None:
    """A retry is logged as a warning with the try number and the delay."""
    caplog.set_level(logging.WARNING, "django_event_system.queued")
    dispatcher.listen(OrderPlaced, queued=Queued(max_retries=1, retry_backoff=2))(always_fails)
    event = dispatcher.Dispatch(OrderPlaced(1, decimal.Decimal(1)))
    dispatcher.ClearQueue()
    transport.work()
    assert f"(id {event.event_id}), try 1 of 2; trying again in 2 s: ValueError" in caplog.text


tries: list[tuple[int, int]] = []


def fails_twice(event: OrderPlaced) -> None:
    delivery = current_delivery()
    assert delivery is not None
    tries.append((delivery.attempt, delivery.try_number))
    if delivery.attempt < 2:
        raise ConnectionError("not yet")


def test_the_try_number_is_the_one_the_worker_logs(
    dispatcher: EventDispatcher, transport: InMemoryTransport, caplog: pytest.LogCaptureFixture
) -> None:
    """``attempt`` counts the tries before this one (0 first); ``try_number`` is the log's "try N of M"."""
    tries.clear()
    dispatcher.listen(OrderPlaced, queued=Queued(max_retries=3, retry_backoff=0))(fails_twice)
    dispatcher.Dispatch(OrderPlaced(5, decimal.Decimal(1)))
    dispatcher.ClearQueue()
    assert [result.outcome for result in transport.work()] == [Outcome.RETRY, Outcome.RETRY, Outcome.DONE]
    assert tries == [(0, 1), (1, 2), (2, 3)]
    logged = re.findall(r"try (\d) of (\d)", caplog.text)
    assert logged == [("1", "4"), ("2", "4")]
