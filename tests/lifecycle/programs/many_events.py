"""Dispatch 10,000 events and end without draining: the queue is drained at interpreter exit."""

from __future__ import annotations

from tests.lifecycle.records import dispatch, listen

if __name__ == "__main__":
    listen()
    dispatch(*(f"script-{number}" for number in range(10_000)))
