"""Draining on behalf of a task queue's worker: after each task, and before the worker's process exits.

A worker runs application code that dispatches events (a model saved, ``Dispatcher.Dispatch``)
and then waits on its broker or its database, never giving the gevent hub a turn: nothing would
handle those events until the process exits, and some pools end their processes without the
drain at interpreter exit. The Celery and Tasks framework adapters call :func:`drain_for_worker`
from the worker's own signals.
"""

from __future__ import annotations

import logging

from ._dispatcher import clear_all_queues

__all__ = ["drain_for_worker"]

logger = logging.getLogger("django_event_system")


def drain_for_worker(when: str, timeout: float | None = None) -> None:
    """Handle every event queued in this thread (:func:`clear_all_queues`), logging what fails.

    Never raises an ``Exception``: the task's outcome is already settled, and a failing handler
    must not stop the worker. Failures collected under the ``"raise"`` error policy and a drain
    that runs out of time are logged on the ``django_event_system`` logger.

    :param when: where the worker is, as the log says it (``"after the Celery task 'proj.add'"``).
    :param timeout: seconds each dispatcher may take at most; what is left stays queued.
    """
    try:
        clear_all_queues(timeout)
    except TimeoutError:
        logger.error("the event queue was not drained within %s s %s; the rest stays queued", timeout, when)
    except Exception:
        logger.exception("handlers failed while the event queue drained %s", when)
