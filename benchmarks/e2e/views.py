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
            "drain_seconds": time.monotonic() - started,
            "done_after_p50": statistics.median(done_after) if done_after else None,
            "done_after_p99": done_after[int(0.99 * (len(done_after) - 1))] if done_after else None,
        }
    )
