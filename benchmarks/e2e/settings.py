"""Settings of the end-to-end benchmark's project: one app, no middleware, SQLite in WAL mode.

``E2E_VARIANT`` picks the variant (see :mod:`benchmarks.e2e`); ``E2E_DATABASE`` is the path of
the SQLite file, which the server creates. Only the ``observer`` and ``bounded`` variants install
``django_event_system``, so the other two measure Django without this package at all.
"""

from __future__ import annotations

import os

from benchmarks.e2e import current_variant

VARIANT = current_variant()

SECRET_KEY = "e2e-benchmark-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
USE_TZ = True

INSTALLED_APPS = ["benchmarks.e2e"]
if VARIANT in ("observer", "bounded"):
    # Autodiscovery imports benchmarks/e2e/observers.py, which defines the Observer.
    INSTALLED_APPS += ["django_event_system"]
    DJANGO_EVENT_SYSTEM: dict[str, object] = {"POOL_SIZE": int(os.environ.get("E2E_POOL_SIZE", "100"))}
if VARIANT == "bounded":
    DJANGO_EVENT_SYSTEM["MAX_PENDING"] = int(os.environ.get("E2E_MAX_PENDING", "2000"))
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "benchmarks.e2e.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("E2E_DATABASE", "e2e.sqlite3"),
        # One connection per greenlet, kept for its life: a connection per request would cost
        # every variant the same and hide the difference this benchmark is about.
        "CONN_MAX_AGE": None,
        # WAL (set on the file when it is created) with NORMAL sync: commits do not wait for the
        # disk, a usual setting for SQLite behind a web server.
        "OPTIONS": {"init_command": "PRAGMA synchronous=NORMAL"},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}
