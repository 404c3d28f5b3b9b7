"""URLs of the test server."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from django_event_system import Dispatcher
from tests.django.testapp.models import HandledEvent
from tests.django.testapp.views import create_example

from .listeners import released


def held(request: HttpRequest) -> HttpResponse:
    """Dispatch an event whose handler waits for ``/release/``, and answer at once."""
    Dispatcher.Dispatch("server::held")
    return HttpResponse("queued")


def release(request: HttpRequest) -> HttpResponse:
    """Let the held handler finish."""
    released.set()
    return HttpResponse("released")


def handled(request: HttpRequest) -> JsonResponse:
    """The names of the rows that handlers wrote, in order."""
    return JsonResponse({"names": list(HandledEvent.objects.order_by("pk").values_list("name", flat=True))})


urlpatterns = [
    path("examples/create/", create_example),
    path("held/", held),
    path("release/", release),
    path("handled/", handled),
]
