"""Settings of the Django project that the Tasks framework and Django-Celery tests run in subprocesses.

The database is the real PostgreSQL, in a database of the test's own named by ``DES_TASKS_DB``.
"""

from __future__ import annotations

import os

SECRET_KEY = "tests-only-not-secret"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_tasks",
    "django_tasks_db",
    "django_event_system",
    "tests.distributed.tasksapp",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("DES_TASKS_DB", "test"),
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "OPTIONS": {"connect_timeout": 5},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# DES_QUEUED_TRANSPORT=celery runs the same project on a Celery worker instead (django_celery.py).
if os.environ.get("DES_QUEUED_TRANSPORT") == "celery":
    QUEUED = {"TRANSPORT": "celery", "CELERY_APP": "tests.distributed.django_celery.app"}
else:
    QUEUED = {"TRANSPORT": "tasks"}
# DES_EVENT_MODE=async queues the events, as a project does by default (the worker tests).
DJANGO_EVENT_SYSTEM = {"MODE": os.environ.get("DES_EVENT_MODE", "sync"), "QUEUED": QUEUED}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_event_system": {"handlers": ["console"], "level": "INFO"}},
}
