"""Tests for the worker side: forged and malformed messages are refused, and nothing in them runs."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from django_event_system.core import (
    Event,
    EventDispatcher,
    InMemoryTransport,
    Outcome,
    RejectedMessageError,
    Result,
    process_message,
    using_transport,
)

received: list[tuple[Any, ...]] = []


class Shipped(Event):
    Name = "worker::shipped"
    parcel: str


def on_shipped(event: Shipped) -> None:
    received.append(("shipped", event.parcel))


@pytest.fixture
def valid(dispatcher: EventDispatcher) -> Iterator[dict[str, Any]]:
    """A queued handler of Shipped, and a valid message for it, parsed, to be tampered with."""
    received.clear()
    transport = InMemoryTransport()
    dispatcher.listen(Shipped, queued=True)(on_shipped)
    with using_transport(transport):
        dispatcher.Dispatch(Shipped("p-1"))
        dispatcher.ClearQueue()
    envelope: dict[str, Any] = json.loads(transport.sent[0].body)
    yield envelope
    received.clear()


def rejected(result: Result, caplog: pytest.LogCaptureFixture, text: str) -> None:
    assert result.outcome is Outcome.REJECTED
    assert isinstance(result.error, RejectedMessageError)
    assert text in caplog.text
    assert received == []


def test_the_untampered_message_is_handled(valid: dict[str, Any]) -> None:
    """The valid message, as sent, runs the handler once: the fixture is sound."""
    result = process_message(json.dumps(valid))
    assert result.outcome is Outcome.DONE
    assert result.event_id == valid["id"]
    assert received == [("shipped", "p-1")]


def test_bytes_bodies_are_accepted(valid: dict[str, Any]) -> None:
    """A body given as UTF-8 bytes is handled like text."""
    assert process_message(json.dumps(valid).encode()).outcome is Outcome.DONE
    assert received == [("shipped", "p-1")]


@pytest.mark.parametrize(
    ("body", "log"),
    [
        ("not json at all", "the body is not JSON"),
        (b"\xff\xfe\x00", "the body is not JSON"),
        ('{"v": NaN}', "the body is not JSON (NaN is not valid JSON)"),
        ("[1, 2]", "the body is not a queued event message"),
        ('{"v": 1}', "the body is not a queued event message"),
        ("\x80\x04\x95", "the body is not JSON"),
    ],
    ids=["text", "bad-utf8", "nan", "array", "missing-keys", "pickle-opcodes"],
)
def test_bodies_that_are_not_queued_messages_are_refused(
    body: str | bytes, log: str, valid: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """A body that is not the JSON a QueuedHandler writes is refused and logged."""
    rejected(process_message(body), caplog, f"refused a queued message: {log}")


@pytest.mark.parametrize(
    ("change", "log"),
    [
        ({"v": 2}, "the body is not a queued event message"),
        ({"extra": 1}, "the body is not a queued event message"),
        ({"handler": 5}, "the message's handler, name or id is not a string"),
        ({"args": {}}, "the message's args or kwargs are malformed"),
        ({"ts": "yesterday"}, "the message's timestamp is not a number"),
        ({"handler": "os:system"}, "no queued handler 'os:system' is registered in this process"),
        ({"name": "worker::other"}, "does not listen for 'worker::other'"),
    ],
    ids=["version", "extra-key", "handler-type", "args-type", "timestamp", "unknown-handler", "other-event"],
)
def test_tampered_envelopes_are_refused(
    change: dict[str, Any], log: str, valid: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """A message whose envelope was changed is refused and logged; the handler does not run."""
    valid.update(change)
    rejected(process_message(json.dumps(valid)), caplog, log)


def test_a_forged_event_class_is_refused_and_nothing_is_imported(
    valid: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """A message naming an unregistered Event class is refused; no module of that name is loaded."""
    valid["event"]["name"] = valid["name"] = "forged_pkg_never_imported::Evil"
    valid["handler"] = "tests.core.test_worker:on_shipped"
    result = process_message(json.dumps(valid))
    assert result.outcome is Outcome.REJECTED
    assert "forged_pkg_never_imported" not in sys.modules
    assert received == []
    assert "refused a queued message" in caplog.text


def test_a_forged_payload_value_is_refused(valid: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    """An unknown value tag inside the event's fields is refused with the event id in the log."""
    valid["event"]["fields"]["parcel"] = {"$pickle": "gASV"}
    result = process_message(json.dumps(valid))
    key = "tests.core.test_worker:on_shipped"
    expected = f"refused a queued message for {key} (event 'worker::shipped', id {valid['id']}): unknown value tag"
    rejected(result, caplog, expected)


def test_an_event_whose_id_was_changed_is_refused(valid: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    """The envelope's id and the event's own id must agree."""
    valid["event"]["id"] = "another-id"
    rejected(process_message(json.dumps(valid)), caplog, "the message's event does not match its name and id")


@pytest.mark.parametrize("timestamp", [1e20, -1e20, 1e300], ids=["far-future", "far-past", "huge"])
def test_a_timestamp_out_of_range_is_refused(
    timestamp: float, valid: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """A timestamp that no datetime can hold is refused and logged with the event id, never raised."""
    valid["ts"] = timestamp
    result = process_message(json.dumps(valid))
    expected = (
        f"refused a queued message: the message's timestamp {timestamp!r} is out of range "
        f"(event 'worker::shipped', id {valid['id']})"
    )
    rejected(result, caplog, expected)
    assert result.event_id == valid["id"]


def test_a_timestamp_with_hundreds_of_digits_is_refused(
    valid: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """An integer timestamp too large for a float is refused like any other out of range."""
    valid["ts"] = 10**400
    result = process_message(json.dumps(valid))
    rejected(result, caplog, f"is out of range (event 'worker::shipped', id {valid['id']})")


@pytest.mark.parametrize("timestamp", [1e20, 10**400], ids=["float", "int"])
def test_an_event_timestamp_out_of_range_is_refused_not_retried(
    timestamp: float, valid: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """The event's own timestamp is checked too: out of range, the message is refused, never retried."""
    valid["event"]["ts"] = timestamp
    result = process_message(json.dumps(valid))
    key = "tests.core.test_worker:on_shipped"
    expected = (
        f"refused a queued message for {key} (event 'worker::shipped', id {valid['id']}): "
        "the message's 'worker::shipped' event has a timestamp out of range"
    )
    rejected(result, caplog, expected)
