"""Views that dispatch events, for the request tests."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from django_event_system import Dispatcher

from .models import Example

progress = {"view_done": False}
"""Set by ``dispatch_event`` once it has dispatched, so that a handler can tell whether the view ran to its end."""


def dispatch_event(request: HttpRequest) -> HttpResponse:
    """Dispatch ``request::<name>`` and answer at once."""
    progress["view_done"] = False
    Dispatcher.Dispatch(f"request::{request.GET.get('name', 'plain')}")
    progress["view_done"] = True
    return HttpResponse("dispatched")


def create_example(request: HttpRequest) -> JsonResponse:
    """Create an Example (its Observer, if any, receives the events)."""
    example = Example.objects.create(name=request.GET.get("name", "from a request"))
    return JsonResponse({"id": example.pk})


async def dispatch_event_async(request: HttpRequest) -> HttpResponse:
    """An ``async def`` view: dispatch ``request::<name>`` from the event loop and answer at once."""
    Dispatcher.Dispatch(f"request::{request.GET.get('name', 'async')}")
    return HttpResponse("dispatched")
