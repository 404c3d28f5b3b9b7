"""Measures the peers on the same one-handler workload: a bare deque, Django signals, pyee, blinker.

Run by ``benchmarks.run`` in ``.venv-bench``: ``python -m benchmarks.peers [--quick] [SECTION...]``.
Every handler does what this package's benchmark handler does: count the call.
"""

from __future__ import annotations

import collections
import sys
from collections.abc import Callable
from typing import Any

from ._common import BATCH, JSON, Settings, Tally, describe_environment, emit, ns_per_event, parse_args, progress


class Order:
    """The sender of the signals, as a model class would be."""


def floor(settings: Settings) -> JSON:
    """The floor of any queue: append ``(name, args)`` to a deque x1000, then pop and call the handler."""
    tally = Tally()
    queue: collections.deque[tuple[str, tuple[Any, ...]]] = collections.deque()

    def handler(name: str, value: int) -> None:
        tally.calls += 1

    def batch() -> None:
        for i in range(BATCH):
            queue.append(("bench::one", (i,)))
        while queue:
            name, args = queue.popleft()
            handler(name, *args)

    return ns_per_event(batch, settings).as_json(tally.calls)


def signal(settings: Settings) -> JSON:
    """Django's synchronous ``Signal.send(sender, value=i)``, one receiver connected with ``weak=False``."""
    from django.dispatch import Signal

    tally = Tally()
    order_paid = Signal()

    def receiver(sender: type[Order], value: int, **kwargs: Any) -> None:
        tally.calls += 1

    order_paid.connect(receiver, weak=False)

    def batch() -> None:
        for i in range(BATCH):
            order_paid.send(Order, value=i)

    return ns_per_event(batch, settings).as_json(tally.calls)


def pyee(settings: Settings) -> JSON:
    """pyee's ``EventEmitter.emit(name, i)``, one listener."""
    from pyee import EventEmitter

    tally = Tally()
    emitter: Any = EventEmitter()

    def listener(value: int) -> None:
        tally.calls += 1

    emitter.on("bench::one", listener)

    def batch() -> None:
        for i in range(BATCH):
            emitter.emit("bench::one", i)

    return ns_per_event(batch, settings).as_json(tally.calls)


def blinker(settings: Settings) -> JSON:
    """blinker's ``Signal.send(sender, value=i)``, one receiver connected with ``weak=False``."""
    from blinker import Signal

    tally = Tally()
    order_paid: Any = Signal()

    def receiver(sender: type[Order], value: int) -> None:
        tally.calls += 1

    order_paid.connect(receiver, weak=False)

    def batch() -> None:
        for i in range(BATCH):
            order_paid.send(Order, value=i)

    return ns_per_event(batch, settings).as_json(tally.calls)


SECTIONS: dict[str, Callable[[Settings], JSON]] = {
    "floor": floor,
    "signal": signal,
    "pyee": pyee,
    "blinker": blinker,
}


def main(argv: list[str]) -> None:
    """Run the named sections (all by default) and print their results as JSON."""
    chosen, settings = parse_args(argv, SECTIONS)
    results: JSON = {}
    for name in chosen:
        progress(f"peers: {name}")
        results[name] = SECTIONS[name](settings)
    emit(describe_environment(["django", "pyee", "blinker"]), results)


if __name__ == "__main__":
    main(sys.argv[1:])
