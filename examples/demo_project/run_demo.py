"""The demo: a Django shop on SQLite, served by gevent's WSGI server with monkey-patching.

Run it with ``scripts/demo`` (or ``python examples/demo_project/run_demo.py``). It migrates a
fresh SQLite database, starts ``serve.py`` in a subprocess on a free loopback port, makes a few
requests with a plain Python client, and prints, step by step, what the client gets and what the
server's handlers do, each line stamped with the time since the request started. Then it shows
``manage.py events list`` and stops the server.

``run_demo.py live [PORT]`` (``scripts/demo live``) serves the same shop over ASGI instead
(``live.py``, uvicorn) on http://127.0.0.1:8000 (or PORT) until Ctrl-C: open ``/live/``, the live
orders page, and place and ship orders there (or with ``curl``); each appears and changes as it
happens, broadcast over the websocket once its transaction commits.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def heading(text: str) -> None:
    print(f"\n{text}", flush=True)


def note(text: str) -> None:
    print(f"   {text}", flush=True)


class Server:
    """``serve.py`` in a subprocess; its output lines are read as they come."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "serve.py"],
            cwd=HERE,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[tuple[float, str | None]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.url = ""

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put((time.monotonic(), line.rstrip("\n")))
        self.lines.put((time.monotonic(), None))

    def show_until(self, marker: str, since: float, timeout: float = 30) -> str:
        """Print the server's lines, stamped relative to ``since``, until one contains ``marker``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                at, line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise SystemExit(f"the server did not print {marker!r} within {timeout} s") from None
            if line is None:
                raise SystemExit(f"the server stopped before printing {marker!r}")
            print(f"   server  +{at - since:6.3f} s  {line}", flush=True)
            if marker in line:
                return line

    def start(self) -> None:
        line = self.show_until("listening on", since=time.monotonic())
        self.url = line.rsplit(" ", 1)[-1]

    def stop(self) -> None:
        self.process.terminate()
        self.show_until("stopped", since=time.monotonic())
        self.process.wait(timeout=30)


def request(server: Server, method: str, path: str, body: dict[str, Any] | None = None) -> float:
    """Make a request, print the answer and how long it took; return when it started."""
    data = None if body is None else json.dumps(body).encode()
    print(f"   client  {method} {path}" + ("" if body is None else f" {json.dumps(body)}"), flush=True)
    started = time.monotonic()
    with urllib.request.urlopen(urllib.request.Request(server.url + path, data=data, method=method), timeout=30) as r:
        answer = r.read().decode()
        status = r.status
    print(f"   client  +{time.monotonic() - started:6.3f} s  {status} {answer}", flush=True)
    return started


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=HERE, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def live(env: dict[str, str], port: str) -> None:
    """Serve the live orders page until Ctrl-C."""
    manage(env, "migrate", "--verbosity", "0")
    process = subprocess.Popen([sys.executable, "live.py", port], cwd=HERE, env=env)
    print(f"django-event-system demo, live: open http://127.0.0.1:{port}/live/ and place or ship orders there,")
    print(f'or: curl -X POST -d \'{{"item": "pen", "quantity": 3}}\' http://127.0.0.1:{port}/orders/')
    print(f"    curl -X POST http://127.0.0.1:{port}/orders/1/ship/        (Ctrl-C stops the server)")
    try:
        process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def main() -> None:
    workdir = tempfile.mkdtemp(prefix="django-event-system-demo-")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "demo.settings",
        "DEMO_DATABASE": str(Path(workdir) / "demo.sqlite3"),
        "PYTHONUNBUFFERED": "1",
    }
    if sys.argv[1:2] == ["live"]:
        try:
            live(env, sys.argv[2] if len(sys.argv) > 2 else "8000")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return
    print("django-event-system demo: a Django shop (examples/demo_project) on SQLite,")
    print("served by gevent's WSGI server with monkey-patching. 'client' lines are the requests")
    print("and their answers; 'server' lines are what the event handlers print. Times count from")
    print("the start of each request.")

    heading(f"1. manage.py migrate (a fresh SQLite database in {workdir})")
    manage(env, "migrate", "--verbosity", "0")
    note("done")

    heading("2. python serve.py: monkey-patch first, then serve on a free port of 127.0.0.1")
    server = Server(env)
    try:
        server.start()

        heading("3. Log in. Django's login() sends user_logged_in; SignalToEvent turns it into CustomerLoggedIn")
        started = request(server, "POST", "/login/")
        server.show_until("logged in", since=started)

        heading("4. Place an order. The view creates it in atomic(), dispatches OrderPlaced and answers at")
        note("once: the Observer, the audit listener, the after-commit ledger and the slow mail handler")
        note("run after the response, and the server keeps serving meanwhile.")
        started = request(server, "POST", "/orders/", {"item": "book", "quantity": 2})
        server.show_until("confirmation of order #1 sent", since=started)

        heading("5. The order now: the mail handler has marked the confirmation as sent")
        request(server, "GET", "/orders/1/")

        heading("6. Ship it. The Observer's updated() asks which fields changed")
        started = request(server, "POST", "/orders/1/ship/")
        server.show_until("updated:", since=started)
        server.show_until("committed", since=started)
    finally:
        heading("7. Stop the server (what is still queued is handled before it exits)")
        server.stop()

    heading("8. manage.py events list: every pattern with its handlers, the observed models, the mapped signals")
    for line in manage(env, "events", "list").splitlines():
        note(line)
    heading("   manage.py events match shop::order::placed")
    for line in manage(env, "events", "match", "shop::order::placed").splitlines():
        note(line)
    heading("9. The same shop live in a browser: scripts/demo live, then open http://127.0.0.1:8000/live/")
    note("each order appears there as it is placed and shipped, broadcast over a websocket after its commit")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
