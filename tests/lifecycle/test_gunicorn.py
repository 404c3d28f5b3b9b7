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
    Program,
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


def serve_requests(command: list[str], out: Path, ids: list[str], *, importers: int) -> Program:
    """Start gunicorn, wait until ``importers`` processes dispatched the app's start-up events, make
    a request that dispatches each of ``ids``, wait until each is handled, then stop it with SIGTERM."""
    with started(*command, out=out, name="gunicorn", env={START_UP_EVENTS: str(START_UP)}) as master:
        master.serving(LISTENING)
        wait_for(lambda: len(dispatched(out)) == START_UP * importers, "the app to be imported")
        for event_id in ids:
            assert master.get(f"/dispatch/?name={event_id}") == "dispatched"
        wait_until_handled(out, ids, f"the events of {len(ids)} requests")
        code = master.stop()
    if code != 0:
        master.fail(f"exited with {code} after SIGTERM")
    return master


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
    master = serve_requests(command, tmp_path, ids, importers=1 if preload else 2)
    importing = set(dispatched(tmp_path).values())
    if preload:
        assert importing == {master.pid}, "with --preload only the master imports the app"
    else:
        assert len(importing) == 2, "without --preload each worker imports the app"
        assert master.pid not in importing, "without --preload the master never imports the app"
    assert_handled_once(tmp_path, ids)


# Appended to the configuration file: the master, once the app is preloaded, writes down whether
# gevent had patched it by then.
PATCHED_HOOK = """

def when_ready(server):
    import gevent.monkey

    with open({path!r}, "w") as record:
        record.write(str(gevent.monkey.is_module_patched("socket")))
"""


@pytest.mark.slow
@pytest.mark.parametrize("patched", [True, False], ids=["as-documented", "without-the-patch"])
def test_the_docs_configuration_file_patches_before_the_app_is_preloaded(tmp_path: Path, patched: bool) -> None:
    """The serving guide's ``gunicorn.conf.py`` (patch first, gevent workers, ``--preload``): the master
    imports the app once, already patched, and every event is handled once. The same file without
    its two patch lines preloads the app unpatched (what the guide warns of), events still once."""
    require_module("gunicorn")
    code = block("gunicorn-conf")
    if not patched:
        code = code.replace("from gevent import monkey\n\nmonkey.patch_all()\n", "")
        assert "patch_all" not in code
    config = tmp_path / "gunicorn.conf.py"
    config.write_text(code + PATCHED_HOOK.format(path=str(tmp_path / "patched")), encoding="utf-8")
    command = [
        *("-m", "gunicorn", "--config", str(config), "--workers", "2", "--bind", "127.0.0.1:0"),
        *("--graceful-timeout", "10", "tests.lifecycle.project.wsgi:application"),
    ]
    ids = [f"configured-request-{number}" for number in range(20)]
    master = serve_requests(command, tmp_path, ids, importers=1)
    assert set(dispatched(tmp_path).values()) == {master.pid}, "with preload_app only the master imports the app"
    assert (tmp_path / "patched").read_text() == str(patched)
    assert_handled_once(tmp_path, ids)
