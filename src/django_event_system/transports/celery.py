"""Run queued handlers on Celery workers (install with ``pip install django-event-system[celery]``).

::

    # proj/celery.py, imported by the web processes and the workers alike
    from celery import Celery
    from django_event_system.transports.celery import CeleryTransport
    from django_event_system.core import configure_transport

    app = Celery("proj", broker="redis://127.0.0.1:6379/0")
    configure_transport(CeleryTransport(app))

    import proj.listeners  # registers the queued handlers, here and in the workers

Then ``celery -A proj worker``. With Django, set ``DJANGO_EVENT_SYSTEM = {"QUEUED": {"TRANSPORT":
"celery", "CELERY_APP": "proj.celery.app"}}`` instead of calling ``configure_transport``.

Events that ordinary tasks dispatch are handled after each task and before each worker process
exits once :func:`drain_after_tasks` has been called; the Django app calls it by itself.

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

from collections.abc import Callable
from typing import Any, ClassVar

from celery import Celery, Task
from celery.signals import task_postrun, worker_process_shutdown, worker_shutdown

from ..core import Message, Outcome, Transport, process_message
from ..core.integration import drain_for_worker

__all__ = ["DEFAULT_PUBLISH_RETRY_POLICY", "TASK_NAME", "CeleryTransport", "connect_drains", "drain_after_tasks"]

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
        if not isinstance(app, Celery):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"CeleryTransport() takes a Celery application, not {app!r}")
        self.app = app
        self.queue = queue
        self.publish_retry_policy: dict[str, float] = dict(
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


_drain_timeout: float | None = None
"""The timeout of the drains, as :func:`drain_after_tasks` last set it."""


def drain_after_tasks(*, timeout: float | None = None) -> Callable[[], None]:
    """Handle the events that tasks dispatch after each task, and before each worker process exits.

    An ordinary task that saves an observed model or calls ``Dispatcher.Dispatch(...)`` leaves
    its events queued: the worker never gives the queue a turn, and the prefork pool's processes
    end without the drain at interpreter exit. Call this once in the module that creates the
    Celery app (the Django app connects the same receivers by itself; call it there only to set
    a timeout). It connects receivers of Celery's signals that drain every dispatcher's queue
    (:func:`~django_event_system.clear_all_queues`):

    - ``task_postrun``: after each task, in the thread or greenlet that ran it, whatever the pool
      (eager tasks, which run in the caller's code, are left to the caller);
    - ``worker_process_shutdown``: in each prefork pool process, before it exits;
    - ``worker_shutdown``: in the worker's main process at warm shutdown, where the solo, threads
      and gevent pools run their tasks.

    A handler's failure under the ``"raise"`` error policy, and a drain that runs out of time,
    are logged on the ``django_event_system`` logger; the task's result and the worker are not
    affected. Celery's signals are process-wide: the drains apply to the tasks of every Celery
    app in the process. Calling it again connects nothing more and only sets the timeout.

    :param timeout: seconds each drain may wait for each dispatcher; what is left then stays
        queued for the next drain. ``None`` waits until everything is handled.
    :returns: a function that disconnects the receivers (for every caller: they are shared).
    :raises ValueError: ``timeout`` is not ``None`` or a positive number.

    .. versionadded:: 2.0
    """
    if not _is_timeout(timeout):
        raise ValueError(f"timeout must be None or a positive number of seconds, not {timeout!r}")
    global _drain_timeout
    _drain_timeout = timeout
    return connect_drains()


def _is_timeout(value: object) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0)


def connect_drains() -> Callable[[], None]:
    """Connect the receivers of :func:`drain_after_tasks`, leaving the timeout as it is (the Django app
    calls it when Celery is installed)."""
    for signal, receiver in _DRAINS:
        signal.connect(receiver, dispatch_uid=_uid(receiver), weak=False)
    return _disconnect_drains


def _disconnect_drains() -> None:
    for signal, receiver in _DRAINS:
        signal.disconnect(receiver, dispatch_uid=_uid(receiver))


def _uid(receiver: Callable[..., None]) -> str:
    return f"django_event_system:{receiver.__name__}"


def _drain_after_task(sender: Task[Any, Any], task_id: str | None = None, **kwargs: Any) -> None:
    if getattr(sender.request, "is_eager", False):
        return
    drain_for_worker(f"after the Celery task {sender.name!r} (id {task_id})", _drain_timeout)


def _drain_in_exiting_pool_process(**kwargs: Any) -> None:
    drain_for_worker("before the Celery pool process exits", _drain_timeout)


def _drain_at_worker_shutdown(**kwargs: Any) -> None:
    drain_for_worker("at the Celery worker's shutdown", _drain_timeout)


_DRAINS = (
    (task_postrun, _drain_after_task),
    (worker_process_shutdown, _drain_in_exiting_pool_process),
    (worker_shutdown, _drain_at_worker_shutdown),
)
