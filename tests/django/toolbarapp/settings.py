"""Settings of the toolbar's test server (``python -m tests.django.toolbarapp.serve``)."""

from __future__ import annotations

from tests.settings import *  # noqa: F403

DEBUG = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "django_event_system",
    "debug_toolbar",
]
MIDDLEWARE = ["debug_toolbar.middleware.DebugToolbarMiddleware"]
ROOT_URLCONF = "tests.django.toolbarapp.urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEBUG_TOOLBAR_PANELS = [
    "debug_toolbar.panels.timer.TimerPanel",
    "debug_toolbar.panels.sql.SQLPanel",
    "django_event_system.debug_toolbar.EventsPanel",
]
DEBUG_TOOLBAR_CONFIG = {"SHOW_TOOLBAR_CALLBACK": "tests.django.toolbarapp.show_toolbar", "IS_RUNNING_TESTS": False}
