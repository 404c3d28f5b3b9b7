"""Tests for the exception hierarchy and for what happens when a handler raises."""

from __future__ import annotations

import logging
import sys
from typing import Any

import pytest

from django_event_system.core import (
    EmptyEventNameError,
    Event,
    EventDispatcher,
    EventSystemError,
    HandlerErrors,
    HandlerFailure,
    InvalidEventError,
    InvalidHandlerError,
    InvalidPatternError,
    ListenerDefinitionError,
    QueueUsageError,
)

if sys.version_info >= (3, 11):
    from builtins import ExceptionGroup
else:
    from exceptiongroup import ExceptionGroup


class Failing(Event):
    Name = "failing::event"


def broken(name: str, *args: Any, **kwargs: Any) -> None:
    """A handler that always raises."""
    raise ValueError(f"broken by {name}")


# -- the hierarchy -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (InvalidPatternError, ValueError),
        (InvalidEventError, TypeError),
        (EmptyEventNameError, ValueError),
        (InvalidHandlerError, TypeError),
        (ListenerDefinitionError, TypeError),
        (QueueUsageError, RuntimeError),
    ],
)
def test_each_error_is_also_the_matching_builtin(error: type[Exception], builtin: type[Exception]) -> None:
    """Every error derives from EventSystemError and from the builtin that code would already catch."""
    assert issubclass(error, EventSystemError)
    assert issubclass(error, builtin)


def test_handler_errors_is_an_exception_group() -> None:
    """HandlerErrors is an ExceptionGroup, so ``except*`` and ``.exceptions`` work on it."""
    group = HandlerErrors("2 event handlers failed", [ValueError("a"), KeyError("b")])
    assert isinstance(group, ExceptionGroup)
    assert [type(error) for error in group.exceptions] == [ValueError, KeyError]
    matched, rest = group.split(ValueError)
    assert matched is not None
    assert rest is not None
    assert [str(error) for error in matched.exceptions] == ["a"]


def test_invalid_pattern_error_message() -> None:
    """InvalidPatternError names the pattern, the regex error and what to do."""
    error = InvalidPatternError("a(", ValueError("missing )"))
    assert str(error) == (
        "invalid event pattern 'a(': missing ). Patterns are regular expressions matched against "
        "the whole event name; escape literal characters with re.escape()."
    )


# -- one failure never stops the rest ------------------------------------------------------------


def test_a_failing_handler_does_not_stop_the_others(dispatcher: EventDispatcher) -> None:
    """The handlers after a failing one, the other events and the worker all keep going."""
    calls: list[tuple[str, str]] = []
    dispatcher.RegisterHandler("evt.*", lambda name: calls.append(("before", name)), priority=1)
    dispatcher.RegisterHandler("evt.*", broken)
    dispatcher.RegisterHandler("evt.*", lambda name: calls.append(("after", name)), priority=-1)
    for number in range(3):
        dispatcher.Dispatch(f"evt{number}")
    dispatcher.ClearQueue()
    assert calls == [(position, f"evt{n}") for n in range(3) for position in ("before", "after")]
    # The worker survived: a new event is still handled.
    dispatcher.Dispatch("evt9")
    dispatcher.ClearQueue()
    assert calls[-2:] == [("before", "evt9"), ("after", "evt9")]


def test_a_failure_is_logged_with_event_handler_and_traceback(
    dispatcher: EventDispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    """A failure is logged on ``django_event_system`` with the event name, ``module:qualname`` and the traceback."""
    dispatcher.RegisterHandler("evt", broken)
    with caplog.at_level(logging.ERROR, logger="django_event_system"):
        dispatcher.Dispatch("evt")
        dispatcher.ClearQueue()
    records = [record for record in caplog.records if record.name == "django_event_system"]
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == f"handler {__name__}:broken failed while handling event 'evt'"
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)
    assert "ValueError: broken by evt" in caplog.text
    assert 'raise ValueError(f"broken by {name}")' in caplog.text  # the traceback's source line


def test_a_failing_listen_handler_is_logged_under_its_own_name(
    dispatcher: EventDispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler registered with ``listen(EventClass)`` is named after the decorated function, not a wrapper."""

    @dispatcher.listen(Failing)
    def on_failing(event: Failing) -> None:
        raise RuntimeError("nope")

    with caplog.at_level(logging.ERROR, logger="django_event_system"):
        dispatcher.Dispatch(Failing())
        dispatcher.ClearQueue()
    assert [record.getMessage() for record in caplog.records] == [
        f"handler {__name__}:test_a_failing_listen_handler_is_logged_under_its_own_name.<locals>.on_failing "
        "failed while handling event 'failing::event'"
    ]


def test_a_failing_once_or_weak_handler_is_logged_under_its_own_name(
    dispatcher: EventDispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    """Handlers wrapped for ``once`` or ``weak`` keep their ``module:qualname`` in the log."""
    dispatcher.RegisterHandler("evt", broken, once=True)
    dispatcher.RegisterHandler("evt", broken, weak=True)
    with caplog.at_level(logging.ERROR, logger="django_event_system"):
        dispatcher.Dispatch("evt")
        dispatcher.ClearQueue()
    assert [record.getMessage() for record in caplog.records] == [
        f"handler {__name__}:broken failed while handling event 'evt'"
    ] * 2


# -- the "raise" policy --------------------------------------------------------------------------


def test_raise_policy_collects_every_failure_into_clear_queue() -> None:
    """Under ``error_policy="raise"`` ``ClearQueue`` raises HandlerErrors holding every exception, with notes."""
    dispatcher = EventDispatcher(error_policy="raise")
    survived: list[str] = []
    dispatcher.RegisterHandler("evt.*", broken)
    dispatcher.RegisterHandler("evt.*", lambda name: survived.append(name), priority=-1)
    for number in range(3):
        dispatcher.Dispatch(f"evt{number}")
    with pytest.raises(HandlerErrors, match=r"^3 event handlers failed") as caught:
        dispatcher.ClearQueue()
    assert sorted(str(error) for error in caught.value.exceptions) == [f"broken by evt{n}" for n in range(3)]
    assert all(isinstance(error, ValueError) for error in caught.value.exceptions)
    first = min(caught.value.exceptions, key=str)
    assert getattr(first, "__notes__", None) == [f"raised by handler {__name__}:broken while handling event 'evt0'"]
    assert sorted(survived) == ["evt0", "evt1", "evt2"]
    dispatcher.ClearQueue()  # the errors were reported once and are gone


def test_raise_policy_with_a_single_failure_says_handler() -> None:
    """One failure is reported as "1 event handler failed"."""
    dispatcher = EventDispatcher(error_policy="raise")
    dispatcher.RegisterHandler("evt", broken)
    dispatcher.Dispatch("evt")
    with pytest.raises(HandlerErrors, match=r"^1 event handler failed") as caught:
        dispatcher.ClearQueue()
    assert len(caught.value.exceptions) == 1


def test_raise_policy_in_sync_mode_raises_from_dispatch() -> None:
    """Under ``"raise"`` in sync mode, ``Dispatch`` itself raises HandlerErrors after every handler ran."""
    dispatcher = EventDispatcher(error_policy="raise", sync=True)
    survived: list[str] = []
    dispatcher.RegisterHandler("evt", broken)
    dispatcher.RegisterHandler("evt", lambda name: survived.append(name))
    with pytest.raises(HandlerErrors, match=r"^1 event handler failed") as caught:
        dispatcher.Dispatch("evt")
    assert [str(error) for error in caught.value.exceptions] == ["broken by evt"]
    assert survived == ["evt"]


def test_raise_policy_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """Under ``"raise"`` failures are raised, not logged."""
    dispatcher = EventDispatcher(error_policy="raise")
    dispatcher.RegisterHandler("evt", broken)
    dispatcher.Dispatch("evt")
    with caplog.at_level(logging.DEBUG, logger="django_event_system"), pytest.raises(HandlerErrors):
        dispatcher.ClearQueue()
    assert caplog.records == []


# -- a callable policy ---------------------------------------------------------------------------


def test_callable_policy_receives_handler_failure() -> None:
    """A callable policy receives a HandlerFailure with the event, the handler, the exception and the arguments."""
    failures: list[HandlerFailure] = []
    dispatcher = EventDispatcher(error_policy=failures.append)
    dispatcher.RegisterHandler("evt", broken)
    dispatcher.Dispatch("evt", 1, key="value")
    dispatcher.ClearQueue()
    assert len(failures) == 1
    failure = failures[0]
    assert failure.event_name == "evt"
    assert failure.handler == f"{__name__}:broken"
    assert isinstance(failure.exception, ValueError)
    assert str(failure.exception) == "broken by evt"
    assert failure.args == (1,)
    assert failure.kwargs == {"key": "value"}


def test_a_policy_that_changes_a_failure_kwargs_changes_no_other_event() -> None:
    """Events queued without keyword arguments share one empty dict in the queue; the failure an
    error policy receives has a dict of its own, so what the policy puts in it reaches no other event."""
    received: list[dict[str, Any]] = []

    def policy(failure: HandlerFailure) -> None:
        failure.kwargs["added"] = "by the policy"

    dispatcher = EventDispatcher(error_policy=policy)
    dispatcher.RegisterHandler("evt", broken)
    dispatcher.RegisterHandler("other", lambda name, **kwargs: received.append(kwargs))
    dispatcher.Dispatch("evt")
    dispatcher.Dispatch("other")
    dispatcher.ClearQueue()
    dispatcher.Dispatch("other")
    dispatcher.ClearQueue()
    assert received == [{}, {}]


def test_callable_policy_can_be_set_after_construction(dispatcher: EventDispatcher) -> None:
    """Assigning ``error_policy`` switches the policy for later failures."""
    failures: list[HandlerFailure] = []
    dispatcher.error_policy = failures.append
    assert dispatcher.error_policy == failures.append
    dispatcher.RegisterHandler("evt", broken)
    dispatcher.Dispatch("evt")
    dispatcher.ClearQueue()
    assert [failure.event_name for failure in failures] == ["evt"]


def test_failing_policy_is_logged_with_the_handler_error(caplog: pytest.LogCaptureFixture) -> None:
    """When the policy callable itself raises, both its error and the handler's error are logged."""

    def policy(failure: HandlerFailure) -> None:
        raise RuntimeError("policy broke")

    dispatcher = EventDispatcher(error_policy=policy)
    survived: list[str] = []
    dispatcher.RegisterHandler("evt", broken)
    dispatcher.RegisterHandler("evt", lambda name: survived.append(name))
    with caplog.at_level(logging.ERROR, logger="django_event_system"):
        dispatcher.Dispatch("evt")
        dispatcher.ClearQueue()
    assert survived == ["evt"]
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith(f"the error policy {policy!r} failed for handler {__name__}:broken and event 'evt'")
    assert messages[1] == f"handler {__name__}:broken failed while handling event 'evt'"
    policy_record, handler_record = caplog.records
    assert policy_record.exc_info is not None
    assert isinstance(policy_record.exc_info[1], RuntimeError)
    assert handler_record.exc_info is not None
    assert isinstance(handler_record.exc_info[1], ValueError)
