"""Where Django finds the app's configuration for ``INSTALLED_APPS = [..., "django_event_system"]``."""

from __future__ import annotations

from .django import DjangoEventSystemConfig

__all__ = ["DjangoEventSystemConfig"]
