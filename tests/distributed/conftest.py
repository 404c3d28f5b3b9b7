"""Fixtures for the Celery tests: the real brokers on loopback, an in-process worker, subprocess workers.

A test of a broker that does not answer is skipped, and fails under ``CI=true``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from celery.worker import state

from django_event_system.core import using_transport
from django_event_system.transports.celery import CeleryTransport
from tests.scripts import run_python

REPO = Path(__file__).resolve().parents[2]

BROKERS = {
    "redis": ("redis://127.0.0.1:6379/15", 6379),
    "rabbitmq": ("amqp://guest:guest@127.0.0.1:5672//", 5672),
}


def answers(port: int) -> bool:
    """Whether something listens on 127.0.0.1:``port``."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def require_broker(name: str) -> str:
    """The URL of broker ``name``; skip the test when it does not answer (fail under CI=true)."""
    url, port = BROKERS[name]
    if not answers(port):
        reason = f"{name} does not answer on 127.0.0.1:{port}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}, and CI=true requires it", pytrace=False)
        pytest.skip(reason)
    return url


def make_app(url: str, queue: str) -> Celery:
    """A Celery application on ``url`` whose tasks go to ``queue``, with short timeouts."""
    app = Celery(f"des-tests-{queue}", broker=url, set_as_current=False)
    app.conf.update(
        task_default_queue=queue,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=2,
        broker_transport_options={
            "visibility_timeout": 2,
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
        },
        worker_hijack_root_logger=False,
    )
    return app


def wait_until(condition: Callable[[], object], timeout: float, failure: str) -> None:
    """Poll ``condition`` until it is true; fail with ``failure`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{failure} within {timeout} s")
        time.sleep(0.05)


def wait_for(path: Path, timeout: float) -> str:
    """Wait until ``path`` exists and return its text; fail after ``timeout`` seconds."""
    wait_until(path.exists, timeout, f"{path.name} did not appear")
    return path.read_text()


@pytest.fixture(params=sorted(BROKERS))
def broker(request: pytest.FixtureRequest) -> str:
    """Each real broker in turn: its URL."""
    return require_broker(request.param)


@pytest.fixture
def out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The directory where the test handlers write, for this test."""
    monkeypatch.setenv("DES_CELERY_OUT", str(tmp_path))
    return tmp_path


@pytest.fixture
def queue() -> str:
    """A queue of the test's own, so that no message of another run reaches it."""
    return f"des-tests-{uuid.uuid4().hex[:12]}"


@dataclass
class Running:
    app: Celery
    transport: CeleryTransport


@pytest.fixture
def celery_worker(broker: str, queue: str, out: Path) -> Iterator[Running]:
    """A Celery worker in a thread of this process, consuming the test's queue, and the transport."""
    import tests.distributed.handlers  # noqa: F401 - registers the queued handlers

    app = make_app(broker, queue)
    transport = CeleryTransport(app)
    # The thread pool rather than solo: with solo on RabbitMQ, the in-process worker sees a
    # message published while it handles another only at its next 10 s poll.
    with (
        using_transport(transport),
        start_worker(app, pool="threads", perform_ping_check=False, shutdown_timeout=15, loglevel="WARNING") as worker,
    ):
        yield Running(app, transport)
        # Stop now, and wake the worker's event loop, which would otherwise notice only at its
        # next timer, up to 10 s later.
        state.should_terminate = 0  # type: ignore[assignment] # the stubs know only None
        hub = getattr(worker, "hub", None)
        if hub is not None:
            hub.call_soon(lambda: None)
    with contextlib.suppress(Exception), app.connection_for_write() as connection:
        cast("Any", connection.default_channel).queue_delete(queue)


class Records(logging.Handler):
    """Collects the records of a logger, from any thread, and lets a test wait for one."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []
        self._changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self._changed:
            self.messages.append(record.getMessage())
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[str], bool], timeout: float) -> str:
        """Return the first message that satisfies ``predicate``; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for message in self.messages:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no such log record within {timeout} s; got {self.messages}")
                self._changed.wait(remaining)


@pytest.fixture
def queued_log() -> Iterator[Records]:
    """The records of the ``django_event_system.queued`` logger, whichever thread wrote them."""
    logger = logging.getLogger("django_event_system.queued")
    records = Records()
    logger.addHandler(records)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    yield records
    logger.removeHandler(records)
    logger.setLevel(previous)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL ``process`` and everything it started (its process group), and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop(process: subprocess.Popen[bytes], output: Callable[[], str], timeout: float = 15) -> int:
    """SIGTERM to ``process`` and its exit code; fail the test, killing it, past ``timeout`` seconds."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill(process)
        pytest.fail(f"the process did not stop within {timeout} s:\n{output()}")


class WorkerProcess:
    """A ``celery worker`` subprocess on the test's broker and queue.

    ``app`` is the module of the Celery application (the fault tests' by default), ``env`` what
    the worker's environment adds or replaces.
    """

    def __init__(
        self,
        broker: str,
        queue: str,
        out: Path,
        pool: str,
        *,
        concurrency: int = 1,
        app: str = "tests.distributed.worker_app",
        env: dict[str, str] | None = None,
    ) -> None:
        self.log = out / f"worker-{uuid.uuid4().hex[:6]}.log"
        environment = {
            **os.environ,
            **(env or {}),
            "DES_CELERY_BROKER": broker,
            "DES_CELERY_QUEUE": queue,
            "DES_CELERY_OUT": str(out),
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            app,
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            "-Q",
            queue,
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=INFO",
            "-n",
            f"des-{uuid.uuid4().hex[:6]}@%h",
        ]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def kill(self) -> None:
        """SIGKILL the worker and everything it started."""
        kill(self.process)

    def stop(self) -> int:
        """Warm shutdown, as Celery documents it: SIGTERM to the main process alone; its exit code.

        Sent to the whole process group, SIGTERM would also reach the prefork pool's processes,
        which take its default action and die mid-task.
        """
        return stop(self.process, self.output)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class StartWorker(Protocol):
    def __call__(
        self, pool: str, *, concurrency: int = 1, app: str = ..., env: dict[str, str] | None = None
    ) -> WorkerProcess: ...


@pytest.fixture
def worker_processes(broker: str, queue: str, out: Path) -> Iterator[StartWorker]:
    """Start ``celery worker`` subprocesses (see :class:`WorkerProcess`); all are killed after the test."""
    started: list[WorkerProcess] = []

    def start(pool: str, **options: Any) -> WorkerProcess:
        worker = WorkerProcess(broker, queue, out, pool, **options)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        # The test is over: nothing of the worker's is worth a warm shutdown's wait.
        worker.kill()


# -- the Django project of tasks_settings, run in subprocesses --------------------------------


def run_scenario(database: str, *args: str, env: dict[str, str] | None = None) -> Any:
    """Run the scenario script with ``args`` and return the JSON it printed."""
    completed = run_python(
        "-m", "tests.distributed.tasks_scenario", *args, cwd=REPO, env={**project_env(database), **(env or {})}
    )
    (line,) = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(line.removeprefix("RESULT "))


def project_env(database: str) -> dict[str, str]:
    return {
        **os.environ,
        "DES_TASKS_DB": database,
        "DJANGO_SETTINGS_MODULE": "tests.distributed.tasks_settings",
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }


def start_db_worker(database: str, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``manage.py db_worker`` in the project on ``database``, polling every 50 ms, output to ``log``."""
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "django", "db_worker", "--interval", "0.05", "--no-startup-delay"],
            cwd=REPO,
            env={**project_env(database), **(env or {})},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def receipts(database: str, kind: str) -> dict[str, int]:
    """How many receipts of ``kind`` each reference has in the project's database."""
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={database} connect_timeout=5") as connection:
        rows = connection.execute(
            "SELECT reference, count(*) FROM tasksapp_receipt WHERE kind = %s GROUP BY reference", (kind,)
        ).fetchall()
    return dict(rows)


@pytest.fixture
def database() -> Iterator[str]:
    """A PostgreSQL database of the test's own, dropped afterwards."""
    if not answers(5432):
        reason = "PostgreSQL does not answer on 127.0.0.1:5432"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}, and CI=true requires it", pytrace=False)
        pytest.skip(reason)
    import psycopg

    name = f"des_tasks_{uuid.uuid4().hex[:10]}"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test connect_timeout=5", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test connect_timeout=5", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
