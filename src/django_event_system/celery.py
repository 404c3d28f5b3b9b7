"""Run queued handlers on Celery workers (install with ``pip install django-event-system[celery]``).

::

    # proj/celery.py, imported by the web processes and the workers alike
    from celery import Celery
    from django_event_system.celery import CeleryTransport
    from django_event_system.core import configure_transport

    app = Celery("proj", broker="redis://127.0.0.1:6379/0")
    configure_transport(CeleryTransport(app))

    import proj.listeners  # registers the queued handlers, here and in the workers

Then ``celery -A proj worker``. With Django, set ``DJANGO_EVENT_SYSTEM = {"QUEUED": {"TRANSPORT":
"celery", "CELERY_APP": "proj.celery.app"}}`` instead of calling ``configure_transport``.

Delivery is at least once. The task acknowledges its message only after the handler returned
(``acks_late``), and rejects it back to the queue when the worker process dies under it
(``reject_on_worker_lost``), so a message whose worker was killed is handled by another worker;
handlers should be idempotent (``event.event_id`` is the key). With Redis as the broker, a
message left unacknowledged by a dead worker comes back after the broker transport option
``visibility_timeout`` (one hour by default): set it above your longest handler and low enough
for your recovery needs. With RabbitMQ it comes back as soon as the dead worker's connection
closes. A handler that raises is retried through Celery (``Task.retry``) with the handler's
backoff, then its ``failed(event, exc)`` hook runs and the message is acknowledged.
"""

from __future__ import annotations

from typing import Any, ClassVar

from celery import Celery, Task

from .core import Message, Outcome, Transport, process_message

__all__ = ["DEFAULT_PUBLISH_RETRY_POLICY", "TASK_NAME", "CeleryTransport"]

TASK_NAME = "django_event_system.handle_queued_event"
"""The name of the Celery task that carries queued handlers' messages."""

DEFAULT_PUBLISH_RETRY_POLICY: dict[str, float] = {
    "max_retries": 2,
    "interval_start": 0.0,
    "interval_step": 0.5,
    "interval_max": 1.0,
}
"""How often and how fast publishing is retried when the broker does not answer, before
``enqueue`` raises (and the enqueue error policy applies)."""


class CeleryTransport(Transport):
    """Sends queued handlers' messages as Celery tasks, and registers the task that runs them.

    Create it in a module that the workers import: the constructor registers the task
    :data:`TASK_NAME` on ``app``.

    :param app: the Celery application.
    :param queue: the queue to send to when the handler names none; ``None`` uses Celery's
        routing (``task_default_queue``, ``task_routes``).
    :param publish_retry_policy: Celery's ``retry_policy`` for publishing; see
        :data:`DEFAULT_PUBLISH_RETRY_POLICY`.
    """

    name: ClassVar[str] = "celery"
    supports_delay: ClassVar[bool] = True
    supports_late_ack: ClassVar[bool] = True

    def __init__(
        self,
        app: Celery,
        *,
        queue: str | None = None,
        publish_retry_policy: dict[str, float] | None = None,
    ) -> None:
        if not isinstance(app, Celery):
            raise TypeError(f"CeleryTransport() takes a Celery application, not {app!r}")
        self.app = app
        self.queue = queue
        self.publish_retry_policy = dict(
            DEFAULT_PUBLISH_RETRY_POLICY if publish_retry_policy is None else publish_retry_policy
        )
        self.task: Task[Any, Any] = app.task(
            name=TASK_NAME,
            bind=True,
            # Acknowledge after the handler returned, and give the message back if the worker
            # process dies under it: a killed worker loses no message.
            acks_late=True,
            reject_on_worker_lost=True,
            ignore_result=True,
            # Retries are counted by the handler's own options (see process_message).
            max_retries=None,
        )(_handle_queued_event)

    def enqueue(self, message: Message, *, delay: float = 0.0, attempt: int = 0) -> None:
        """Publish ``message`` as a task; raises what Celery raises if the broker cannot be reached."""
        options: dict[str, Any] = {"retry": True, "retry_policy": self.publish_retry_policy}
        queue = message.queue or self.queue
        if queue is not None:
            options["queue"] = queue
        if delay > 0:
            options["countdown"] = delay
        if attempt:
            options["retries"] = attempt
        self.task.apply_async((message.body,), **options)

    def __repr__(self) -> str:
        return f"<CeleryTransport app={self.app.main!r} queue={self.queue!r}>"


def _handle_queued_event(task: Task[Any, Any], body: Any) -> str:
    """The Celery task: hand the body to process_message, and retry through Celery if asked."""
    result = process_message(body, attempt=task.request.retries or 0)
    if result.outcome is Outcome.RETRY:
        # A new message, the same body, one more retry counted; this one is acknowledged.
        raise task.retry(countdown=result.delay, max_retries=None)
    outcome: str = result.outcome.value
    return outcome
