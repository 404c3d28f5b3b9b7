"""The outbox with real servers: PostgreSQL, Redis, a Celery worker, web and relay processes that die.

The project is ``outbox_settings``; the web process is ``outbox_scenario``. One database, one
worker and one queue serve the module; each test saves parcels with references of its own, and
counts what happened to them: the rows it wrote, the publishes (``outboxapp.transport``) and the
effects, one row per run of a handler.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.distributed.conftest import REPO, WorkerProcess, answers, kill, require_broker, stop, wait_until
from tests.scripts import run_python

pytestmark = pytest.mark.slow

SETTINGS = "tests.distributed.outbox_settings"
SHIP_PARCEL = "tests.distributed.outboxapp.listeners:ShipParcel"


@dataclass
class Project:
    database: str
    broker: str
    out: Path
    env: dict[str, str]
    worker: WorkerProcess

    def query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={self.database} connect_timeout=5") as db:
            return db.execute(sql, params).fetchall()

    def last_row(self) -> int:
        [(last,)] = self.query("SELECT coalesce(max(id), 0) FROM django_event_system_outboxmessage")
        assert isinstance(last, int)
        return last

    def rows_after(self, last: int) -> list[tuple[str, bool]]:
        """The (event id, sent?) of the outbox rows written after row ``last``."""
        rows = self.query(
            "SELECT event_id, sent_at IS NOT NULL FROM django_event_system_outboxmessage WHERE id > %s ORDER BY id",
            last,
        )
        return [(str(event_id), bool(sent)) for event_id, sent in rows]

    def effects(self, kind: str, prefix: str) -> Counter[str]:
        """How many times the handler of ``kind`` ran for each reference starting with ``prefix``."""
        rows = self.query(
            "SELECT reference, count(*) FROM outboxapp_effect WHERE kind = %s AND reference LIKE %s GROUP BY reference",
            kind,
            f"{prefix}%",
        )
        return Counter({str(reference): int(str(count)) for reference, count in rows})

    def publishes(self) -> Counter[tuple[str, str]]:
        """How many times each (event id, handler) was published, by any process."""
        log = self.out / "publishes.log"
        lines = log.read_text().splitlines() if log.exists() else []
        return Counter((event_id, handler) for _, event_id, handler in (line.split() for line in lines))

    def publishers(self) -> Counter[str]:
        """How many messages each process (by pid) published."""
        log = self.out / "publishes.log"
        return Counter(line.split()[0] for line in log.read_text().splitlines())

    def web(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run the web process with ``args``; its exit code is the caller's to check."""
        return run_python(
            "-m", "tests.distributed.outbox_scenario", *args, cwd=REPO, env={**self.env, **(env or {})}, returncode=None
        )

    def relay(self, *args: str, env: dict[str, str] | None = None) -> RelayProcess:
        """Start ``manage.py events relay`` with ``args``, its output in a log of its own."""
        log = self.out / f"relay-{uuid.uuid4().hex[:6]}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "django", "events", "relay", *args],
                cwd=REPO,
                env={**self.env, **(env or {})},
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return RelayProcess(process, log)

    def relay_once(self) -> str:
        """Run ``relay --once`` to its end; its output (the test fails if it fails)."""
        relay = self.relay("--once")
        try:
            code = relay.process.wait(timeout=30)
        finally:
            relay.kill()
        assert code == 0, relay.output()
        return relay.output()


@dataclass
class RelayProcess:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the relay (a no-op once it has exited), and reap it."""
        kill(self.process)

    def stop(self) -> int:
        """SIGTERM, and its exit code; the test fails if it does not exit within 15 s."""
        return stop(self.process, self.output)


def skipped(project: Project) -> set[str]:
    """The event ids whose duplicates the worker skipped (its log says so at INFO)."""
    return set(re.findall(r"skipped a duplicate of event '[^']*' \(id ([^)]+)\)", project.worker.output()))


def closed_port() -> int:
    """A loopback port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """A migrated PostgreSQL database of the module's own and a Celery worker on Redis for it."""
    if not answers(5432):
        reason = "PostgreSQL does not answer on 127.0.0.1:5432"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}, and CI=true requires it", pytrace=False)
        pytest.skip(reason)
    broker = require_broker("redis")
    import psycopg

    database = f"des_outbox_{uuid.uuid4().hex[:10]}"
    out = tmp_path_factory.mktemp("outbox")
    queue = f"des-outbox-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DES_TASKS_DB": database,
        "DES_QUEUED_TRANSPORT": "celery",
        "DES_CELERY_BROKER": broker,
        "DES_CELERY_QUEUE": queue,
        "DES_CELERY_OUT": str(out),
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test connect_timeout=5", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    worker: WorkerProcess | None = None
    try:
        run_python("-m", "django", "migrate", "-v0", cwd=REPO, env=env)
        worker = WorkerProcess(
            broker,
            queue,
            out,
            "solo",
            app="tests.distributed.django_celery",
            env={"DJANGO_SETTINGS_MODULE": SETTINGS, "DES_TASKS_DB": database},
        )
        yield Project(database, broker, out, env, worker)
    finally:
        if worker is not None:
            worker.kill()
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=test connect_timeout=5", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def wait_for_effects(project: Project, prefix: str, count: int, timeout: float = 30) -> None:
    wait_until(
        lambda: sum(project.effects("parcel", prefix).values()) >= count,
        timeout,
        f"the worker did not handle {count} parcels {prefix!r}:\n{project.worker.output()[-3000:]}",
    )


def test_a_web_process_killed_right_after_its_commit_loses_nothing(project: Project) -> None:
    """SIGKILL right after the commit: the outbox row survives and a later relay has it handled once.

    The letter, saved in the same transaction by a queued listener without the outbox, is lost:
    the process died before it could publish it, which is the window the outbox closes.
    """
    last = project.last_row()
    prefix = f"a-{uuid.uuid4().hex[:6]}"
    died = project.web("commit-and-die", prefix)
    assert died.returncode == -9, died.stderr
    [(event_id, sent)] = project.rows_after(last)
    assert not sent
    assert project.publishes()[(event_id, SHIP_PARCEL)] == 0, "nothing was published before the relay"
    project.relay_once()
    wait_for_effects(project, prefix, 1)
    assert project.effects("parcel", prefix) == {prefix: 1}
    assert project.publishes()[(event_id, SHIP_PARCEL)] == 1
    # The worker handles its queue in order: the letter, had it been published at the commit, would
    # have been handled before the parcel the relay published afterwards.
    assert project.effects("letter", prefix) == {}
    assert not [key for key in project.publishes() if key[1].endswith(":PostLetter")]


def test_a_broker_that_is_down_at_commit_time_loses_nothing(project: Project) -> None:
    """The web process's broker is a closed port: it commits all the same, and the relay sends later."""
    last = project.last_row()
    prefix = f"b-{uuid.uuid4().hex[:6]}"
    down = {"DES_CELERY_BROKER": f"redis://127.0.0.1:{closed_port()}/15"}
    committed = project.web("commit", prefix, "3", env=down)
    assert committed.returncode == 0, committed.stderr
    written = project.rows_after(last)
    assert len(written) == 3
    assert not any(sent for _, sent in written)
    project.relay_once()
    wait_for_effects(project, prefix, 3)
    assert project.effects("parcel", prefix) == {f"{prefix}-{n}": 1 for n in range(3)}
    assert [project.publishes()[(event_id, SHIP_PARCEL)] for event_id, _ in written] == [1, 1, 1]


def test_a_relay_killed_in_the_middle_of_a_batch_is_finished_by_the_next(project: Project) -> None:
    """SIGKILL mid-batch: nothing of the batch is marked sent, the next relay sends it all, the worker
    skips the copies that the first relay had published, and every handler ran once."""
    last = project.last_row()
    prefix = f"c-{uuid.uuid4().hex[:6]}"
    assert project.web("commit", prefix, "20").returncode == 0
    written = [event_id for event_id, _ in project.rows_after(last)]
    assert len(written) == 20

    def published() -> int:
        counts = project.publishes()
        return sum(counts[(event_id, SHIP_PARCEL)] for event_id in written)

    slow = project.relay("--interval", "0.05", env={"DES_PUBLISH_DELAY": "0.1", "DES_OUTBOX_BATCH": "20"})
    try:
        wait_until(lambda: published() >= 3, 30, f"the relay published nothing:\n{slow.output()}")
    finally:
        slow.kill()
    copies = published()
    assert 3 <= copies < 20, "killed in the middle of its batch"
    assert [sent for _, sent in project.rows_after(last)] == [False] * 20, "the killed batch marked nothing sent"
    project.relay_once()
    assert all(sent for _, sent in project.rows_after(last))
    assert published() == 20 + copies
    twice = {event_id for event_id in written if project.publishes()[(event_id, SHIP_PARCEL)] == 2}
    assert len(twice) == copies
    wait_for_effects(project, prefix, 20)
    wait_until(lambda: skipped(project) >= twice, 30, f"the worker did not skip the copies of {sorted(twice)}")
    assert skipped(project) == twice
    assert project.effects("parcel", prefix) == {f"{prefix}-{n}": 1 for n in range(20)}


def test_two_relays_at_once_share_the_rows_and_send_none_twice(project: Project) -> None:
    """Two relays on PostgreSQL: each row is published exactly once, by one of them, and handled once."""
    last = project.last_row()
    prefix = f"d-{uuid.uuid4().hex[:6]}"
    assert project.web("commit", prefix, "200").returncode == 0
    written = [event_id for event_id, _ in project.rows_after(last)]
    assert len(written) == 200
    options = {"DES_PUBLISH_DELAY": "0.01", "DES_OUTBOX_BATCH": "10"}
    relays = [project.relay("--interval", "0.05", env=options) for _ in range(2)]
    try:
        wait_until(
            lambda: all(sent for _, sent in project.rows_after(last)),
            60,
            "the relays did not send every row",
        )
        codes = [relay.stop() for relay in relays]
    finally:
        for relay in relays:
            relay.kill()
    assert codes == [0, 0], [relay.output() for relay in relays]
    assert all("(stopped by SIGTERM)" in relay.output() for relay in relays)
    counts = project.publishes()
    assert Counter(counts[(event_id, SHIP_PARCEL)] for event_id in written) == {1: 200}
    by_relay = project.publishers()
    assert all(by_relay[str(relay.process.pid)] > 0 for relay in relays), f"one relay did all the work: {by_relay}"
    wait_for_effects(project, prefix, 200)
    assert project.effects("parcel", prefix) == {f"{prefix}-{n}": 1 for n in range(200)}
