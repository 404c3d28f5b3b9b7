"""Tests for ``assert_listening``: functions, listener classes, subscriber and Observer methods."""

from __future__ import annotations

import re

import pytest

from django_event_system import Dispatcher, Event, EventListener, EventSubscriber, on
from django_event_system.testing import assert_listening


class Paid(Event):
    Name = "listening::paid"
    amount: int


class Refunded(Event):
    Name = "listening::refunded"


def audit(name: str, *args: object) -> None:
    """A plain handler."""


def test_each_kind_of_handler_is_found_for_a_name_and_for_an_event_class() -> None:
    class Billing(EventSubscriber):
        @on(Paid)
        def charge(self, event: Paid) -> None: ...

        @on("listening::.*")
        def log(self, name: str, *args: object) -> None: ...

    class Receipts(EventListener):
        listensFor = [Paid]

        def handle(self, event: Paid) -> None: ...

    @Dispatcher.listen(Paid)
    def on_paid(event: Paid) -> None: ...

    registration = Dispatcher.RegisterHandler("listening::paid", audit)
    try:
        for target in (Paid, "listening::paid"):
            assert_listening(target, Billing.charge)
            assert_listening(target, Billing.log)
            assert_listening(target, Billing().log)  # a bound method stands for its function
            assert_listening(target, Receipts)
            assert_listening(target, on_paid)
            assert_listening(target, audit)
        assert_listening(Refunded, Billing.log)
    finally:
        registration.cancel()
        Billing.unregister()
        Receipts.unregister()
        for each in Dispatcher.registry.registrations_for("listening::paid"):
            each.cancel()


def test_the_failure_lists_what_is_registered_for_the_target() -> None:
    class Billing(EventSubscriber):
        @on(Paid, priority=3)
        def charge(self, event: Paid) -> None: ...

        def not_a_handler(self, event: Paid) -> None: ...

    try:
        with pytest.raises(AssertionError) as failure:
            assert_listening(Paid, Billing.not_a_handler)
        where = f"{__name__}:test_the_failure_lists_what_is_registered_for_the_target.<locals>.Billing"
        assert str(failure.value) == (
            "test_the_failure_lists_what_is_registered_for_the_target.<locals>.Billing.not_a_handler is not "
            "registered for Paid ('listening::paid'); registered for it:\n"
            f"  - {where}.charge (pattern 'listening::paid', priority 3)"
        )
    finally:
        Billing.unregister()


def test_the_failure_says_when_nothing_is_registered() -> None:
    with pytest.raises(AssertionError, match=r"^audit is not registered for 'nobody::listens'; nothing is registered"):
        assert_listening("nobody::listens", audit)


@pytest.mark.parametrize("target", [42, "", re.compile("x")])
def test_a_bad_target_is_refused(target: object) -> None:
    with pytest.raises(TypeError, match=r"assert_listening\(\) takes an event name or an Event class, not "):
        assert_listening(target, audit)  # type: ignore[arg-type]
