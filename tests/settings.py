"""Django settings for the test suite (SQLite by default, PostgreSQL for the ``postgres`` tests)."""

from __future__ import annotations

import os
import socket
from typing import Any


def _answers(port: int) -> bool:
    """Whether a server listens on 127.0.0.1:``port``."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django_event_system",
    "tests.django.testapp",
]
ROOT_URLCONF = "tests.django.testapp.urls"
STATIC_URL = "/static/"  # the live server (pytest-django's live_server) serves static files
DATABASES: dict[str, dict[str, Any]] = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
}
# The "postgres" alias exists only when the server answers; tests marked ``postgres`` are skipped
# otherwise (and fail under CI=true, see tests/conftest.py). The test database is named after the
# process, so that suites running side by side never drop each other's database.
# TEST_POSTGRES_PORT lets a test pretend the server is absent.
if _answers(int(os.environ.get("TEST_POSTGRES_PORT", "5432"))):
    DATABASES["postgres"] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "test",
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "TEST": {"NAME": f"test_django_event_system_{os.getpid()}"},
    }
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
