"""Tests for the JSON encoding of payloads and the registry of revivable Event classes."""

from __future__ import annotations

import datetime
import decimal
import enum
import json
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from django_event_system.core import (
    Event,
    EventClassRegistry,
    EventMeta,
    RejectedMessageError,
    SerializationError,
    event_classes,
    register_event_class,
    register_value_codec,
)
from django_event_system.core.queued._serialization import JSON, decode_event, decode_value, encode_event, encode_value


class Point(Event):
    Name = "serialization::point"
    x: int
    y: int


class Shape(Event):
    Name = "serialization::shape"
    corners: list[Point]
    label: str


class Legacy(Event):
    """A 1.0-style event: a hand-written ``__init__`` and no annotations."""

    Name = "serialization::legacy"

    def __init__(self, name: str, value: object) -> None:
        self.name = name
        self.value = value


class Unregistered(Event):
    Name = "serialization::unregistered"
    n: int


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    """Register the test events for the test, and only for it."""
    register_event_class(Shape)
    register_event_class(Legacy)
    yield
    for cls in (Point, Shape, Legacy):
        event_classes.unregister(cls)


class Color(enum.IntEnum):
    RED = 1


def roundtrip(value: object) -> Any:
    """Encode, write as JSON text, parse and decode, as a message does."""
    return decode_value(json.loads(json.dumps(encode_value(value), allow_nan=False)))


@pytest.mark.parametrize(
    "value",
    [
        "text",
        "",
        0,
        -(2**70),
        1.5,
        True,
        False,
        None,
        decimal.Decimal("9.90"),
        decimal.Decimal("-0.000001"),
        datetime.datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=datetime.timezone.utc),
        datetime.datetime(2024, 5, 1, 12, 30),
        datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))),
        datetime.date(2024, 2, 29),
        datetime.time(23, 59, 59, 999999),
        datetime.timedelta(days=-1, seconds=5, microseconds=7),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        [1, "a", None],
        (1, (2, 3)),
        {"a": 1, "b": [decimal.Decimal("1.5")]},
        {1: "one", (1, 2): "pair", None: "none"},
        {"$decimal": "not a tag when it is a key"},
    ],
    ids=repr,
)
def test_supported_values_come_back_equal_and_of_the_same_type(value: object) -> None:
    """Each supported value comes back from its JSON text equal and of the same type."""
    revived = roundtrip(value)
    assert revived == value
    assert type(revived) is type(value)
    if isinstance(value, datetime.datetime):
        assert isinstance(revived, datetime.datetime)
        assert revived.tzinfo == value.tzinfo


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")], ids=repr)
def test_non_finite_floats_travel_as_tagged_values(value: float) -> None:
    """NaN and the infinities, which JSON cannot hold, travel as tagged strings."""
    revived = roundtrip(value)
    assert repr(revived) == repr(value)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ({1, 2}, r"payload is a builtins\.set"),
        (object(), r"payload is a builtins\.object"),
        (Color.RED, r"payload is a .*Color"),
        ([1, {"k": b"bytes"}], r"payload\[1\]\['k'\] is a builtins\.bytes"),
    ],
    ids=["set", "object", "int-enum", "nested-bytes"],
)
def test_values_that_cannot_travel_are_refused_with_their_path(value: object, match: str) -> None:
    """A value of another type is refused, naming where it is in the payload."""
    with pytest.raises(SerializationError, match=match):
        encode_value(value)


def test_an_event_comes_back_with_its_fields_id_and_timestamp() -> None:
    """An Event is revived as its own class with equal fields, the same id and the same timestamp."""
    shape = Shape([Point(1, 2), Point(3, 4)], "line")
    revived = decode_event(json.loads(json.dumps(encode_event(shape))))
    assert type(revived) is Shape
    assert revived.label == "line"
    assert [(p.x, p.y) for p in revived.corners] == [(1, 2), (3, 4)]
    assert all(type(p) is Point for p in revived.corners)
    assert revived.event_id == shape.event_id
    assert revived.occurred_at == shape.occurred_at
    assert revived.corners[0].event_id == shape.corners[0].event_id


def test_registering_a_class_registers_the_event_classes_of_its_fields() -> None:
    """Point, named in Shape's field annotation, was registered with Shape."""
    assert Point in event_classes
    assert event_classes.get("serialization::point") is Point


def test_an_event_with_a_hand_written_init_travels_without_calling_init() -> None:
    """A 1.0-style event is revived with its attributes, without running its ``__init__``."""
    legacy = Legacy("total", decimal.Decimal("3"))
    revived = decode_event(encode_event(legacy))
    assert type(revived) is Legacy
    assert (revived.name, revived.value) == ("total", decimal.Decimal("3"))


def test_encoding_an_unregistered_event_class_fails_at_the_producer() -> None:
    """An Event of a class not registered cannot be sent: the error says how to register it."""
    with pytest.raises(SerializationError, match=r"not registered for queued handlers: call register_event_class"):
        encode_value([Unregistered(1)])


def test_a_message_naming_an_unregistered_class_is_refused_and_imports_nothing() -> None:
    """Reviving looks names up in the registry only: an unknown name imports no module."""
    forged = {"name": "evil_pkg_never_imported::Payload", "id": "x", "ts": 0, "fields": {}}
    with pytest.raises(RejectedMessageError, match=r"not registered in this process; nothing was imported"):
        decode_event(forged)
    assert "evil_pkg_never_imported" not in sys.modules


def test_a_registered_name_does_not_revive_another_class_with_that_name() -> None:
    """Only the registered class itself is revived; the registry is the allow-list."""
    data = encode_event(Point(1, 2))
    event_classes.unregister(Point)
    with pytest.raises(RejectedMessageError, match="serialization::point"):
        decode_event(data)


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"x": 1}, r"lacks the fields \['y'\]"),
        ({"x": 1, "y": 2, "_event_id": "forged"}, r"forbidden attribute '_event_id'"),
        ({"x": 1, "y": 2, "dispatcher": 1}, r"forbidden attribute 'dispatcher'"),
        ({"x": 1, "y": 2, "stop_propagation": 1}, r"forbidden attribute 'stop_propagation'"),
        ({"x": 1, "y": 2, "not an identifier": 1}, r"forbidden attribute 'not an identifier'"),
    ],
    ids=["missing-field", "private", "class-attribute", "method", "not-identifier"],
)
def test_forged_event_fields_are_refused(fields: dict[str, JSON], match: str) -> None:
    """Fields that are missing, private, or would hide the class's behaviour are refused."""
    data = {"name": "serialization::point", "id": "x", "ts": 0.0, "fields": fields}
    with pytest.raises(RejectedMessageError, match=match):
        decode_event(data)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"$pickle": "gASV"}, r"unknown value tag '\$pickle'"),
        ({"a": 1}, r"unknown value tag 'a'"),
        ({"$decimal": "abc"}, r"malformed \$decimal value 'abc'"),
        ({"$datetime": 5}, r"malformed \$datetime value 5"),
        ({"$timedelta": [1, 2]}, r"malformed \$timedelta"),
        ({"$float": "1e999"}, r"malformed \$float"),
        ({"$map": [[1]]}, r"malformed \$map"),
        ({"$decimal": "1", "$uuid": "2"}, "unexpected value in the payload"),
        ({"$event": {"name": 1}}, "malformed event in the payload"),
    ],
    ids=repr,
)
def test_malformed_values_are_refused(data: JSON, match: str) -> None:
    """What the encoder never produces is refused with a message saying what is wrong."""
    with pytest.raises(RejectedMessageError, match=match):
        decode_value(data)


def test_deeply_nested_payloads_are_refused() -> None:
    """A payload nested deeper than the limit is refused instead of exhausting the stack."""
    data: JSON = 1
    for _ in range(100):
        data = [data]
    with pytest.raises(RejectedMessageError, match="nests deeper than 64 levels"):
        decode_value(data)


def test_two_classes_cannot_share_an_event_name() -> None:
    """Registering a second class under a registered name is an error naming both."""
    registry = EventClassRegistry()
    registry.register(Point)

    class Impostor(Event):
        Name = "serialization::point"

    with pytest.raises(TypeError, match=r"already registered for .*Point; give .*Impostor another Name"):
        registry.register(Impostor)


def test_only_event_subclasses_can_be_registered() -> None:
    """Registering something that is not an Event subclass is refused."""
    with pytest.raises(TypeError, match="takes an Event subclass, not <class 'int'>"):
        register_event_class(int)  # type: ignore[type-var]
    with pytest.raises(TypeError, match="takes an Event subclass"):
        register_event_class(Event)


class Money:
    def __init__(self, cents: int) -> None:
        self.cents = cents


class MoneyCodec:
    tag = "money"

    def can_encode(self, value: object) -> bool:
        return isinstance(value, Money)

    def encode(self, value: Money) -> JSON:
        return value.cents

    def decode(self, data: JSON) -> object:
        if type(data) is not int:
            raise RejectedMessageError(f"bad money {data!r}")
        return Money(data)


def test_a_value_codec_teaches_the_encoder_a_type() -> None:
    """A registered codec encodes its type under its tag, until it is removed."""
    remove = register_value_codec(MoneyCodec())
    try:
        assert encode_value(Money(250)) == {"$money": 250}
        revived = roundtrip([Money(250)])
        assert isinstance(revived[0], Money)
        assert revived[0].cents == 250
    finally:
        remove()
    with pytest.raises(SerializationError, match="Money"):
        encode_value(Money(1))


@pytest.mark.parametrize("tag", ["decimal", "not an identifier"])
def test_a_value_codec_cannot_take_a_used_or_invalid_tag(tag: str) -> None:
    """A codec whose tag is built in or not an identifier is refused."""
    codec = MoneyCodec()
    codec.tag = tag
    with pytest.raises(ValueError, match=f"the value codec tag {tag!r} is taken or not an identifier"):
        register_value_codec(codec)


def test_event_ids_are_unique_stable_and_timestamps_aware() -> None:
    """Each event has its own id, the same on every read, and an aware UTC timestamp."""
    first, second = Point(1, 1), Point(1, 1)
    assert first.event_id != second.event_id
    assert first.event_id == first.event_id
    assert uuid.UUID(first.event_id).version == 4
    assert first.occurred_at.tzinfo is datetime.timezone.utc
    assert first.occurred_at == first.occurred_at
    assert "_event_id" not in vars(Point(2, 2)), "the id is given lazily"


@pytest.mark.parametrize("field", ["event_id", "occurred_at"])
def test_event_classes_cannot_redefine_the_identity_fields(field: str) -> None:
    """A field named like the event's id or timestamp is refused when the class is defined."""
    with pytest.raises(TypeError, match=f"cannot define {field}: Event reserves event_id and occurred_at"):
        EventMeta("Clash", (Event,), {"__annotations__": {field: "str"}, "__module__": __name__})
