"""End while a daemon thread that dispatched 100 events is still alive, waiting forever.

The main thread dispatches 100 events of its own too; neither queue is drained before exit.
"""

from __future__ import annotations

import threading

from tests.lifecycle.records import dispatch, listen


def dispatch_and_wait(dispatched: threading.Event) -> None:
    dispatch(*(f"daemon-{number}" for number in range(100)))
    dispatched.set()
    threading.Event().wait()  # alive until the interpreter ends


if __name__ == "__main__":
    listen()
    dispatched = threading.Event()
    threading.Thread(target=dispatch_and_wait, args=(dispatched,), daemon=True).start()
    if not dispatched.wait(30):
        raise SystemExit("the daemon thread did not dispatch within 30 s")
    dispatch(*(f"main-{number}" for number in range(100)))
