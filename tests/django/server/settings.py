"""Settings of the test server, driven by environment variables set by the test that starts it.

``TEST_SERVER_DB``: ``postgres:<database name>`` or ``sqlite:<file path>``.
``TEST_SERVER_CLOSE_CONNECTIONS``: ``0`` turns ``CLOSE_OLD_CONNECTIONS`` off.
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

_kind, _, _name = os.environ.get("TEST_SERVER_DB", "sqlite:/tmp/django_event_system_server.sqlite3").partition(":")
if _kind == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _name,
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": "5432",
        }
    }
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": _name}}

INSTALLED_APPS = [*INSTALLED_APPS, "tests.django.serverapp"]
ROOT_URLCONF = "tests.django.serverapp.urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
DJANGO_EVENT_SYSTEM = {"CLOSE_OLD_CONNECTIONS": os.environ.get("TEST_SERVER_CLOSE_CONNECTIONS", "1") == "1"}
