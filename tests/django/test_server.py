"""Tests against a real monkey-patched gevent WSGI server, started in a subprocess.

The server (``tests/django/server``) autodiscovers ``tests/django/serverapp``: an Observer that
writes a row from its delivery greenlet, and a listener that waits until the test releases it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def running_server(database: str, *, migrate: bool = False, env: dict[str, str] | None = None) -> Iterator[str]:
    """Start the test server on ``database`` (``postgres:<name>`` or ``sqlite:<path>``); yield its base URL."""
    command = [sys.executable, "-m", "tests.django.server.serve", *(["--migrate"] if migrate else [])]
    environment = {**os.environ, "TEST_SERVER_DB": database, **(env or {})}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        if not port.isdigit():
            process.kill()
            _, errors = process.communicate(timeout=30)
            pytest.fail(f"the test server did not start: {errors}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.communicate(timeout=30)


def get(url: str) -> Any:
    """GET ``url`` and decode its JSON body (or return the text)."""
    with urllib.request.urlopen(url, timeout=30) as response:
        body = response.read().decode()
    try:
        return json.loads(body)
    except ValueError:
        return body


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` if it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_handlers_start_when_the_request_yields(tmp_path: Path) -> None:
    """Monkey-patched, the response is sent while its handler still runs, with no drain at all."""
    with running_server(f"sqlite:{tmp_path / 'server.sqlite3'}", migrate=True) as url:
        assert get(f"{url}/held/") == "queued"
        # The handler started on its own (nothing drains under monkey-patching) and is still waiting.
        wait_for(lambda: get(f"{url}/handled/")["names"] == ["held::started"], "the held handler to start")
        assert get(f"{url}/release/") == "released"
        wait_for(
            lambda: get(f"{url}/handled/")["names"] == ["held::started", "held::finished"],
            "the held handler to finish",
        )


def _connections_to(cursor: Any, database: str) -> int:
    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database])
    count: int = cursor.fetchone()[0]
    return count


def _serve_requests(close_connections: bool, requests: int) -> tuple[int, int]:
    """Make ``requests`` requests whose handlers write rows; return the connection count before and after."""
    from .testapp.models import HandledEvent

    database = connections["postgres"].settings_dict["NAME"]
    env = {"TEST_SERVER_GC": "off", "TEST_SERVER_CLOSE_CONNECTIONS": "1" if close_connections else "0"}
    with connections["postgres"].cursor() as cursor, running_server(f"postgres:{database}", env=env) as url:
        before = _connections_to(cursor, database)
        for number in range(requests):
            get(f"{url}/examples/create/?name=request-{number}")
        wait_for(
            lambda: HandledEvent.objects.using("postgres").count() == requests,
            f"{requests} created events to be handled",
        )
        if close_connections:
            wait_for(lambda: _connections_to(cursor, database) == before, "the connection count to come back")
        after = _connections_to(cursor, database)
    return before, after


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "postgres"])
def test_connection_count_comes_back_after_requests() -> None:
    """After N requests whose handlers query PostgreSQL, the server holds as many connections as before."""
    before, after = _serve_requests(close_connections=True, requests=20)
    assert after == before


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "postgres"])
def test_without_closing_worker_connections_pile_up() -> None:
    """The control: with ``CLOSE_OLD_CONNECTIONS`` off, the workers' connections stay open."""
    before, after = _serve_requests(close_connections=False, requests=20)
    assert after > before
