"""Settings of the lifecycle project: SQLite in ``$LIFECYCLE_OUT``, the library's defaults."""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(os.environ["LIFECYCLE_OUT"], "db.sqlite3")}
}
INSTALLED_APPS = [*INSTALLED_APPS, "tests.lifecycle.project"]
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
