"""The Celery application of the subprocess workers that the fault and drain tests start and stop.

Configured from the environment: ``DES_CELERY_BROKER`` (the broker URL), ``DES_CELERY_QUEUE``
(the queue of the test), ``DES_CELERY_OUT`` (where the handlers write).
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun

from django_event_system.core import Dispatcher, configure_transport
from django_event_system.transports.celery import CeleryTransport, drain_after_tasks
from tests.distributed.handlers import Noted, record_handling, write  # and registers the queued handlers

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
drain_after_tasks()


@Dispatcher.listen("celery_tests::named")
def record_named(name: str, token: str) -> None:
    """Count the handling of a named event on the global dispatcher."""
    record_handling("named", token)


def dispatch_both(token: str) -> None:
    """Dispatch an event on each of two dispatchers: a named one on the global, an Event on another."""
    Dispatcher.Dispatch("celery_tests::named", token)
    Noted.Dispatch(token)


@app.task(name="des_tests.dispatch")
def dispatch(token: str) -> None:
    """An ordinary task: it dispatches events and returns, as application code does."""
    dispatch_both(token)


@app.task(name="des_tests.dispatch_after_the_task")
def dispatch_after_the_task(token: str) -> None:
    """A task whose events are dispatched after it, by the task_postrun receiver below."""


@task_postrun.connect
def _dispatch_late(sender: Any = None, args: Any = (), **kwargs: Any) -> None:
    # Connected after the drain after each task: what it dispatches stays queued until the
    # worker's process drains before it exits.
    if sender.name == dispatch_after_the_task.name:
        dispatch_both(args[0])
        write(f"left-{args[0]}", str(os.getpid()))
