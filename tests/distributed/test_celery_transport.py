"""The Celery transport against the real Redis and RabbitMQ, with real workers, and its faults."""

from __future__ import annotations

import decimal
import json
import os
import signal
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from celery import Celery

from django_event_system.core import EnqueueError, HandlerErrors, using_transport
from django_event_system.transports.celery import TASK_NAME, CeleryTransport
from tests.distributed.conftest import Records, Running, WorkerProcess, make_app, wait_for
from tests.distributed.handlers import Doomed, Ping, Survivor, bus

pytestmark = pytest.mark.slow


def token() -> str:
    return uuid.uuid4().hex[:10]


def containing(text: str) -> Callable[[str], bool]:
    return lambda message: text in message


def written_by(worker: WorkerProcess, path: Path, failure: str) -> str:
    """What the worker's handler writes to ``path``; after 30 s without, fail with ``failure`` and the worker's log."""
    try:
        return wait_for(path, timeout=30)
    except AssertionError:
        pytest.fail(f"{failure}:\n{worker.output()}")


def test_a_queued_event_is_handled_by_the_worker(celery_worker: Running, out: Path) -> None:
    """A dispatched event reaches the queued handler in the worker with its id and payload."""
    key = token()
    event = Ping.Dispatch(key, decimal.Decimal("9.90"))
    bus.ClearQueue()
    assert wait_for(out / f"ping-{key}", timeout=15) == f"{event.event_id} 9.90 0"


def test_a_handler_that_always_fails_ends_in_failed_after_its_retries(
    celery_worker: Running, out: Path, queued_log: Records
) -> None:
    """Two retries through Celery, then failed() once, and no further try."""
    key = token()
    event = Doomed.Dispatch(key)
    bus.ClearQueue()
    assert wait_for(out / f"failed-{key}", timeout=15) == "RuntimeError: try 2 fails"
    queued_log.wait_for(lambda message: "after 3 tries; giving up" in message and event.event_id in message, 5)
    # A ping sent after the failure is handled after it: had the failed message looped, its next
    # try would have come first (the queue is in order and the worker takes one at a time).
    ping = token()
    Ping.Dispatch(ping, decimal.Decimal(0))
    bus.ClearQueue()
    wait_for(out / f"ping-{ping}", timeout=15)
    assert sorted(path.name for path in out.glob(f"try-{key}-*")) == [f"try-{key}-{n}" for n in range(3)]
    assert len(list(out.glob(f"failed-{key}"))) == 1


FORGED = {
    "not-json": ("{not json", "the body is not JSON"),
    "unregistered-class": (
        json.dumps(
            {
                "v": 1,
                "handler": "tests.distributed.handlers:record_ping",
                "name": "celery_tests::ping",
                "id": "forged",
                "ts": 0,
                "event": {"name": "os::system", "id": "forged", "ts": 0, "fields": {}},
                "args": [],
                "kwargs": {},
            }
        ),
        "the message names the event class 'os::system', which is not registered in this process",
    ),
    "unregistered-handler": (
        json.dumps(
            {
                "v": 1,
                "handler": "subprocess:run",
                "name": "x",
                "id": "forged",
                "ts": 0,
                "event": None,
                "args": ["rm -rf /"],
                "kwargs": {},
            }
        ),
        "no queued handler 'subprocess:run' is registered in this process",
    ),
}


def test_forged_messages_are_refused_and_logged(celery_worker: Running, out: Path, queued_log: Records) -> None:
    """Forged task bodies (not JSON, an unregistered class or handler) are refused and logged; work goes on."""
    for body, _ in FORGED.values():
        celery_worker.transport.task.apply_async((body,))
    for _, expected in FORGED.values():
        queued_log.wait_for(containing(expected), timeout=15)
    key = token()
    Ping.Dispatch(key, decimal.Decimal(1))
    bus.ClearQueue()
    wait_for(out / f"ping-{key}", timeout=15)
    assert [path.name for path in out.glob("ping-*")] == [f"ping-{key}"]


@pytest.mark.parametrize("url", ["redis://127.0.0.1:1/0", "amqp://guest:guest@127.0.0.1:1//"], ids=["redis", "amqp"])
def test_an_unreachable_broker_is_logged_with_the_event_id_and_raised(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """With the broker down, dispatching logs the event id and raises EnqueueError (the default policy)."""
    app = Celery("des-tests-unreachable", broker=url, set_as_current=False)
    app.conf.broker_connection_timeout = 1
    transport = CeleryTransport(
        app, publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
    )
    bus.error_policy = "raise"
    try:
        with using_transport(transport):
            event = Ping.Dispatch(token(), decimal.Decimal(1))
            with pytest.raises(HandlerErrors) as caught:
                bus.ClearQueue(timeout=30)
    finally:
        bus.error_policy = "log"
    assert caught.group_contains(EnqueueError, match=f"id {event.event_id}")
    assert f"could not enqueue event 'celery_tests::ping' (id {event.event_id})" in caplog.text


def test_a_celery_transport_needs_a_celery_app() -> None:
    """Anything but a Celery application is refused."""
    with pytest.raises(TypeError, match="CeleryTransport\\(\\) takes a Celery application, not 'redis://'"):
        CeleryTransport("redis://")  # type: ignore[arg-type]


def test_the_transport_registers_one_task_with_late_acknowledgement() -> None:
    """The task acknowledges late and goes back to the queue if its worker dies."""
    app = make_app("memory://", "unused")
    task = CeleryTransport(app).task
    assert task.name == TASK_NAME
    assert app.tasks[TASK_NAME].name == TASK_NAME
    assert (task.acks_late, task.reject_on_worker_lost, task.ignore_result) == (True, True, True)


def dispatch_survivor(broker: str, queue: str) -> tuple[str, Survivor]:
    """Send a ``Survivor`` event of a new key through Celery on ``queue``; the key and the event."""
    key = token()
    with using_transport(CeleryTransport(make_app(broker, queue))):
        event = Survivor.Dispatch(key)
        bus.ClearQueue()
    return key, event


def test_a_worker_killed_mid_task_and_restarted_handles_the_event(
    broker: str, queue: str, out: Path, worker_processes: Callable[[str], WorkerProcess]
) -> None:
    """SIGKILL of the worker process while it handles the event; a new worker handles it again."""
    first = worker_processes("solo")
    key, event = dispatch_survivor(broker, queue)
    pid = int(written_by(first, out / f"started-{key}", "the first worker never started the task"))
    assert pid == first.process.pid
    first.kill()
    second = worker_processes("solo")
    done = written_by(second, out / f"done-{key}", "the restarted worker did not handle the event")
    assert done == f"{second.process.pid} {event.event_id}"


def test_a_pool_process_killed_mid_task_gives_the_message_back(
    broker: str, queue: str, out: Path, worker_processes: Callable[[str], WorkerProcess]
) -> None:
    """SIGKILL of the prefork child running the task: the message is rejected back and run again."""
    worker = worker_processes("prefork")
    key, event = dispatch_survivor(broker, queue)
    child = int(written_by(worker, out / f"started-{key}", "the worker never started the task"))
    assert child != worker.process.pid
    os.kill(child, signal.SIGKILL)
    done = written_by(worker, out / f"done-{key}", "the message was not handled again")
    pid, event_id = done.split()
    assert (int(pid) != child, event_id) == (True, event.event_id)
