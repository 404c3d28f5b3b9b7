"""The Celery application of the subprocess workers that the fault tests start and kill.

Configured from the environment: ``DES_CELERY_BROKER`` (the broker URL), ``DES_CELERY_QUEUE``
(the queue of the test), ``DES_CELERY_OUT`` (where the handlers write).
"""

from __future__ import annotations

import os

from celery import Celery

from django_event_system.celery import CeleryTransport
from django_event_system.core import configure_transport

app = Celery("django_event_system_tests", broker=os.environ["DES_CELERY_BROKER"])
app.conf.update(
    task_default_queue=os.environ["DES_CELERY_QUEUE"],
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    broker_connection_timeout=2,
    # A message left unacknowledged by a killed worker is taken back after 2 s (Redis only).
    broker_transport_options={"visibility_timeout": 2, "unacked_restore_interval": 1, "unacked_restore_throttle": 1},
    worker_hijack_root_logger=False,
)
configure_transport(CeleryTransport(app))

import tests.distributed.handlers  # noqa: E402, F401 - registers the queued handlers in the worker
