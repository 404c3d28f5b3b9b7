"""The views: one that saves a row per request, one that reports what the handlers did."""

from __future__ import annotations

import json
import statistics
import time

import gevent
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_POST

from .handler import tally
from .models import Row


class _InFlight:
    """Requests to ``create`` that have not returned yet (one gevent hub, so a plain int)."""

    count = 0


class _Peaks:
    """The most events pending, and the oldest pending age, seen by :func:`watch_the_queue`."""

    pending = 0
    age: float | None = None


def watch_the_queue() -> None:
    """Sample ``Dispatcher.stats()`` every 100 ms in a greenlet of its own, keeping the peaks."""
    from django_event_system import Dispatcher

    def sample() -> None:
        while True:
            stats = Dispatcher.stats()
            _Peaks.pending = max(_Peaks.pending, stats.pending)
            if stats.oldest_pending_age is not None:
                _Peaks.age = max(_Peaks.age or 0.0, stats.oldest_pending_age)
            gevent.sleep(0.1)

    gevent.spawn(sample)


def _peak_memory_kib() -> int | None:
    """The server's peak resident memory (``VmHWM``), where /proc tells it."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


@require_POST
def create(request: HttpRequest) -> HttpResponse:
    """Save a row; whatever handles it runs in ``save()`` (signal) or after the answer (observer)."""
    _InFlight.count += 1
    try:
        row = Row.objects.create(note=str(json.loads(request.body or b"{}").get("note", ""))[:100])
        return JsonResponse({"id": row.pk}, status=201)
    finally:
        _InFlight.count -= 1


@require_GET
def drain(request: HttpRequest) -> HttpResponse:
    """Wait for the requests still running, handle every queued event, then report the counts.

    Called once the load has stopped. ``rows`` counts the rows in the table, that is the saves
    that succeeded, ``handled`` the handler's calls, ``distinct`` the rows they handled;
    ``unhandled`` and ``unknown`` are the rows without a handler call and the reverse.
    """
    started = time.monotonic()
    # A client that stopped mid-request leaves the view running: let those saves finish first.
    while _InFlight.count:
        gevent.sleep(0.005)
    backlog = 0
    if "django_event_system" in settings.INSTALLED_APPS:
        from django_event_system import Dispatcher

        backlog = Dispatcher.pending_count()
        Dispatcher.ClearQueue(timeout=300)
    rows = set(Row.objects.values_list("pk", flat=True))
    handled = set(tally.handled)
    done_after = sorted(tally.done_after)
    return JsonResponse(
        {
            "rows": len(rows),
            "handled": len(tally.handled),
            "distinct": len(handled),
            "unhandled": len(rows - handled),
            "unknown": len(handled - rows),
            "backlog": backlog,
            "peak_pending": _Peaks.pending,
            "peak_age": _Peaks.age,
            "peak_memory_kib": _peak_memory_kib(),
            "drain_seconds": time.monotonic() - started,
            "done_after_p50": statistics.median(done_after) if done_after else None,
            "done_after_p99": done_after[int(0.99 * (len(done_after) - 1))] if done_after else None,
        }
    )
