"""Tests for closing the database connections that handlers leave open.

The end-to-end proof on a monkey-patched server (the PostgreSQL connection count) is in
``test_server.py``; these tests pin the two mechanisms down one by one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import gevent.local
import pytest
from django.db import connections
from django.test import Client, override_settings

from django_event_system import Dispatcher
from django_event_system.django import _connections
from django_event_system.django._connections import (
    close_obsolete_connections,
    close_worker_connections,
    connections_are_greenlet_local,
)

from .testapp.models import Example, HandledEvent


@pytest.fixture
def closed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The aliases whose connection ``close()`` was called during the test."""
    calls: list[str] = []
    connection = connections["default"]
    monkeypatch.setattr(connection, "close", lambda: calls.append(connection.alias))
    return calls


def query_in_a_handler(alias: str = "default") -> None:
    """Dispatch an event whose handler queries ``alias``, and drain it."""
    with Dispatcher.RegisterHandler("connections::query", lambda name: list(Example.objects.using(alias).all())):
        Dispatcher.Dispatch("connections::query")
        Dispatcher.ClearQueue(timeout=10)


def test_connections_are_thread_local_without_monkey_patching() -> None:
    """In this (unpatched) process, greenlets share their thread's connections."""
    assert connections_are_greenlet_local() is False


def test_greenlet_local_storage_is_recognised() -> None:
    """When Django's connection storage is gevent's greenlet-local, it is recognised as such."""
    local = connections._connections  # type: ignore[attr-defined]
    storage = object.__getattribute__(local, "_storage")
    object.__setattr__(local, "_storage", gevent.local.local())  # what patching threading first gives
    try:
        assert connections_are_greenlet_local() is True
    finally:
        object.__setattr__(local, "_storage", storage)


@pytest.mark.django_db(transaction=True)
def test_worker_closes_its_greenlet_local_connections(closed: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """With greenlet-local connections, a worker closes the connection its handlers used when it ends."""
    monkeypatch.setattr(_connections, "connections_are_greenlet_local", lambda: True)
    query_in_a_handler()
    # Once per worker that ended (the spy leaves the connection open, so each worker sees it).
    assert closed
    assert set(closed) == {"default"}


@pytest.mark.django_db(transaction=True)
def test_worker_leaves_shared_connections_alone(closed: list[str]) -> None:
    """With thread-shared connections, the delivery greenlet exit hook closes nothing (they belong to the thread)."""
    query_in_a_handler()
    assert closed == []


@pytest.mark.django_db
def test_connection_inside_atomic_is_never_closed(closed: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection in a transaction (here the test's) is left open."""
    monkeypatch.setattr(_connections, "connections_are_greenlet_local", lambda: True)
    assert connections["default"].in_atomic_block
    query_in_a_handler()
    close_worker_connections()
    close_obsolete_connections()
    assert closed == []


@pytest.mark.django_db(transaction=True)
@override_settings(DJANGO_EVENT_SYSTEM={"CLOSE_OLD_CONNECTIONS": False})
def test_closing_can_be_turned_off(closed: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """``CLOSE_OLD_CONNECTIONS=False`` closes nothing, greenlet-local or not."""
    monkeypatch.setattr(_connections, "connections_are_greenlet_local", lambda: True)
    query_in_a_handler()
    close_obsolete_connections()
    assert closed == []


@pytest.mark.django_db(transaction=True)
def test_obsolete_connection_is_closed_after_a_request(closed: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection past ``CONN_MAX_AGE`` is closed after the end-of-request drain; one within it is kept."""
    connection = connections["default"]
    connection.ensure_connection()
    monkeypatch.setattr(connection, "close_at", time.monotonic() + 3600)
    close_obsolete_connections()
    assert closed == []
    monkeypatch.setattr(connection, "close_at", time.monotonic() - 1)
    close_obsolete_connections()
    assert closed == ["default"]
    monkeypatch.setattr(connection, "close_at", None)  # CONN_MAX_AGE = None: persistent
    close_obsolete_connections()
    assert closed == ["default"]


@pytest.mark.django_db(transaction=True)
def test_bridge_thread_worker_closes_its_obsolete_connections(
    closed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the thread that handles asyncio code's events, a worker closes connections past CONN_MAX_AGE."""
    monkeypatch.setattr(_connections, "in_bridge_thread", lambda: True)
    connection = connections["default"]
    connection.ensure_connection()
    monkeypatch.setattr(connection, "close_at", time.monotonic() + 3600)
    close_worker_connections()
    assert closed == []
    monkeypatch.setattr(connection, "close_at", time.monotonic() - 1)
    close_worker_connections()
    assert closed == ["default"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "postgres"])
def test_request_end_closes_what_handlers_reopened_on_postgres(client: Client, drain: Callable[[], None]) -> None:
    """On PostgreSQL, a handler that queried after Django closed the request's connection leaves none open."""
    with Dispatcher.RegisterHandler(
        "request::.*", lambda name: HandledEvent.objects.using("postgres").create(name=name)
    ):
        client.get("/dispatch/?name=pg")
    assert list(HandledEvent.objects.using("postgres").values_list("name", flat=True)) == ["request::pg"]
    # The query above reopened it; what matters is the state right after the request.
    connections["postgres"].close()
    with Dispatcher.RegisterHandler(
        "request::.*", lambda name: HandledEvent.objects.using("postgres").create(name=name)
    ):
        client.get("/dispatch/?name=pg2")
    assert connections["postgres"].connection is None
    assert HandledEvent.objects.using("postgres").count() == 2
