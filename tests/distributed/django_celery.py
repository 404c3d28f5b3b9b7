"""The Celery application of the Django project of ``tasks_settings``, as a Django project has one.

``celery -A tests.distributed.django_celery worker`` sets Django up through Celery's Django
fix-up; the app's ``ready()`` then builds the transport on this app and autodiscovery imports
the queued listeners; Celery's autodiscovery imports the apps' ``tasks`` modules.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.distributed.tasks_settings")

app = Celery("des-django", broker=os.environ.get("DES_CELERY_BROKER", "redis://127.0.0.1:6379/15"))
app.conf.update(
    task_default_queue=os.environ.get("DES_CELERY_QUEUE", "des-django"),
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    broker_connection_timeout=2,
    worker_hijack_root_logger=False,
)
app.autodiscover_tasks()
