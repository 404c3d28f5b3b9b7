"""Events that ordinary Celery tasks dispatch: handled after each task, and before the worker exits.

In this process, a task runs as a worker's pool runs it (Celery's tracer, not eager). Then
``celery worker`` subprocesses of ``worker_app`` on Redis, one per pool, whose handlers write a
file per handling, so that a test counts them.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest
from celery import Celery, Task
from celery.app.trace import build_tracer
from celery.signals import worker_process_shutdown, worker_shutdown
from celery.utils.dispatch import Signal

from django_event_system.core import EventDispatcher
from django_event_system.transports import celery as celery_adapter
from django_event_system.transports.celery import drain_after_tasks
from tests.distributed.conftest import StartWorker, make_app, wait_for, wait_until
from tests.distributed.handlers import handlings

app = Celery("des-drain-tests", broker="memory://", set_as_current=False)
bus = EventDispatcher()
handled: list[tuple[str, int]] = []


@bus.listen("drain_tests::.*")
def record(name: str) -> None:
    handled.append((name, threading.get_ident()))


@bus.listen("drain_tests::failing")
def fail(name: str) -> None:
    raise RuntimeError("the handler fails")


@bus.listen("drain_tests::slow")
def wait_a_while(name: str) -> None:
    gevent.sleep(0.3)


@app.task(name="drain_tests.dispatch")
def dispatch(name: str) -> str:
    bus.Dispatch(name)
    return "done"


def run_as_a_worker(task: Task[Any, Any], *args: object) -> object:
    """Run ``task`` in this thread as a worker's pool does (traced, not eager); its return value."""
    return build_tracer(task.name, task, eager=False, app=app)(uuid.uuid4().hex, list(args), {}, None).retval


@pytest.fixture(autouse=True)
def drains() -> Iterator[None]:
    """The drains connected, as a project's Celery module connects them; then as the Django app left them."""
    handled.clear()
    drain_after_tasks()
    yield
    bus.error_policy = "log"
    bus.ClearQueue(timeout=5)
    drain_after_tasks()


def test_the_events_of_a_task_are_handled_after_it_in_its_thread() -> None:
    """A task's events are handled once the task has returned, in the thread that ran it."""
    assert run_as_a_worker(dispatch, "drain_tests::ran") == "done"
    assert handled == [("drain_tests::ran", threading.get_ident())]


def test_an_eager_task_leaves_its_events_to_the_caller() -> None:
    """``apply()`` runs the task in the caller's code, which drains when it chooses."""
    dispatch.apply(("drain_tests::eager",))
    assert (handled, bus.pending_count()) == ([], 1)
    bus.ClearQueue()
    assert [name for name, _ in handled] == ["drain_tests::eager"]


def test_a_failing_drain_is_logged_and_the_task_result_stands(caplog: pytest.LogCaptureFixture) -> None:
    """Under the "raise" policy a handler's error is logged with the task, and the task still succeeds."""
    bus.error_policy = "raise"
    assert run_as_a_worker(dispatch, "drain_tests::failing") == "done"
    (logged,) = [r for r in caplog.records if r.name == "django_event_system" and r.exc_info]
    assert logged.getMessage().startswith(
        "handlers failed while the event queue drained after the Celery task 'drain_tests.dispatch' (id "
    )
    assert "the handler fails" in caplog.text


def test_a_drain_that_times_out_is_logged_and_the_rest_stays_queued(caplog: pytest.LogCaptureFixture) -> None:
    """With a timeout, a drain that takes longer is logged as an error, and the handler finishes later."""
    drain_after_tasks(timeout=0.05)
    assert run_as_a_worker(dispatch, "drain_tests::slow") == "done"
    assert "the event queue was not drained within 0.05 s after the Celery task 'drain_tests.dispatch'" in caplog.text
    assert [r.levelno for r in caplog.records if r.name == "django_event_system"] == [logging.ERROR]
    assert bus.pending_count() == 0
    bus.ClearQueue(timeout=5)  # the handler that was still waiting returns now
    assert [name for name, _ in handled] == ["drain_tests::slow"]


@pytest.mark.parametrize(
    ("signal", "sent"),
    [(worker_process_shutdown, {"pid": os.getpid(), "exitcode": 0}), (worker_shutdown, {})],
    ids=["worker_process_shutdown", "worker_shutdown"],
)
def test_a_worker_process_drains_before_it_exits(signal: Signal, sent: dict[str, object]) -> None:
    """What is still queued when a pool process or the worker shuts down is handled then."""
    bus.Dispatch("drain_tests::left")
    signal.send(sender=None, **sent)
    assert [name for name, _ in handled] == ["drain_tests::left"]


def test_drain_after_tasks_connects_once_and_can_be_undone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Called twice it drains once per task; what it returns disconnects the drains."""
    calls: list[str] = []
    monkeypatch.setattr(celery_adapter, "drain_for_worker", lambda when, timeout: calls.append(when))
    undo = drain_after_tasks()
    run_as_a_worker(dispatch, "drain_tests::once")
    assert len(calls) == 1
    undo()
    run_as_a_worker(dispatch, "drain_tests::none")
    assert len(calls) == 1


KINDS = ("named", "noted")
POOLS = {"prefork": 2, "solo": 1, "threads": 2, "gevent": 2}


@pytest.mark.slow
@pytest.mark.parametrize("broker", ["redis"], indirect=True)
@pytest.mark.parametrize("pool", list(POOLS))
def test_events_of_ordinary_tasks_are_handled_after_each_task_and_at_warm_shutdown(
    pool: str, broker: str, queue: str, out: Path, worker_processes: StartWorker
) -> None:
    """Each task's events are handled once, right after it; events left queued, once at warm shutdown."""
    worker = worker_processes(pool, concurrency=POOLS[pool])
    sender = make_app(broker, queue)
    tokens = [uuid.uuid4().hex[:10] for _ in range(4)]
    late = uuid.uuid4().hex[:10]
    try:
        for key in tokens:
            sender.send_task("des_tests.dispatch", (key,))
        try:
            wait_until(
                lambda: all(handlings(out, kind, key) for kind in KINDS for key in tokens),
                timeout=20,
                failure="the events of the tasks were not all handled",
            )
        except AssertionError as error:
            pytest.fail(f"{error}:\n{worker.output()}")
        assert worker.process.poll() is None, "handled while the worker runs, not at its exit"
        sender.send_task("des_tests.dispatch_after_the_task", (late,))
        wait_for(out / f"left-{late}", timeout=20)
    finally:
        sender.close()
    if pool != "gevent":  # the gevent pool's hub handles them as soon as the worker waits
        assert [handlings(out, kind, late) for kind in KINDS] == [0, 0], "queued until the worker stops"
    assert worker.stop() == 0
    counts = {(kind, key): handlings(out, kind, key) for kind in KINDS for key in [*tokens, late]}
    assert counts == dict.fromkeys(counts, 1), worker.output()
