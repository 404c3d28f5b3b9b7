"""The 1.0 module path: ``from django_event_system.events import Dispatcher`` keeps working."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import django_event_system as _package
from django_event_system import *  # noqa: F403
from django_event_system import __all__ as __all__

if not TYPE_CHECKING:
    # As in the package: a name the checkers do not know is an error to them, not Any.

    def __getattr__(name: str) -> Any:
        return getattr(_package, name)
