"""Type-checked only (never run): the testing helpers keep the types of the events they return.

The lines marked ``# type: ignore[code]`` must stay errors: mypy runs with
``warn_unused_ignores``, so a regression that stops catching them fails the check.
"""

from __future__ import annotations

import re
import unittest
from typing import Literal

from typing_extensions import assert_type

from django_event_system import Event
from django_event_system.events import Dispatcher
from django_event_system.testing import EventRecorder, RecordedEvent, fake, fake_except, muted, record_events


class OrderPlaced(Event):
    order_id: int
    total: float = 0.0


class OrderShipped(Event):
    tracking: str


def check_recorder(recorder: EventRecorder) -> None:
    # An Event class gives its instances, typed as that class.
    assert_type(recorder.dispatched(OrderPlaced), list[OrderPlaced])
    assert_type(recorder.dispatched(OrderPlaced)[0].order_id, int)
    assert_type(recorder.assert_dispatched(OrderShipped), list[OrderShipped])
    assert_type(recorder.assert_dispatched(OrderPlaced, times=1, where=lambda e: e.total > 10), list[OrderPlaced])

    # A name or a regex gives the records.
    assert_type(recorder.dispatched("orders::placed"), list[RecordedEvent])
    assert_type(recorder.dispatched(re.compile("orders::.*")), list[RecordedEvent])
    assert_type(recorder.assert_dispatched("x", where=lambda r: r.kwargs["a"] == 1), list[RecordedEvent])
    assert_type(recorder.events, list[RecordedEvent])
    assert_type(recorder.names, list[str])

    # What became of a dispatch: held until its commit, discarded by a rollback...
    assert_type(recorder.dispatched(OrderPlaced, status="held"), list[OrderPlaced])
    assert_type(recorder.discarded(OrderPlaced), list[OrderPlaced])
    assert_type(recorder.assert_discarded("orders::placed", times=1), list[RecordedEvent])
    assert_type(recorder.assert_discarded(OrderPlaced, where=lambda e: e.total > 10), list[OrderPlaced])
    assert_type(recorder.events[0].status, Literal["delivered", "held", "discarded", "withheld", "suppressed"])

    recorder.assert_not_dispatched(OrderPlaced)
    recorder.assert_nothing_dispatched()

    # The predicate receives the Event instance for an Event class...
    recorder.assert_dispatched(OrderPlaced, where=lambda e: e.tracking == "x")  # type: ignore[attr-defined]  # pyright: ignore[reportUnknownMemberType, reportUnknownLambdaType, reportAttributeAccessIssue]
    # ...and the record for a name.
    recorder.assert_dispatched("x", where=lambda r: r.order_id == 1)  # type: ignore[attr-defined]  # pyright: ignore[reportUnknownMemberType, reportUnknownLambdaType, reportAttributeAccessIssue]
    # times is an int.
    recorder.assert_dispatched("x", times="2")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    # A target is a name, a regex or an Event class.
    recorder.dispatched(42)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    recorder.assert_not_dispatched(OrderPlaced(order_id=1))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    # A status is one of the four.
    recorder.dispatched(OrderPlaced, status="rolled back")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]


def check_context_managers() -> None:
    with record_events() as recorded:
        assert_type(recorded, EventRecorder)
    with fake(OrderPlaced, "name", re.compile("x")) as faked:
        assert_type(faked, EventRecorder)
    with fake_except(OrderShipped) as kept:
        assert_type(kept, EventRecorder)
    with muted() as silent:
        assert_type(silent, EventRecorder)
    with fake(3.5):  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        pass


class MockedCase(unittest.TestCase):
    @Dispatcher.MocksDispatch
    def test_sync(self) -> None:
        Dispatcher.Expect("some::event")
        Dispatcher.Expect(OrderPlaced)
        Dispatcher.Expect(re.compile("orders::.*"))
        Dispatcher.Expect(3)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]

    @Dispatcher.MocksDispatch
    async def test_async(self) -> None:
        Dispatcher.Expect(OrderPlaced)


@Dispatcher.MocksDispatch
def mocked(value: int) -> str:
    return str(value)


@Dispatcher.MocksDispatch
async def mocked_async(value: int) -> str:
    return str(value)


# The decorator keeps the function's signature, sync or async.
assert_type(mocked(1), str)
mocked("1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


async def use_mocked_async() -> None:
    assert_type(await mocked_async(1), str)
    await mocked_async("1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
