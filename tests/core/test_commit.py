"""Tests for after-commit events and handlers in the core, with a stand-in for the adapter's transactions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest

from django_event_system.core import (
    Event,
    EventDispatcher,
    EventListener,
    HandlerErrors,
    HeldMessages,
    InMemoryTransport,
    set_hold_provider,
    using_transport,
)
from django_event_system.core._commit import HoldState, _CommitGate, set_commit_hook
from tests.helpers import installed


class Transaction:
    """Stands for one open transaction: keeps what is scheduled until commit() or rollback()."""

    def __init__(self) -> None:
        self.callbacks: list[tuple[Callable[[], None], bool]] = []
        self.released = False
        self.rolled_back = False

    def schedule(self, release: Callable[[], None], *, robust: bool) -> None:
        self.callbacks.append((release, robust))

    @property
    def state(self) -> HoldState:
        return "released" if self.released else "discarded" if self.rolled_back else "held"

    def commit(self) -> None:
        self.released = True
        for release, _ in self.callbacks:
            release()

    def rollback(self) -> None:
        self.rolled_back = True
        self.callbacks.clear()


class Transactions:
    """Stands for the adapter's hook: a transaction is open while ``open`` is set."""

    own_prefix = "adapter::"

    def __init__(self) -> None:
        self.open: Transaction | None = None
        self.asked: list[str | None] = []

    def pending(self, using: str | None) -> Transaction | None:
        self.asked.append(using)
        return self.open

    def begin(self) -> Transaction:
        self.open = Transaction()
        return self.open


@pytest.fixture
def transactions() -> Iterator[Transactions]:
    with installed(set_commit_hook, Transactions()) as hook:
        yield hook


@pytest.fixture
def no_adapter() -> Iterator[None]:
    """No commit hook at all, as in a process without the Django adapter."""
    with installed(set_commit_hook, None):
        yield


def gate_of(dispatcher: EventDispatcher) -> object | None:
    gate = _CommitGate.gates.get(dispatcher)
    if gate is None or gate.interceptor not in dispatcher._interceptors:
        return None
    return gate


def has_fast_path(dispatcher: EventDispatcher) -> bool:
    """Whether ``Dispatch`` queues a plain name without asking any interceptor."""
    return dispatcher._queue_directly


def recorder(calls: list[str], label: str) -> Callable[..., None]:
    def handler(name: str, *args: object) -> None:
        calls.append(label)

    return handler


# -- held and released --------------------------------------------------------------------------


def test_an_after_commit_handler_waits_for_the_commit_and_the_others_do_not(
    dispatcher: EventDispatcher, transactions: Transactions
) -> None:
    """In a transaction, ``after_commit=True`` holds that handler's share until the commit; the others get it now."""
    calls: list[str] = []
    dispatcher.RegisterHandler("orders::paid", recorder(calls, "later"), after_commit=True)
    dispatcher.RegisterHandler("orders::paid", recorder(calls, "now"))
    transaction = transactions.begin()
    dispatcher.Dispatch("orders::paid", 1)
    dispatcher.ClearQueue()
    assert calls == ["now"]
    assert len(transaction.callbacks) == 1
    transaction.commit()
    assert calls == ["now"], "released at the commit, but queued: not run in the committing code's stack"
    dispatcher.ClearQueue()
    assert calls == ["now", "later"]


def test_a_rolled_back_transaction_never_delivers_the_held_share(
    dispatcher: EventDispatcher, transactions: Transactions
) -> None:
    """What waits for the commit is dropped by a rollback."""
    calls: list[str] = []
    dispatcher.listen("orders::paid", after_commit=True)(recorder(calls, "later"))
    transactions.begin()
    dispatcher.Dispatch("orders::paid")
    transactions.open = None
    dispatcher.ClearQueue()
    assert calls == []


def test_outside_a_transaction_after_commit_handlers_get_the_event_at_once(
    dispatcher: EventDispatcher, transactions: Transactions
) -> None:
    """When the hook sees no open transaction, nothing is held."""
    calls: list[str] = []
    dispatcher.RegisterHandler("orders::paid", recorder(calls, "later"), after_commit=True)
    dispatcher.Dispatch("orders::paid")
    dispatcher.ClearQueue()
    assert calls == ["later"]
    assert transactions.asked == [None]


def test_an_after_commit_event_class_holds_every_handler(
    dispatcher: EventDispatcher, transactions: Transactions
) -> None:
    """An ``after_commit`` Event class reaches none of its handlers, whatever their pattern, before the commit."""
    calls: list[str] = []

    class Shipped(Event):
        after_commit = True
        order_id: int

    Shipped.dispatcher = dispatcher
    dispatcher.listen(Shipped)(lambda event: calls.append(f"listen {event.order_id}"))
    dispatcher.RegisterHandler(".*", recorder(calls, "everything"))
    transaction = transactions.begin()
    Shipped.Dispatch(order_id=3)
    dispatcher.ClearQueue()
    assert calls == []
    transaction.commit()
    dispatcher.ClearQueue()
    assert calls == ["listen 3", "everything"]


def test_the_event_class_names_the_database_it_waits_for(
    dispatcher: EventDispatcher, transactions: Transactions
) -> None:
    """``after_commit_using`` is the database the hook is asked about; ``None`` asks for the adapter's default."""

    class Stocked(Event):
        after_commit = True
        after_commit_using = "inventory"

    class Counted(Event):
        after_commit = True

    class Audited(Event):
        after_commit_using = "audit"

    Stocked.dispatcher = Counted.dispatcher = Audited.dispatcher = dispatcher
    dispatcher.RegisterHandler(Audited, print, after_commit=True)
    dispatcher.Dispatch(Stocked())
    dispatcher.Dispatch(Counted())
    dispatcher.Dispatch(Audited())  # its after-commit handler waits for that database too
    assert transactions.asked == ["inventory", None, "audit"]


def test_stop_propagation_holds_for_held_events(dispatcher: EventDispatcher, transactions: Transactions) -> None:
    """A handler that stops a held event keeps it from the handlers after it, as for any event."""
    calls: list[str] = []

    class Refunded(Event):
        after_commit = True

    def first(name: str, event: Refunded) -> None:
        calls.append("first")
        event.stop_propagation()

    Refunded.dispatcher = dispatcher
    dispatcher.RegisterHandler(Refunded, first, priority=10)
    dispatcher.RegisterHandler(Refunded, recorder(calls, "second"))
    transaction = transactions.begin()
    Refunded.Dispatch()
    transaction.commit()
    dispatcher.ClearQueue()
    assert calls == ["first"]


def test_in_sync_mode_held_handlers_run_in_the_commit_and_raise_there(
    dispatcher: EventDispatcher, transactions: Transactions
) -> None:
    """Sync mode runs the held handlers inline at the commit, scheduled not robust, so that ``"raise"`` raises there."""

    def broken(name: str) -> None:
        raise ValueError("no stock")

    dispatcher.sync = True
    dispatcher.error_policy = "raise"
    dispatcher.RegisterHandler("stock::reserved", broken, after_commit=True)
    transaction = transactions.begin()
    dispatcher.Dispatch("stock::reserved")
    [(_, robust)] = transaction.callbacks
    assert robust is False
    with pytest.raises(HandlerErrors) as raised:
        transaction.commit()
    assert isinstance(raised.value.exceptions[0], ValueError)


def test_in_queued_mode_the_release_is_robust(dispatcher: EventDispatcher, transactions: Transactions) -> None:
    """Queued, the release only queues: it is scheduled robust, so that it never stops other commit callbacks."""
    dispatcher.RegisterHandler("stock::reserved", print, after_commit=True)
    transaction = transactions.begin()
    dispatcher.Dispatch("stock::reserved")
    assert [robust for _, robust in transaction.callbacks] == [True]


def test_handlers_registered_after_the_dispatch_count_at_the_commit(
    dispatcher: EventDispatcher, transactions: Transactions
) -> None:
    """The held share goes to the after-commit handlers registered when the transaction commits."""
    calls: list[str] = []
    early = dispatcher.RegisterHandler("orders::paid", recorder(calls, "early"), after_commit=True)
    transaction = transactions.begin()
    dispatcher.Dispatch("orders::paid")
    early.cancel()
    dispatcher.RegisterHandler("orders::paid", recorder(calls, "late"), after_commit=True)
    transaction.commit()
    dispatcher.ClearQueue()
    assert calls == ["late"]


def test_an_after_commit_event_sends_its_queued_message_once_after_the_commit(
    dispatcher: EventDispatcher, transactions: Transactions
) -> None:
    """With queued messages held until commit too, an after-commit Event's queued handler sends one message, after."""

    class Invoiced(Event):
        Name = "commit::invoiced"
        after_commit = True
        number: int

    Invoiced.dispatcher = dispatcher
    transport = InMemoryTransport()
    held = HeldMessages()
    with installed(set_hold_provider, lambda name: held), using_transport(transport):
        dispatcher.listen(Invoiced, queued=True)(send_invoice)
        transaction = transactions.begin()
        Invoiced.Dispatch(number=1)
        dispatcher.ClearQueue()
        assert transport.sent == []
        held.release()  # the messages' own hold, released by the same commit, first
        transaction.commit()
        dispatcher.ClearQueue()
        assert [message.event_name for message in transport.sent] == ["commit::invoiced"]


def send_invoice(event: Event) -> None:
    """A queued handler (module level, so that a worker finds it)."""


def audit_orders(name: str, *args: object) -> None:
    """A queued handler of a pattern: it receives the name first."""


# -- without an adapter -------------------------------------------------------------------------


def test_without_an_adapter_after_commit_events_and_handlers_go_at_once(
    dispatcher: EventDispatcher, no_adapter: None
) -> None:
    """With no hook installed there is no transaction to wait for: everything is delivered at once."""
    calls: list[str] = []

    class Shipped(Event):
        after_commit = True

    Shipped.dispatcher = dispatcher
    dispatcher.RegisterHandler("orders::paid", recorder(calls, "handler"), after_commit=True)
    dispatcher.RegisterHandler(Shipped, recorder(calls, "event"))
    dispatcher.Dispatch("orders::paid")
    dispatcher.Dispatch(Shipped())
    dispatcher.ClearQueue()
    assert calls == ["handler", "event"]
    assert gate_of(dispatcher) is None


# -- the cost: a gate only where it is needed ----------------------------------------------------


def test_a_dispatcher_has_a_gate_only_while_it_has_after_commit_registrations(
    dispatcher: EventDispatcher, transactions: Transactions
) -> None:
    """The gate comes with the first after-commit registration and goes with the last, restoring the fast path."""
    plain = dispatcher.RegisterHandler("orders::paid", print)
    assert gate_of(dispatcher) is None
    assert has_fast_path(dispatcher)
    registration = dispatcher.RegisterHandler("orders::paid", print, after_commit=True)
    assert gate_of(dispatcher) is not None
    assert not has_fast_path(dispatcher)
    registration.cancel()
    assert gate_of(dispatcher) is None
    assert has_fast_path(dispatcher)
    plain.cancel()


def test_the_gate_goes_when_a_clear_or_a_restore_drops_the_after_commit_registrations(
    dispatcher: EventDispatcher, transactions: Transactions
) -> None:
    """``Reset()`` and a mocked test's restore take the gate away with the registrations."""
    snapshot = dispatcher.registry.snapshot()
    dispatcher.RegisterHandler("orders::paid", print, after_commit=True)
    dispatcher.registry.restore(snapshot)
    assert gate_of(dispatcher) is None
    dispatcher.RegisterHandler("orders::paid", print, after_commit=True)
    dispatcher.Reset()
    assert gate_of(dispatcher) is None


def test_registrations_the_adapter_holds_itself_need_no_gate(
    dispatcher: EventDispatcher, transactions: Transactions
) -> None:
    """After-commit handlers of the adapter's own names (model events) leave the dispatcher its fast path."""
    dispatcher.RegisterHandler("adapter::created", print, after_commit=True)
    assert gate_of(dispatcher) is None
    assert has_fast_path(dispatcher)


def test_an_after_commit_event_class_gates_its_dispatcher(transactions: Transactions) -> None:
    """Defining an after-commit Event class, or pointing one at a dispatcher, gives that dispatcher a gate."""
    first, second = EventDispatcher(), EventDispatcher()

    class Audited(Event):
        after_commit = True
        dispatcher: ClassVar[EventDispatcher] = first

    assert gate_of(first) is not None
    Audited.dispatcher = second
    assert gate_of(second) is not None
    assert gate_of(first) is None
    Audited.after_commit = False
    assert gate_of(second) is None


def test_the_gate_comes_after_the_queued_hold_and_before_the_testing_helpers(
    dispatcher: EventDispatcher, transactions: Transactions
) -> None:
    """Installed later than either, the gate still takes its place between them."""

    def spy(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], event: Event | None) -> bool:
        return False

    with installed(set_hold_provider, lambda name: None):
        dispatcher.listen("orders::.*", queued=True)(audit_orders)
        interception = dispatcher.intercept(spy)
        dispatcher.RegisterHandler("orders::paid", print, after_commit=True)
        kinds = [getattr(i, "__name__", type(i).__name__) for i in dispatcher._interceptors]
        assert kinds == ["check", "commit_gate", "spy"]  # the queued handlers' dispatch check first
        interception.cancel()


def test_a_dispatcher_without_after_commit_handlers_never_asks_the_hook(
    dispatcher: EventDispatcher, transactions: Transactions
) -> None:
    """Events that nothing holds back cost the hook nothing: it is not asked."""
    dispatcher.RegisterHandler("orders::paid", print, after_commit=True)
    dispatcher.RegisterHandler("orders::shipped", print)
    dispatcher.Dispatch("orders::shipped")
    dispatcher.ClearQueue()
    assert transactions.asked == []


# -- declarations and checks ----------------------------------------------------------------------


def test_an_event_listener_declares_after_commit() -> None:
    """``after_commit`` is a declared EventListener option, ``False`` by default, carried by its registrations."""
    bus = EventDispatcher()

    class Plain(EventListener):
        listensFor = ["a"]
        dispatcher = bus

        def handle(self, event: str) -> None: ...

    class Committed(EventListener):
        listensFor = ["b"]
        dispatcher = bus
        after_commit = True

        def handle(self, event: str) -> None: ...

    assert EventListener.after_commit is False
    assert [r.after_commit for r in Plain.registrations] == [False]
    assert [r.after_commit for r in Committed.registrations] == [True]


def test_a_handler_of_an_after_commit_event_class_is_an_after_commit_registration(dispatcher: EventDispatcher) -> None:
    """Registered for an after-commit Event class, a handler's registration says so."""

    class Closed(Event):
        after_commit = True

    Closed.dispatcher = dispatcher
    assert Closed.AddListener(print).after_commit is True
    assert dispatcher.RegisterHandler(Closed, print).after_commit is True


def test_a_queued_handler_can_be_an_after_commit_one(dispatcher: EventDispatcher, transactions: Transactions) -> None:
    """``queued=True`` with ``after_commit=True`` holds the message until the commit, even with no message hold."""
    transport = InMemoryTransport()
    with using_transport(transport):
        registration = dispatcher.RegisterHandler("orders::billed", send_invoice, queued=True, after_commit=True)
        assert registration.after_commit is True
        transaction = transactions.begin()
        dispatcher.Dispatch("orders::billed")
        dispatcher.ClearQueue()
        assert transport.sent == []
        transaction.commit()
        dispatcher.ClearQueue()
        assert [message.event_name for message in transport.sent] == ["orders::billed"]


def test_the_registry_lists_its_after_commit_registrations(dispatcher: EventDispatcher) -> None:
    """``after_commit_registrations()`` follows registration, cancellation, clear and restore."""
    registry = dispatcher.registry
    kept = dispatcher.RegisterHandler("a", print, after_commit=True)
    snapshot = registry.snapshot()
    gone = dispatcher.RegisterHandler("b", print, after_commit=True)
    dispatcher.RegisterHandler("c", print)
    assert registry.after_commit_registrations() == (kept, gone)
    gone.cancel()
    assert registry.after_commit_registrations() == (kept,)
    registry.clear()
    assert registry.after_commit_registrations() == ()
    registry.restore(snapshot)
    assert registry.after_commit_registrations() == (kept,)
    assert "after_commit" in repr(kept)


@pytest.mark.parametrize(
    ("namespace", "match"),
    [
        ({"after_commit": 1}, r"^Bad\.after_commit must be True or False, not 1$"),
        ({"after_commit_using": ""}, r"^Bad\.after_commit_using must be a database alias"),
    ],
)
def test_invalid_event_class_options_fail_when_defined(namespace: dict[str, object], match: str) -> None:
    """An Event class's ``after_commit`` must be a bool and ``after_commit_using`` an alias or None."""
    with pytest.raises(TypeError, match=match):
        type("Bad", (Event,), namespace)


def test_after_commit_must_be_a_bool_where_a_handler_is_registered(dispatcher: EventDispatcher) -> None:
    """``RegisterHandler(after_commit=...)`` refuses what is not a bool."""
    with pytest.raises(TypeError, match=r"after_commit must be True or False, not 'yes'"):
        dispatcher.RegisterHandler("a", print, after_commit="yes")  # type: ignore[arg-type]
