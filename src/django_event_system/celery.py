"""Deprecated path of :mod:`django_event_system.transports.celery` (removed in 3.0)."""

from ._moved import moved
from .transports.celery import *  # noqa: F403
from .transports.celery import __all__ as __all__

moved(__name__, "django_event_system.transports.celery")
