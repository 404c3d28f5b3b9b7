"""Coroutine handlers in a process that gevent has monkey-patched (a gevent server, ``gunicorn -k gevent``)."""

from __future__ import annotations

from pathlib import Path

from tests.scripts import run_script

PATCHED = """
from gevent import monkey

monkey.patch_all()

import asyncio

from django_event_system import Dispatcher, HandlerErrors

Dispatcher.error_policy = "raise"
done = []


async def upload(name: str) -> None:
    await asyncio.sleep(0.01)  # waits on the runner's loop, whose selector must be the OS's, not gevent's
    done.append(name)


Dispatcher.RegisterHandler("report::ready", upload)
for _ in range(3):
    Dispatcher.Dispatch("report::ready")
try:
    Dispatcher.ClearQueue(timeout=10)
except HandlerErrors as errors:
    print("failed:", *[repr(error) for error in errors.exceptions])
print(done)
"""


def test_coroutine_handlers_run_in_a_monkey_patched_process(tmp_path: Path) -> None:
    """The runner's event loop waits with the OS's selector: gevent's patched one would wait on a hub that
    nothing runs in the runner's thread, and every coroutine that awaits would fail (LoopExit)."""
    out = run_script(PATCHED, tmp_path, timeout=30, allow_tracebacks=False)
    assert out.splitlines() == ["['report::ready', 'report::ready', 'report::ready']"]
