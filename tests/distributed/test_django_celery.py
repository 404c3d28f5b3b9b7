"""A Django project whose queued listeners run on a Celery worker, set up from the settings alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.distributed.conftest import REPO, project_env, require_broker, run_scenario

pytestmark = pytest.mark.slow


def test_a_celery_worker_of_a_django_project_handles_committed_events(database: str, tmp_path: Path) -> None:
    """QUEUED = {"TRANSPORT": "celery"}: the worker loads the committed order; the rolled-back one never comes."""
    broker = require_broker("redis")
    queue = f"des-django-{uuid.uuid4().hex[:8]}"
    env = {"DES_QUEUED_TRANSPORT": "celery", "DES_CELERY_BROKER": broker, "DES_CELERY_QUEUE": queue}
    ids = run_scenario(database, "dispatch-committed", env=env)
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "tests.distributed.django_celery", "worker", "--pool=solo"),
                *("-Q", queue, "--without-heartbeat", "--without-mingle", "--without-gossip", "--loglevel=INFO"),
            ],
            cwd=REPO,
            env={**project_env(database), **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while not (report := run_scenario(database, "report", env=env))["receipts"]:
            if time.monotonic() > deadline:
                pytest.fail(f"the Celery worker handled nothing in 30 s:\n{log.read_text()}")
            time.sleep(0.2)
        time.sleep(0.5)  # time enough for a message that should not exist to show up
        report = run_scenario(database, "report", env=env)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    assert [(r["kind"], r["reference"], r["event_id"]) for r in report["receipts"]] == [
        ("receipt", "committed", ids["committed"])
    ]
    assert report["tasks"] == [], "the Celery transport, not the Tasks framework, carried the message"
