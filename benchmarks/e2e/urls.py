"""URLs of the end-to-end benchmark."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("rows/", views.create),
    path("drain/", views.drain),
]
