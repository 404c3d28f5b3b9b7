"""Drain the queue in task queues' workers: after each task, and before the worker's process exits.

A worker serves no request, so the drain at the end of a request never runs there: the events
that a task dispatched (a model saved, ``Dispatcher.Dispatch(...)``) would wait until the process
exits, and Celery's prefork pool ends its processes without the drain at interpreter exit. The
app's ``ready()`` connects the drains of the task queues that are installed, and of those only:

- Celery: the receivers of :func:`django_event_system.transports.celery.drain_after_tasks`, after each task
  and in each worker process before it exits. Celery is imported only when it is installed.
- Django's Tasks framework (``django.tasks`` on Django 6, the ``django-tasks`` backport on 5.2):
  ``task_finished``, after each task in the thread that ran it. Its database worker
  (``db_worker``) exits through the interpreter's exit, whose drain handles the rest.

Tasks that run inline, in the code that enqueued them (Celery's eager tasks, the Tasks
framework's ``ImmediateBackend``), are left to that code's own drain.
"""

from __future__ import annotations

import importlib
from importlib.util import find_spec
from typing import Any

from django.apps import apps

from ..core.integration import drain_for_worker

__all__ = ["connect_worker_drains", "drain_after_task"]

_inline_backends: tuple[type, ...] = ()


def connect_worker_drains() -> None:
    """Connect the drains of the installed task queues' workers (once, however often it is called)."""
    global _inline_backends
    if find_spec("celery") is not None:
        from ..transports.celery import connect_drains

        connect_drains()
    # The same framework that the Tasks transport uses: django.tasks where Django has it, else
    # the backport, but only in a project that installed it as an app: importing it pulls in
    # django-stubs-ext, whose lazy admin site breaks gevent's monkey-patching where the admin
    # is not installed (gunicorn -k gevent --preload).
    for package in ("django.tasks", "django_tasks"):
        if package == "django_tasks" and not apps.is_installed("django_tasks"):
            continue
        if find_spec(package) is not None:
            signals = importlib.import_module(f"{package}.signals")
            _inline_backends = (importlib.import_module(f"{package}.backends.immediate").ImmediateBackend,)
            signals.task_finished.connect(drain_after_task, dispatch_uid="django_event_system:tasks_drain")
            break


def drain_after_task(sender: object, task_result: Any, **kwargs: Any) -> None:
    """Handle what a Tasks framework task left queued (``task_finished``), in the thread that ran it.

    A failing drain is logged and changes nothing in the task's result.
    """
    # The sender is the backend's class, or the backend itself (django-tasks-db's worker).
    if isinstance(sender, _inline_backends) or (isinstance(sender, type) and issubclass(sender, _inline_backends)):
        return
    drain_for_worker(f"after the task {task_result.task.module_path!r} (id {task_result.id})")
