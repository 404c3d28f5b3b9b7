"""A page behind django-debug-toolbar, for the events panel's tests and its screenshot.

The view runs :data:`views.scenario`, which a test replaces, inside a page whose ``</body>`` the
toolbar finds.
"""

from __future__ import annotations


def show_toolbar(request: object) -> bool:
    """The toolbar on every request (``SHOW_TOOLBAR_CALLBACK``)."""
    return True
