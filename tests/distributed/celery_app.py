"""A Celery application that the settings tests name by dotted path; it never connects."""

from __future__ import annotations

from celery import Celery

app = Celery("des-settings", broker="memory://", set_as_current=False)
