"""Django's development server, ``manage.py runserver --noreload``: every request in a thread of its own.

The server is not monkey-patched: each request's events are handled when it finishes, in its
thread, which then ends. The view saves an observed model; the Observer writes the event down.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._harness import FD_SLACK, Program, assert_handled_once, run, started, wait_until_handled

RUNSERVER = ("-m", "django", "runserver", "127.0.0.1:0", "--noreload")
# Django 6.1 says "Starting WSGI development server at".
LISTENING = r"Starting (?:WSGI )?development server at (http://127\.0\.0\.1:\d+)/"


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """The test's directory, with the project's database migrated in it."""
    run("-m", "django", "migrate", "--run-syncdb", "--verbosity", "0", out=tmp_path, name="migrate")
    return tmp_path


def create_examples(server: Program, count: int) -> list[str]:
    """Make ``count`` requests that each create an Example; return the ids of their ``created`` events."""
    return [f"example-{server.get('/examples/create/')['id']}" for _ in range(count)]


@pytest.mark.slow
def test_request_threads_leave_no_descriptors_behind(out: Path) -> None:
    """Over 1,000 requests, each in a thread that ends, each event is handled once and open descriptors stay flat."""
    with started(*RUNSERVER, out=out, name="runserver") as server:
        server.serving(LISTENING)
        threads = server.threads()
        ids = create_examples(server, 100)
        wait_until_handled(out, ids, "the events of the first 100 requests")
        server.settle(threads)
        after_100 = server.fds()
        ids += create_examples(server, 900)
        wait_until_handled(out, ids, "the events of 1,000 requests")
        server.settle(threads)
        after_1000 = server.fds()
    assert_handled_once(out, ids)
    assert after_1000 <= after_100 + FD_SLACK, (
        f"open descriptors: {after_100} after 100 requests, {after_1000} after 1,000"
    )


@pytest.mark.slow
def test_a_limit_of_256_descriptors_is_enough_for_400_requests(out: Path) -> None:
    """Under ``ulimit -n 256`` it answers 400 requests without "Too many open files" and handles each event once."""
    with started(*RUNSERVER, out=out, name="runserver", fd_limit=256) as server:
        server.serving(LISTENING)
        ids = create_examples(server, 400)
        wait_until_handled(out, ids, "the events of 400 requests")
        assert "Too many open files" not in server.output()
    assert_handled_once(out, ids)
