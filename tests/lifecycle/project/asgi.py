"""The ASGI application; importing it dispatches ``$LIFECYCLE_START_UP_EVENTS`` events."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

from tests.lifecycle.records import dispatch_at_start_up

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.lifecycle.project.settings")
application = get_asgi_application()
dispatch_at_start_up()
