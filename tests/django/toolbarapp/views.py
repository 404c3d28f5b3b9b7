"""The page that the events panel's tests load."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

scenario: Callable[[], object] = lambda: None  # noqa: E731 - replaced by each test
"""What the page does: dispatch the test's events."""


def page(request: HttpRequest) -> HttpResponse:
    """Run the scenario, answer a small HTML page."""
    scenario()
    return HttpResponse("<!DOCTYPE html><html><head><title>Shop</title></head><body><h1>Orders</h1></body></html>")
