"""Deprecated: the Celery transport moved to :mod:`django_event_system.transports.celery`.

.. deprecated:: 2.0
    Import from ``django_event_system.transports.celery``; this module will be removed in 3.0.
"""

import warnings

from .transports.celery import *  # noqa: F403
from .transports.celery import __all__ as __all__

warnings.warn(
    "django_event_system.celery moved to django_event_system.transports.celery; import it from there",
    DeprecationWarning,
    stacklevel=2,
)
