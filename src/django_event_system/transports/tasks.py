"""Run queued handlers through Django's Tasks framework (``pip install django-event-system[tasks]``).

``django.tasks`` on Django 6, the ``django-tasks`` backport on Django 5.2. Choose it with::

    DJANGO_EVENT_SYSTEM = {"QUEUED": {"TRANSPORT": "tasks", "TASKS_BACKEND": "default"}}

and run the backend's worker; with the database backend of ``django-tasks-db``:
``manage.py db_worker``. Importing this module needs the ``TASKS`` setting, since the task is
checked against its backend when it is defined.

Delivery guarantees are the backend's. The database backend stores the message in the same
database as your data, claims it in a transaction when a worker takes it, and records the task's
end; a worker that dies mid-task leaves the task marked running, and it is not run again by
itself (``supports_late_ack`` is ``False``). Retries are new tasks that run after the handler's
backoff when the backend supports ``run_after`` (``supports_defer``), at once otherwise.
"""

from __future__ import annotations

import datetime
import logging
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils import timezone

from ..core import Message, Outcome, Transport, process_message

if TYPE_CHECKING:
    from django.tasks import TaskContext, task, task_backends
else:
    try:
        from django.tasks import TaskContext, task, task_backends
    except ImportError:  # Django 5.2: the backport
        from django_tasks import TaskContext, task, task_backends

__all__ = ["TasksTransport", "handle_queued_event"]

logger: logging.Logger = logging.getLogger("django_event_system.queued")


@task(takes_context=True)
def handle_queued_event(context: TaskContext[Any, Any], body: str, attempt: int = 0) -> str:
    """The task that carries a queued handler's message: handle it, and enqueue a retry if asked."""
    result = process_message(body, attempt=attempt)
    if result.outcome is Outcome.RETRY:
        current = context.task_result.task
        backend = task_backends[current.backend]
        retry = current
        if backend.supports_defer and result.delay > 0:
            retry = current.using(run_after=timezone.now() + datetime.timedelta(seconds=result.delay))
        retry.enqueue(body, attempt + 1)
    outcome: str = result.outcome.value
    return outcome


class TasksTransport(Transport):
    """Sends queued handlers' messages as tasks of Django's Tasks framework.

    :param backend: the alias of the backend in the ``TASKS`` setting.
    :param queue_name: the queue when the handler names none; ``None`` for the task's default.
    """

    name: ClassVar[str] = "tasks"
    supports_delay: ClassVar[bool] = True
    """Retries wait for their backoff on backends that support ``run_after``."""
    supports_late_ack: ClassVar[bool] = False

    def __init__(self, *, backend: str = "default", queue_name: str | None = None) -> None:
        task_backends[backend]
        self.backend = backend
        self.queue_name = queue_name

    def enqueue(self, message: Message, *, delay: float = 0.0, attempt: int = 0) -> None:
        """Enqueue ``message``; raises what the backend raises (a database error, say)."""
        queue_name = message.queue or self.queue_name
        run_after = None
        if delay > 0 and task_backends[self.backend].supports_defer:
            run_after = timezone.now() + datetime.timedelta(seconds=delay)
        handle_queued_event.using(backend=self.backend, queue_name=queue_name, run_after=run_after).enqueue(
            message.body, attempt
        )

    def __repr__(self) -> str:
        return f"<TasksTransport backend={self.backend!r} queue_name={self.queue_name!r}>"
