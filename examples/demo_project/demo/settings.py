"""Settings of the demo project: SQLite, the event system, and the shop."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "demo-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django_event_system",  # finds shop/observers.py and shop/listeners.py by itself
    "shop",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "demo.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DEMO_DATABASE", str(BASE_DIR / "demo.sqlite3")),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

# Broadcasts to the live orders page: one server process, so the in-process layer will do; with
# several, use channels_redis.core.RedisChannelLayer.
CHANNEL_LAYERS = {"default": {"BACKEND": "django_event_system.channels.InProcessChannelLayer"}}

DJANGO_EVENT_SYSTEM = {
    "POOL_SIZE": 50,  # at most 50 events handled at once per thread
}
