"""Tests for ``Dispatcher.MocksDispatch`` and ``Dispatcher.Expect``: the spec's test helpers."""

from __future__ import annotations

import asyncio
import re
import unittest
from collections.abc import Callable
from typing import Any

import pytest
from django.test import SimpleTestCase, TestCase

from django_event_system.core import Dispatcher, Event, EventDispatcher, EventListener, Registration
from django_event_system.events import Dispatcher as SpecDispatcher
from django_event_system.testing import MockUsageError


class OrderPlaced(Event):
    order_id: int


class OrderShipped(Event):
    order_id: int


def run_case(case_class: type[unittest.TestCase], method: str = "test_it") -> unittest.TestResult:
    """Run one test method of ``case_class`` with unittest's own runner machinery."""
    result = unittest.TestResult()
    case_class(method).run(result)
    return result


def only_failure(result: unittest.TestResult) -> str:
    """Return the traceback text of the single failure of ``result``, checking there is nothing else."""
    assert result.errors == [], result.errors
    assert len(result.failures) == 1, result.failures
    return result.failures[0][1]


def recording(calls: list[Any], label: str) -> Callable[..., None]:
    """Return a handler that appends ``(label, name)`` to ``calls``."""

    def handler(name: str, *args: Any, **kwargs: Any) -> None:
        calls.append((label, name))

    return handler


# -- the spec's example ---------------------------------------------------------------------------


class TestSpecExample(TestCase):
    """The spec's example, as written, with ``events`` renamed ``django_event_system``."""

    @SpecDispatcher.MocksDispatch
    def test_SignalToEvent(self) -> None:
        """Expecting an event and dispatching it passes."""
        SpecDispatcher.Expect("some::event::to::be::fired")
        SpecDispatcher.Dispatch("some::event::to::be::fired")


def test_mocks_dispatch_and_expect_are_attributes_of_the_1_0_dispatcher() -> None:
    """``from django_event_system.events import Dispatcher`` gives the dispatcher that has both helpers."""
    assert SpecDispatcher is Dispatcher
    assert callable(SpecDispatcher.MocksDispatch)
    assert callable(SpecDispatcher.Expect)


# -- unittest -------------------------------------------------------------------------------------


def test_expected_event_is_recorded_and_not_delivered() -> None:
    """An expected event never reaches its handlers; an event that is not expected does."""
    calls: list[Any] = []

    class Case(unittest.TestCase):
        @Dispatcher.MocksDispatch
        def test_it(self) -> None:
            Dispatcher.RegisterHandler("payment::.*", recording(calls, "inside"))
            Dispatcher.Expect("payment::captured")
            Dispatcher.Dispatch("payment::captured")
            Dispatcher.Dispatch("payment::refunded")

    with Dispatcher.RegisterHandler("payment::.*", recording(calls, "app")):
        result = run_case(Case)
    assert result.wasSuccessful(), result.failures + result.errors
    assert calls == [("app", "payment::refunded"), ("inside", "payment::refunded")]


def test_missing_expectation_fails_the_test_naming_it() -> None:
    """A missing event fails the test (a failure, not an error), names it and lists what was dispatched."""

    class Case(unittest.TestCase):
        @Dispatcher.MocksDispatch
        def test_it(self) -> None:
            Dispatcher.Expect("orders::placed")
            Dispatcher.Dispatch("orders::cancelled")
            Dispatcher.Dispatch("audit::log")
            Dispatcher.Dispatch("audit::log")

    message = only_failure(run_case(Case))
    assert "AssertionError: 1 expected event was not dispatched:\n  - 'orders::placed'\n" in message
    assert "Dispatched instead:\n  - 'orders::cancelled'\n  - 'audit::log' (2 times)" in message


def test_message_names_every_missing_event() -> None:
    """With several events missing, the message names each, names and Event classes alike."""

    class Case(unittest.TestCase):
        @Dispatcher.MocksDispatch
        def test_it(self) -> None:
            Dispatcher.Expect("first::event")
            Dispatcher.Expect(OrderShipped)
            Dispatcher.Expect(re.compile(r"orders::\d+::paid"))

    message = only_failure(run_case(Case))
    assert "3 expected events were not dispatched:" in message
    assert "  - 'first::event'\n" in message
    assert f"  - OrderShipped ({OrderShipped.__event_name__!r})\n" in message
    assert "  - re.compile('orders::\\\\d+::paid')\n" in message
    assert "Nothing was dispatched." in message


def test_message_suggests_the_nearest_name_for_a_typo() -> None:
    """A name close to one that was dispatched is suggested: ``did you mean ...?``."""

    class Case(unittest.TestCase):
        @Dispatcher.MocksDispatch
        def test_it(self) -> None:
            Dispatcher.Expect("some::event::to::be::fired")
            Dispatcher.Dispatch("some::event::to::be::fried")
            Dispatcher.Dispatch("unrelated")

    message = only_failure(run_case(Case))
    assert "  - 'some::event::to::be::fired' (did you mean 'some::event::to::be::fried'?)\n" in message


def test_no_suggestion_when_nothing_is_close() -> None:
    """A name that resembles nothing dispatched gets no suggestion."""

    class Case(unittest.TestCase):
        @Dispatcher.MocksDispatch
        def test_it(self) -> None:
            Dispatcher.Expect("orders::placed")
            Dispatcher.Dispatch("zzz")

    message = only_failure(run_case(Case))
    assert "  - 'orders::placed'\n" in message
    assert "did you mean" not in message


def test_event_class_expectation_is_met_by_an_instance() -> None:
    """``Expect(EventClass)`` is met by dispatching an instance, which its listeners do not receive."""
    received: list[OrderPlaced] = []

    class Case(unittest.TestCase):
        @Dispatcher.MocksDispatch
        def test_it(self) -> None:
            Dispatcher.Expect(OrderPlaced)
            OrderPlaced.Dispatch(order_id=1)

    Dispatcher.listen(OrderPlaced)(received.append)
    try:
        result = run_case(Case)
    finally:
        for registration in Dispatcher.registry.registrations_for(OrderPlaced.__event_name__):
            registration.cancel()
    assert result.wasSuccessful(), result.failures + result.errors
    assert received == []


def test_event_class_expectation_is_not_met_by_its_name_alone() -> None:
    """Dispatching an Event class's name as a string does not meet ``Expect(EventClass)``, and the message says so."""

    class Case(unittest.TestCase):
        @Dispatcher.MocksDispatch
        def test_it(self) -> None:
            Dispatcher.Expect(OrderPlaced)
            Dispatcher.Dispatch(OrderPlaced.__event_name__)

    message = only_failure(run_case(Case))
    assert f"(dispatched as the name {OrderPlaced.__event_name__!r}, not as an instance of OrderPlaced" in message


def test_regex_expectation_is_met_by_any_matching_name() -> None:
    """``Expect(re.compile(...))`` is met by a name that the pattern fully matches."""

    class Case(unittest.TestCase):
        @Dispatcher.MocksDispatch
        def test_it(self) -> None:
            Dispatcher.Expect(re.compile(r"orders::\d+::paid"))
            Dispatcher.Dispatch("orders::42::paid")

    result = run_case(Case)
    assert result.wasSuccessful(), result.failures + result.errors


def test_expect_after_the_dispatch_still_counts() -> None:
    """An event dispatched before ``Expect`` in the same test meets the expectation."""

    class Case(unittest.TestCase):
        @Dispatcher.MocksDispatch
        def test_it(self) -> None:
            Dispatcher.Dispatch("already::sent")
            Dispatcher.Expect("already::sent")

    result = run_case(Case)
    assert result.wasSuccessful(), result.failures + result.errors


def test_works_on_a_django_simple_test_case() -> None:
    """The decorator works on the methods of Django's test case classes."""

    class Case(SimpleTestCase):
        @Dispatcher.MocksDispatch
        def test_it(self) -> None:
            Dispatcher.Expect("never::sent")

    message = only_failure(run_case(Case))
    assert "  - 'never::sent'" in message


# -- deterministic dispatch -----------------------------------------------------------------------


def test_queue_is_drained_before_expectations_are_checked() -> None:
    """An expected event that a queued handler dispatches is seen: the queue drains before the check."""
    calls: list[Any] = []

    class Case(unittest.TestCase):
        @Dispatcher.MocksDispatch
        def test_it(self) -> None:
            Dispatcher.RegisterHandler("orders::placed", lambda name: Dispatcher.Dispatch("mail::queued"))
            Dispatcher.Expect("mail::queued")
            Dispatcher.Dispatch("orders::placed")
            # Queued mode: nothing has run yet, so the expectation cannot have been met here.
            calls.append(Dispatcher.pending_count())

    with Dispatcher.sync_mode(False), Dispatcher.RegisterHandler("mail::queued", recording(calls, "mailer")):
        result = run_case(Case)
    assert result.wasSuccessful(), result.failures + result.errors
    assert calls == [1]  # the mailer never ran: the event was expected
    assert Dispatcher.pending_count() == 0


# -- restore --------------------------------------------------------------------------------------


def test_application_handlers_stay_in_their_order() -> None:
    """Handlers registered before the test survive it as the same registrations, still in order."""
    calls: list[Any] = []
    first = Dispatcher.RegisterHandler("shop::.*", recording(calls, "first"))
    second = Dispatcher.RegisterHandler("shop::opened", recording(calls, "second"))
    third = Dispatcher.RegisterHandler("shop::.*", recording(calls, "third"), priority=-1)

    class Case(unittest.TestCase):
        @Dispatcher.MocksDispatch
        def test_it(self) -> None:
            Dispatcher.RegisterHandler("shop::opened", recording(calls, "test"), priority=5)
            Dispatcher.Dispatch("shop::opened")

    try:
        before = list(Dispatcher.registry)
        result = run_case(Case)
        assert result.wasSuccessful(), result.failures + result.errors
        assert list(Dispatcher.registry) == before
        assert all(registration.active for registration in (first, second, third))
        calls.clear()
        Dispatcher.Dispatch("shop::opened")
        Dispatcher.ClearQueue()
        assert calls == [("first", "shop::opened"), ("second", "shop::opened"), ("third", "shop::opened")]
    finally:
        for registration in (first, second, third):
            registration.cancel()


def test_handlers_cancelled_in_the_test_come_back_after_it() -> None:
    """A test that cancels an application handler gets it back, the same registration, in its place."""
    calls: list[Any] = []
    first = Dispatcher.RegisterHandler("shop::.*", recording(calls, "first"))
    second = Dispatcher.RegisterHandler("shop::opened", recording(calls, "second"))

    class Case(unittest.TestCase):
        @Dispatcher.MocksDispatch
        def test_it(self) -> None:
            first.cancel()
            Dispatcher.Dispatch("shop::opened")

    try:
        before = list(Dispatcher.registry)
        result = run_case(Case)
        assert result.wasSuccessful(), result.failures + result.errors
        assert calls == [("second", "shop::opened")]
        assert list(Dispatcher.registry) == before
        assert first.active
        calls.clear()
        Dispatcher.Dispatch("shop::opened")
        Dispatcher.ClearQueue()
        assert calls == [("first", "shop::opened"), ("second", "shop::opened")]
    finally:
        first.cancel()
        second.cancel()


def test_handlers_registered_in_the_test_are_removed_after_it() -> None:
    """Handlers and listeners registered inside the test are unregistered when it ends."""
    created: list[Registration] = []

    class Case(unittest.TestCase):
        @Dispatcher.MocksDispatch
        def test_it(self) -> None:
            created.append(Dispatcher.RegisterHandler("x", print))

            class Listener(EventListener):
                listensFor = ["y"]

                def handle(self, *args: Any, **kwargs: Any) -> None: ...

            created.extend(Listener.registrations)

    before = list(Dispatcher.registry)
    result = run_case(Case)
    assert result.wasSuccessful(), result.failures + result.errors
    assert len(created) == 2
    assert not any(registration.active for registration in created)
    assert list(Dispatcher.registry) == before


def test_restore_happens_when_the_test_raises() -> None:
    """A test that raises is reported with its own error, and its handlers and interceptor are gone."""
    created: list[Registration] = []

    class Case(unittest.TestCase):
        @Dispatcher.MocksDispatch
        def test_it(self) -> None:
            created.append(Dispatcher.RegisterHandler("x", print))
            Dispatcher.Expect("never::sent")
            raise KeyError("boom")

    result = run_case(Case)
    assert result.failures == []
    assert len(result.errors) == 1
    assert "KeyError: 'boom'" in result.errors[0][1]
    assert "never::sent" not in result.errors[0][1]
    assert not created[0].active
    assert Dispatcher._interceptors == ()


def test_leftover_events_of_a_failed_test_are_handled_without_masking_its_error() -> None:
    """Events queued by a failed test are drained quietly; the test's own failure is the one reported."""
    Dispatcher_ = EventDispatcher(error_policy="raise")

    def broken(name: str) -> None:
        raise ValueError("handler failed")

    class Case(unittest.TestCase):
        @Dispatcher_.MocksDispatch
        def test_it(self) -> None:
            Dispatcher_.RegisterHandler("work", broken)
            Dispatcher_.Dispatch("work")
            self.fail("the test's own failure")

    result = run_case(Case)
    assert "the test's own failure" in only_failure(result)
    assert Dispatcher_.pending_count() == 0


def test_nested_mocked_functions_expect_in_the_innermost() -> None:
    """``Expect`` applies to the innermost mocked function; the outer one checks its own expectations."""

    @Dispatcher.MocksDispatch
    def inner() -> None:
        Dispatcher.Expect("inner::event")

    class Case(unittest.TestCase):
        @Dispatcher.MocksDispatch
        def test_it(self) -> None:
            Dispatcher.Expect("outer::event")
            Dispatcher.Dispatch("outer::event")
            inner()

    message = only_failure(run_case(Case))
    assert "  - 'inner::event'" in message
    assert "  - 'outer::event'" not in message


# -- pytest functions and async tests -------------------------------------------------------------


@Dispatcher.MocksDispatch
def test_decorates_a_plain_pytest_function() -> None:
    """On a pytest function, an expected event is recorded and not delivered."""
    calls: list[Any] = []
    Dispatcher.RegisterHandler("pytest::event", recording(calls, "h"))
    Dispatcher.Expect("pytest::event")
    Dispatcher.Dispatch("pytest::event")
    Dispatcher.ClearQueue()
    assert calls == []


@Dispatcher.MocksDispatch
def test_pytest_fixtures_still_resolve(tmp_path: Any) -> None:
    """The wrapper keeps the function's signature, so pytest passes the fixtures it asks for."""
    assert tmp_path.is_dir()
    Dispatcher.Expect("fixture::event")
    Dispatcher.Dispatch("fixture::event")


def test_decorating_a_failing_function_raises_assertion_error() -> None:
    """Called directly, a mocked function whose expectation is missing raises AssertionError."""

    @Dispatcher.MocksDispatch
    def check() -> None:
        Dispatcher.Expect("missing::event")

    with pytest.raises(AssertionError, match=r"1 expected event was not dispatched:\n  - 'missing::event'"):
        check()


def test_return_value_passes_through() -> None:
    """The decorated function returns what the function returns."""

    @Dispatcher.MocksDispatch
    def compute(x: int) -> int:
        return x * 2

    assert compute(21) == 42


def test_async_function_is_mocked_across_awaits() -> None:
    """An ``async def`` test stays mocked across its awaits and is checked when it finishes."""
    calls: list[Any] = []

    @Dispatcher.MocksDispatch
    async def check() -> str:
        Dispatcher.Expect("async::event")
        await asyncio.sleep(0)
        Dispatcher.Dispatch("async::event")
        return "done"

    assert asyncio.iscoroutinefunction(check)
    with Dispatcher.RegisterHandler("async::event", recording(calls, "h")):
        assert asyncio.run(check()) == "done"
    assert calls == []


def test_async_test_case_failure_is_reported() -> None:
    """On an ``IsolatedAsyncioTestCase`` method, a missing event is a failure naming it."""

    class Case(unittest.IsolatedAsyncioTestCase):
        @Dispatcher.MocksDispatch
        async def test_it(self) -> None:
            await asyncio.sleep(0)
            Dispatcher.Expect("async::missing")
            Dispatcher.Dispatch("async::missng")

    message = only_failure(run_case(Case))
    assert "  - 'async::missing' (did you mean 'async::missng'?)" in message


def test_async_test_case_passes() -> None:
    """On an ``IsolatedAsyncioTestCase`` method, an expected event that is dispatched passes."""

    class Case(unittest.IsolatedAsyncioTestCase):
        @Dispatcher.MocksDispatch
        async def test_it(self) -> None:
            Dispatcher.Expect(OrderPlaced)
            await asyncio.sleep(0)
            OrderPlaced.Dispatch(order_id=3)

    result = run_case(Case)
    assert result.wasSuccessful(), result.failures + result.errors


# -- another dispatcher ---------------------------------------------------------------------------


def test_each_dispatcher_mocks_its_own_events(dispatcher: EventDispatcher) -> None:
    """A dispatcher's mock does not swallow the events of another dispatcher."""
    calls: list[Any] = []
    dispatcher.RegisterHandler("shared::name", recording(calls, "other"))

    @Dispatcher.MocksDispatch
    def check() -> None:
        Dispatcher.Expect("shared::name")
        Dispatcher.Dispatch("shared::name")
        dispatcher.Dispatch("shared::name")

    check()
    dispatcher.ClearQueue()
    assert calls == [("other", "shared::name")]


# -- bad input ------------------------------------------------------------------------------------


def test_expect_outside_a_mocked_test_is_an_error() -> None:
    """``Expect`` outside a mocked test raises MockUsageError saying where it works."""
    with pytest.raises(MockUsageError, match=r"Expect\('x'\) works only inside a test decorated with @Dispatcher"):
        Dispatcher.Expect("x")


@pytest.mark.parametrize(
    ("target", "error", "message"),
    [
        (42, TypeError, r"an event target must be an event name \(str\), a compiled regular expression"),
        (None, TypeError, r"an event target must be .*not None \(NoneType\)"),
        ("", ValueError, "an event name to look for cannot be empty"),
        (re.compile(b"x"), TypeError, "a regular expression target must match str, not bytes"),
        (OrderPlaced(order_id=1), TypeError, "expected an Event class, not the instance .*; pass OrderPlaced itself"),
    ],
)
def test_expect_rejects_a_bad_target(target: Any, error: type[Exception], message: str) -> None:
    """``Expect`` with something that is not a name, a compiled regex or an Event class says what it takes."""

    @Dispatcher.MocksDispatch
    def check() -> None:
        Dispatcher.Expect(target)

    with pytest.raises(error, match=message):
        check()


def test_decorating_a_class_is_an_error() -> None:
    """``MocksDispatch`` on a class raises TypeError pointing at the test methods."""
    with pytest.raises(TypeError, match=r"not the class .*\.Case; decorate each test method instead"):

        @Dispatcher.MocksDispatch
        class Case(unittest.TestCase):
            pass


def test_decorating_a_non_callable_is_an_error() -> None:
    """``MocksDispatch`` on something that is not callable raises TypeError naming it."""
    with pytest.raises(TypeError, match="MocksDispatch decorates a test function or method, not 3"):
        Dispatcher.MocksDispatch(3)  # type: ignore[type-var]


def test_sync_mode_swallows_expected_events_and_runs_the_rest_inline() -> None:
    """In sync mode an expected event is still held back, and other events run inside ``Dispatch``."""
    calls: list[Any] = []

    @Dispatcher.MocksDispatch
    def check() -> None:
        Dispatcher.Expect("held")
        Dispatcher.Dispatch("held")
        Dispatcher.Dispatch("inline")
        calls.append("after dispatch")

    with (
        Dispatcher.sync_mode(),
        Dispatcher.RegisterHandler("held|inline", recording(calls, "h")),
    ):
        check()
    assert calls == [("h", "inline"), "after dispatch"]
