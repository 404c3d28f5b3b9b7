"""A gunicorn gevent worker that receives SIGTERM handles its queued events before it exits."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("gunicorn", reason="gunicorn is not installed (it comes with the dev extra)")

APP = """
import os

import gevent

from django_event_system import Dispatcher

OUT = os.environ["EVENTS_OUT"]
Dispatcher.pool_size = 20


def slow_handler(name, number):
    gevent.sleep(0.2)  # cooperative I/O: 200 events take about 2 s with 20 workers
    with open(OUT, "a") as out:
        out.write(f"{number}\\n")


Dispatcher.RegisterHandler("work::.*", slow_handler)


def app(environ, start_response):
    for number in range(200):
        Dispatcher.Dispatch("work::item", number)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"queued\\n"]
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_sigterm_drains_the_workers_queue(tmp_path: Path) -> None:
    """SIGTERM right after the response: every one of the 200 slow events is still handled, once."""
    (tmp_path / "eventsapp.py").write_text(textwrap.dedent(APP))
    out = tmp_path / "handled.txt"
    port = free_port()
    env = {**os.environ, "EVENTS_OUT": str(out), "PYTHONPATH": str(tmp_path)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-k",
            "gevent",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--graceful-timeout",
            "30",
            "eventsapp:app",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    assert response.read() == b"queued\n"
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        handled_before = len(out.read_text().split()) if out.exists() else 0
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    handled = out.read_text().split() if out.exists() else []
    assert handled_before < 200, "the events were all handled before SIGTERM: the test proves nothing"
    assert sorted(int(n) for n in handled) == list(range(200)), output
