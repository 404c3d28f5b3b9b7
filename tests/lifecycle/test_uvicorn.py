"""uvicorn serving the Django ASGI application: sync views and ``async def`` views.

A sync view runs in a thread of its own (asgiref's per-request thread), where the end of the
request drains its events; an ``async def`` view dispatches in the event loop's thread, which
hands its events to the bridge thread. No view calls ClearQueue. uvicorn is stopped with SIGTERM.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._harness import (
    FD_SLACK,
    START_UP_EVENTS,
    Program,
    assert_handled_once,
    dispatched,
    require_module,
    started,
    wait_until_handled,
)

LISTENING = r"Uvicorn running on (http://127\.0\.0\.1:\d+)"
UVICORN = (
    "-m",
    "uvicorn",
    "tests.lifecycle.project.asgi:application",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--lifespan",
    "off",
)


@pytest.fixture(autouse=True)
def _uvicorn() -> None:
    require_module("uvicorn")


def request_both_views(server: Program, name: str, count: int) -> list[str]:
    """Request the sync view and the ``async def`` view ``count`` times each; return the ids of their events."""
    ids = []
    for number in range(count):
        for view in ("dispatch", "dispatch-async"):
            event_id = f"{name}-{view}-{number}"
            assert server.get(f"/{view}/?name={event_id}") == "dispatched"
            ids.append(event_id)
    return ids


@pytest.mark.slow
def test_sync_and_async_views_events_are_handled_once(tmp_path: Path) -> None:
    """Each event of 300 sync and 300 async requests is handled once while uvicorn runs; descriptors stay flat."""
    with started(*UVICORN, out=tmp_path, name="uvicorn") as server:
        server.serving(LISTENING)
        threads = server.threads() + 1  # and the bridge thread, once an async view has dispatched
        ids = request_both_views(server, "first", 50)
        wait_until_handled(tmp_path, ids, "the events of the first 100 requests")
        server.settle(threads)
        after_100 = server.fds()
        ids += request_both_views(server, "then", 250)
        wait_until_handled(tmp_path, ids, "the events of 600 requests")
        server.settle(threads)
        after_600 = server.fds()
    assert_handled_once(tmp_path, ids)
    assert after_600 <= after_100 + FD_SLACK, f"open descriptors: {after_100} after 100 requests, {after_600} after 600"


@pytest.mark.slow
def test_events_after_a_dispatch_before_the_loop_ran_are_handled(tmp_path: Path) -> None:
    """After the app dispatched before uvicorn's loop ran, those and the views' events are handled once as it runs."""
    with started(
        "-m", "tests.lifecycle.project.uvicorn_first", out=tmp_path, name="uvicorn", env={START_UP_EVENTS: "3"}
    ) as server:
        server.serving(LISTENING)
        ids = request_both_views(server, "after-start-up", 10)
        wait_until_handled(tmp_path, [*ids, *dispatched(tmp_path)], "the start-up events and the events of 20 requests")
    assert_handled_once(tmp_path, ids)
