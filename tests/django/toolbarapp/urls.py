"""The page and the toolbar's own URLs."""

from __future__ import annotations

from debug_toolbar.toolbar import debug_toolbar_urls
from django.urls import path

from . import views

urlpatterns = [path("", views.page), *debug_toolbar_urls()]
