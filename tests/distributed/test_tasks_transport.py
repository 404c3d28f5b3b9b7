"""The Tasks framework transport on the real PostgreSQL, with the django-tasks database worker.

The Django project of these tests (``tasks_settings``) runs in subprocesses: one dispatches,
``manage.py db_worker`` handles the tasks, another reports what is in the database.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.distributed.conftest import kill, run_scenario, start_db_worker

pytestmark = pytest.mark.slow


def test_the_database_worker_handles_queued_events_after_commit_with_retries(database: str, tmp_path: Path) -> None:
    """Committed: handled once; rolled back: never enqueued; failing: retried then failed(); forged or gone: refused."""
    ids = run_scenario(database, "dispatch")
    log = tmp_path / "worker.log"
    worker = start_db_worker(database, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            report = run_scenario(database, "report")
            if any(receipt["kind"] == "failed" for receipt in report["receipts"]):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"the worker did not finish in 30 s:\n{log.read_text()}\n{report}")
            time.sleep(0.2)
    finally:
        kill(worker)
    receipts = [(r["kind"], r["reference"], r["event_id"], r["attempt"]) for r in report["receipts"]]
    assert receipts == [
        ("receipt", "committed", ids["committed"], 0),
        ("try", "doomed", ids["doomed"], 0),
        ("try", "doomed", ids["doomed"], 1),
        ("try", "doomed", ids["doomed"], 2),
        ("failed", "doomed", ids["doomed"], 2),
    ]
    by_event: dict[str, list[str]] = {}
    for task in report["tasks"]:
        body = task["args"][0]
        event_id = json.loads(body)["id"] if body.startswith('{"v":1') else body
        by_event.setdefault(event_id, []).append(task["return_value"])
    assert ids["rolled_back"] not in by_event, "a rolled-back transaction enqueues nothing"
    assert by_event[ids["committed"]] == ["done"]
    assert by_event[ids["doomed"]] == ["retry", "retry", "failed"]
    assert by_event[ids["gone"]] == ["rejected"]
    assert sorted(value for key, values in by_event.items() if key not in ids.values() for value in values) == [
        "rejected",
        "rejected",
    ]
    assert "the tasksapp.Order row with pk" in log.read_text()
    assert "the body is not JSON" in log.read_text()
