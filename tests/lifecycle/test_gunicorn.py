"""gunicorn's sync, gthread and gevent workers, with the app imported by each worker or preloaded.

The app module dispatches three events when it is imported: with ``--preload`` the master imports
it before it forks its two workers. The gevent worker is monkey-patched; the others drain at the
end of each request. gunicorn is stopped with SIGTERM to its master.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.examples import block

from ._harness import (
    START_UP_EVENTS,
    assert_handled_once,
    dispatched,
    require_module,
    started,
    wait_for,
    wait_until_handled,
)

WORKERS = {
    "sync": ("--worker-class", "sync"),
    "gthread": ("--worker-class", "gthread", "--threads", "4"),
    "gevent": ("--worker-class", "gevent"),
}
LISTENING = r"Listening at: (http://127\.0\.0\.1:\d+)"
START_UP = 3


@pytest.mark.slow
@pytest.mark.parametrize("preload", [False, True], ids=["imported-by-workers", "preloaded"])
@pytest.mark.parametrize("worker", sorted(WORKERS))
def test_each_event_is_handled_once_across_master_and_workers(tmp_path: Path, worker: str, preload: bool) -> None:
    """Each event of 20 requests, and each the app dispatched when imported, is handled once, by its own process."""
    require_module("gunicorn")
    command = [
        *("-m", "gunicorn", *WORKERS[worker], "--workers", "2", "--bind", "127.0.0.1:0", "--graceful-timeout", "10"),
        *(["--preload"] if preload else []),
        "tests.lifecycle.project.wsgi:application",
    ]
    ids = [f"{worker}-request-{number}" for number in range(20)]
    with started(*command, out=tmp_path, name="gunicorn", env={START_UP_EVENTS: str(START_UP)}) as master:
        master.serving(LISTENING)
        importers = 1 if preload else 2
        wait_for(lambda: len(dispatched(tmp_path)) == START_UP * importers, "the app to be imported")
        for event_id in ids:
            assert master.get(f"/dispatch/?name={event_id}") == "dispatched"
        wait_until_handled(tmp_path, ids, "the events of 20 requests")
        code = master.stop()
    if code != 0:
        master.fail(f"exited with {code} after SIGTERM")
    importing = set(dispatched(tmp_path).values())
    if preload:
        assert importing == {master.pid}, "with --preload only the master imports the app"
    else:
        assert len(importing) == 2, "without --preload each worker imports the app"
        assert master.pid not in importing, "without --preload the master never imports the app"
    assert_handled_once(tmp_path, ids)


@pytest.mark.slow
def test_the_docs_configuration_file_patches_before_the_app_is_preloaded(tmp_path: Path) -> None:
    """The serving guide's ``gunicorn.conf.py`` (patch first, gevent workers, ``--preload``): the master
    imports the app once, patched, and every event is handled once."""
    require_module("gunicorn")
    config = tmp_path / "gunicorn.conf.py"
    config.write_text(block("gunicorn-conf"), encoding="utf-8")
    command = [
        *("-m", "gunicorn", "--config", str(config), "--workers", "2", "--bind", "127.0.0.1:0"),
        *("--graceful-timeout", "10", "tests.lifecycle.project.wsgi:application"),
    ]
    ids = [f"configured-request-{number}" for number in range(20)]
    with started(*command, out=tmp_path, name="gunicorn", env={START_UP_EVENTS: str(START_UP)}) as master:
        master.serving(LISTENING)
        wait_for(lambda: len(dispatched(tmp_path)) == START_UP, "the app to be preloaded")
        for event_id in ids:
            assert master.get(f"/dispatch/?name={event_id}") == "dispatched"
        wait_until_handled(tmp_path, ids, "the events of 20 requests")
        code = master.stop()
    if code != 0:
        master.fail(f"exited with {code} after SIGTERM")
    assert set(dispatched(tmp_path).values()) == {master.pid}, "with preload_app only the master imports the app"
    assert "MonkeyPatchWarning" not in master.output()
    assert_handled_once(tmp_path, ids)
