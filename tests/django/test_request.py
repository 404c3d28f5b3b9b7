"""Tests for draining when a request finishes: a request's events are handled right after its response."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

import gevent
import gevent.monkey
import pytest
from django.test import Client, override_settings

from django_event_system import Dispatcher, HandlerErrors

from .testapp.models import Example


@pytest.fixture
def handled() -> Iterator[list[str]]:
    """The names of the ``request::...`` events handled, in order."""
    names: list[str] = []
    with Dispatcher.RegisterHandler("request::.*", names.append):
        yield names


def test_events_are_handled_when_the_request_finishes(client: Client, handled: list[str]) -> None:
    """Without monkey-patching, the view's event is handled before the test client returns, after the view."""
    response = client.get("/dispatch/?name=plain")
    assert response.content == b"dispatched"
    assert handled == ["request::plain"]
    assert Dispatcher.pending_count() == 0


def test_handler_runs_after_the_view_returned(client: Client) -> None:
    """The handler runs once the view has returned, never inside it."""
    from .testapp.views import progress

    seen: list[bool] = []
    with Dispatcher.RegisterHandler("request::ordered", lambda name: seen.append(progress["view_done"])):
        response = client.get("/dispatch/?name=ordered")
    assert response.status_code == 200
    assert seen == [True]


@override_settings(DJANGO_EVENT_SYSTEM={"DRAIN_ON_REQUEST_FINISHED": False})
def test_draining_can_be_turned_off(client: Client, handled: list[str]) -> None:
    """With ``DRAIN_ON_REQUEST_FINISHED=False`` the event stays queued after the request."""
    client.get("/dispatch/?name=left")
    assert handled == []
    assert Dispatcher.pending_count() == 1
    Dispatcher.ClearQueue(timeout=10)
    assert handled == ["request::left"]


def test_auto_does_not_drain_when_monkey_patched(
    client: Client, handled: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under ``"auto"`` a monkey-patched process is not drained: the hub runs the handlers anyway."""
    monkeypatch.setattr(gevent.monkey, "is_module_patched", lambda name: name == "socket")
    client.get("/dispatch/?name=patched")
    assert handled == []
    Dispatcher.ClearQueue(timeout=10)
    assert handled == ["request::patched"]


@override_settings(DJANGO_EVENT_SYSTEM={"DRAIN_ON_REQUEST_FINISHED": True})
def test_true_drains_even_when_monkey_patched(
    client: Client, handled: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``DRAIN_ON_REQUEST_FINISHED=True`` drains whatever the patching."""
    monkeypatch.setattr(gevent.monkey, "is_module_patched", lambda name: True)
    client.get("/dispatch/?name=forced")
    assert handled == ["request::forced"]


@override_settings(DJANGO_EVENT_SYSTEM={"DRAIN_TIMEOUT": 0.05})
def test_drain_timeout_logs_and_leaves_the_rest_to_later(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    """A drain that outlasts ``DRAIN_TIMEOUT`` is logged; the response is not affected."""
    release = gevent.event.Event()
    finished: list[bool] = []

    def slow(name: str) -> None:
        release.wait()
        finished.append(True)

    with Dispatcher.RegisterHandler("request::slow", slow):
        with caplog.at_level(logging.ERROR, logger="django_event_system"):
            response = client.get("/dispatch/?name=slow")
        assert response.status_code == 200
        assert finished == []
        release.set()
        Dispatcher.ClearQueue(timeout=10)
    assert finished == [True]
    assert [r.getMessage() for r in caplog.records] == [
        "the events queued during a request were not all handled within 0.05 s (DRAIN_TIMEOUT); "
        "the rest are handled by this thread's next drain, or before it ends"
    ]


@override_settings(DJANGO_EVENT_SYSTEM={"ERROR_POLICY": "raise"})
def test_raise_policy_surfaces_handler_errors_in_the_test_client(client: Client) -> None:
    """Under ``ERROR_POLICY="raise"``, a failing handler makes the test client's request raise."""

    def broken(name: str) -> None:
        raise ValueError("handler broke")

    with Dispatcher.RegisterHandler("request::broken", broken), pytest.raises(HandlerErrors) as caught:
        client.get("/dispatch/?name=broken")
    assert [str(e) for e in caught.value.exceptions] == ["handler broke"]


@pytest.mark.django_db(transaction=True)
def test_runserver_threads_handle_their_requests_events(live_server: object) -> None:
    """Under a threaded server (as ``runserver``), the request's thread handles its events after the response."""
    done = threading.Event()
    threads: list[str] = []

    def handler(name: str, instance: Example) -> None:
        threads.append(threading.current_thread().name)
        done.set()

    from django_event_system import RegisterSignalsFor

    RegisterSignalsFor(Example)
    with Dispatcher.RegisterHandler(r"events::db::.*::Example::created", handler):
        with urllib.request.urlopen(f"{live_server}/examples/create/?name=threaded", timeout=30) as response:
            assert response.status == 200
        assert done.wait(timeout=30), "the request's thread never handled its event"
    assert threads != [threading.current_thread().name]
    assert len(threads) == 1
    assert Dispatcher.pending_count() == 0


@pytest.mark.django_db(transaction=True)
@override_settings(DJANGO_EVENT_SYSTEM={"DRAIN_TIMEOUT": 0.05})
def test_a_request_thread_that_ends_after_its_drain_timed_out_finishes_its_handlers(live_server: object) -> None:
    """Under runserver's threads, what outlasted ``DRAIN_TIMEOUT`` is still handled, before the thread ends."""
    done = threading.Event()
    threads: list[str] = []

    def slow(name: str) -> None:
        gevent.sleep(0.3)  # still running when the drain gives up
        threads.append(threading.current_thread().name)
        done.set()

    with Dispatcher.RegisterHandler("request::slow", slow):
        with urllib.request.urlopen(f"{live_server}/dispatch/?name=slow", timeout=30) as response:
            assert response.status == 200
        assert done.wait(timeout=30), "the handler never finished: its thread ended without it"
    assert len(threads) == 1
    assert threads != [threading.current_thread().name]


# -- ASGI ----------------------------------------------------------------------------------------


async def asgi_get(path: str, query: str) -> bytes:
    """Serve one GET through Django's ASGI handler, as an ASGI server would; return the body."""
    from django.core.handlers.asgi import ASGIHandler

    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # no disconnect: the handler cancels this once it answered
        raise AssertionError("unreachable")

    body: list[bytes] = []

    async def send(message: Mapping[str, Any]) -> None:
        if message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver")],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
    }
    await ASGIHandler()(scope, receive, send)
    return b"".join(body)


def test_async_view_events_are_handled_while_the_server_runs(handled: list[str]) -> None:
    """Under ASGI an ``async def`` view's event is handled off the event loop, with no ClearQueue."""
    handler_threads: list[int] = []

    async def serve() -> tuple[bytes, int]:
        with Dispatcher.RegisterHandler("request::.*", lambda name: handler_threads.append(threading.get_ident())):
            content = await asgi_get("/dispatch-async/", "name=from-async")
            deadline = time.monotonic() + 10
            while len(handled) < 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
        return content, threading.get_ident()

    content, loop_thread = asyncio.run(serve())
    assert content == b"dispatched"
    assert handled == ["request::from-async"]
    assert handler_threads
    assert loop_thread not in handler_threads


def test_sync_view_under_asgi_is_drained_when_the_request_finishes(handled: list[str]) -> None:
    """A sync view served by the ASGI handler runs in a thread of its own, drained by request_finished."""

    async def serve() -> bytes:
        content = await asgi_get("/dispatch/", "name=sync-under-asgi")
        assert handled == ["request::sync-under-asgi"]  # handled before the handler returned
        return content

    assert asyncio.run(serve()) == b"dispatched"
