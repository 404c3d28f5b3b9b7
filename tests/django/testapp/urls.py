"""URLs of the test app."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("dispatch/", views.dispatch_event),
    path("dispatch-async/", views.dispatch_event_async),
    path("examples/create/", views.create_example),
]
