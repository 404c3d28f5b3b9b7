"""Settings for the autodiscovery tests, which run ``django.setup()`` in a subprocess."""

from __future__ import annotations

import json
import os

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.django.discoveryapp"]
DJANGO_EVENT_SYSTEM = json.loads(os.environ.get("TEST_EVENT_SYSTEM", "{}"))
