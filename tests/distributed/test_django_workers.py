"""Events of a Django project's tasks: handled after each task, and before the worker exits.

The project of ``tasks_settings`` on PostgreSQL, with its events queued as by default: its tasks
save a model that an Observer records in the database, one receipt per handling.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.distributed.conftest import (
    StartWorker,
    kill,
    make_app,
    project_env,
    receipts,
    run_scenario,
    start_db_worker,
    stop,
    wait_until,
)

pytestmark = pytest.mark.slow

ASYNC = {"DES_EVENT_MODE": "async"}


def keys() -> tuple[list[str], str]:
    """Three keys of notes saved in tasks, and one of a note saved after its task."""
    return [uuid.uuid4().hex[:10] for _ in range(3)], f"late-{uuid.uuid4().hex[:10]}"


def wait_for_receipts(database: str, kind: str, references: list[str], log: str) -> None:
    try:
        wait_until(
            lambda: all(receipts(database, kind).get(reference) for reference in references),
            timeout=30,
            failure=f"no {kind!r} receipt for each of {references}",
        )
    except AssertionError as error:
        pytest.fail(f"{error}:\n{log}")


@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_a_model_saved_in_a_celery_task_is_observed_after_the_task(
    database: str, broker: str, queue: str, worker_processes: StartWorker
) -> None:
    """Prefork pool: each task's model event is handled once after the task; one left queued, at warm shutdown."""
    env = {**project_env(database), **ASYNC, "DES_QUEUED_TRANSPORT": "celery"}
    worker = worker_processes("prefork", concurrency=2, app="tests.distributed.django_celery", env=env)
    run_scenario(database, "migrate")
    saved, late = keys()
    sender = make_app(broker, queue)
    try:
        for key in saved:
            sender.send_task("tasksapp.save_note", (key,))
        wait_for_receipts(database, "observed", saved, worker.output())
        assert worker.process.poll() is None, "handled while the worker runs, not at its exit"
        sender.send_task("tasksapp.save_note_after_the_task", (late,))
        wait_for_receipts(database, "left", [late], worker.output())
    finally:
        sender.close()
    assert late not in receipts(database, "observed"), "queued until the worker stops"
    assert worker.stop() == 0
    assert receipts(database, "observed") == dict.fromkeys([*saved, late], 1), worker.output()


def test_a_model_saved_in_a_tasks_task_is_observed_after_the_task(database: str, tmp_path: Path) -> None:
    """db_worker: each task's model event is handled once after the task; one left queued, before it exits."""
    saved, late = keys()
    run_scenario(database, "enqueue-notes", *saved, late)
    log = tmp_path / "worker.log"
    worker = start_db_worker(database, log, ASYNC)
    try:
        wait_for_receipts(database, "observed", saved, log.read_text())
        assert worker.poll() is None, "handled while the worker runs, not at its exit"
        wait_for_receipts(database, "left", [late], log.read_text())
        assert late not in receipts(database, "observed"), "queued until the worker stops"
        assert stop(worker, log.read_text) == 0, log.read_text()
    finally:
        kill(worker)
    assert receipts(database, "observed") == dict.fromkeys([*saved, late], 1), log.read_text()
