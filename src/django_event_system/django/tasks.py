"""Deprecated: the Tasks framework transport moved to :mod:`django_event_system.transports.tasks`.

.. deprecated:: 2.0
    Import from ``django_event_system.transports.tasks``; this module will be removed in 3.0.
"""

import warnings

from ..transports.tasks import *  # noqa: F403
from ..transports.tasks import __all__ as __all__

warnings.warn(
    "django_event_system.django.tasks moved to django_event_system.transports.tasks; import it from there",
    DeprecationWarning,
    stacklevel=2,
)
