"""Fork a child after dispatching: ``python -m tests.lifecycle.programs.fork queued|bridge``.

``queued``: the parent dispatches five events (``parent-<n>``) and forks with them still queued.
``bridge``: a thread runs an asyncio event loop that dispatches ``parent-0`` and waits until it
is handled, so the bridge thread of the queue runs when the parent forks. Either way the child
dispatches two events of its own (``child-<n>``) and exits normally, so its exit drain runs. The
parent waits 10 s at most for the child and kills it (by its pid) if it is still running, then
prints ``RESULT {"parent": pid, "child": pid, "status": exit status, or null if it hung}``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time
import warnings

from django_event_system import Dispatcher
from tests.lifecycle.records import dispatch, listen

# Python 3.12 warns when a process with threads forks; forking with the bridge thread running
# is the point of the ``bridge`` case.
warnings.filterwarnings("ignore", r"This process .* is multi-threaded", DeprecationWarning)


async def dispatch_in_loop() -> None:
    dispatch("parent-0")
    Dispatcher.ClearQueue(timeout=10)  # in the loop's thread: waits for the bridge thread


def wait_for_child(child: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while True:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            return None
        time.sleep(0.05)


if __name__ == "__main__":
    listen()
    if sys.argv[1] == "bridge":
        loop_thread = threading.Thread(target=asyncio.run, args=(dispatch_in_loop(),))
        loop_thread.start()
        loop_thread.join()
    else:
        dispatch(*(f"parent-{number}" for number in range(5)))
    child = os.fork()
    if child == 0:
        dispatch("child-0", "child-1")
        sys.exit(0)
    status = wait_for_child(child, timeout=10)
    print("RESULT", json.dumps({"parent": os.getpid(), "child": child, "status": status}))
