"""The WSGI application; importing it dispatches ``$LIFECYCLE_START_UP_EVENTS`` events."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from tests.lifecycle.records import dispatch_at_start_up

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.lifecycle.project.settings")
application = get_wsgi_application()
dispatch_at_start_up()
