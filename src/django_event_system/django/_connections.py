"""Database connections of delivery greenlets.

Django keeps one connection per thread; once gevent has monkey-patched ``threading``, "thread"
means greenlet, and each delivery greenlet whose handlers query the database opens a connection of
its own. Nothing would close it when the greenlet ends, so a server would pile up connections:
when a delivery greenlet has handled its batch, a delivery greenlet exit hook closes what it leaves behind.
Without monkey-patching, workers share their thread's connections; after the queue is drained
at the end of a request, the connections that handlers reopened are closed as Django would.
"""

from __future__ import annotations

import logging
import time

import gevent.local
import gevent.monkey
from django.db import connections

from ..core.integration import in_bridge_thread
from ._settings import conf

__all__ = [
    "close_obsolete_connections",
    "close_thread_connections",
    "close_worker_connections",
    "connections_are_greenlet_local",
]

logger = logging.getLogger("django_event_system.django")


def connections_are_greenlet_local() -> bool:
    """Whether each greenlet has its own database connections (gevent patched Django's thread-local)."""
    # Django keeps connections in asgiref's Local(thread_critical=True), a threading.local made
    # when django.db was imported: greenlet-local only if gevent had patched threading by then.
    storage = getattr(getattr(connections, "_connections", None), "_storage", None)
    if storage is None:  # pragma: no cover - a Django or asgiref whose internals moved
        return gevent.monkey.is_module_patched("threading")
    return isinstance(storage, gevent.local.local)


def close_worker_connections() -> None:
    """Close the database connections a finished delivery greenlet opened (a delivery greenlet exit hook).

    Only where connections are greenlet-local: the worker's connections would outlive it, open,
    until the garbage collector found them. Where greenlets share their thread's connections,
    those belong to the thread, and :func:`close_obsolete_connections` handles them at the end
    of a request. In the thread that handles asyncio code's events, the connections past
    ``CONN_MAX_AGE`` are closed, as at the end of a request. A connection inside ``atomic()`` is
    never touched.
    """
    if not conf.close_old_connections:
        return
    if in_bridge_thread():
        # The thread that handles asyncio code's events lives as long as the process: its
        # connections are closed as a request thread's are, once past CONN_MAX_AGE.
        close_obsolete_connections()
        return
    if not connections_are_greenlet_local():
        return
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.in_atomic_block:
            logger.debug("closing the %r connection of a finished delivery greenlet", connection.alias)
            connection.close()


def close_thread_connections() -> None:
    """Close the database connections of a thread that ends (a thread exit hook).

    The thread's last events were handled as it ended, after Django's own end-of-request
    cleanup; what their handlers opened would otherwise stay open until the garbage collector
    found it. A connection inside ``atomic()`` is never touched.
    """
    if not conf.close_old_connections:
        return
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.in_atomic_block:
            logger.debug("closing the %r connection of a thread that ends", connection.alias)
            connection.close()


def close_obsolete_connections() -> None:
    """Close this thread's connections that handlers reopened after Django closed them.

    Called after the queue was drained at the end of a request: Django closed the connections
    past ``CONN_MAX_AGE`` just before, and the handlers that ran since may have opened them again.
    Only the age counts (no query is made); a connection inside ``atomic()`` is never touched.
    """
    if not conf.close_old_connections:
        return
    now = time.monotonic()
    for connection in connections.all(initialized_only=True):
        if (
            connection.connection is not None
            and not connection.in_atomic_block
            and connection.close_at is not None
            and now >= connection.close_at
        ):
            connection.close()
