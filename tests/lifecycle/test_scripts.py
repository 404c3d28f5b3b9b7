"""Plain scripts (no Django) that end without draining: the queue is drained at interpreter exit."""

from __future__ import annotations

from pathlib import Path

from ._harness import assert_handled_once, program, run


def test_a_script_that_dispatches_10000_events_loses_none(tmp_path: Path) -> None:
    """A script that dispatches 10,000 events and ends has each handled exactly once."""
    run(*program("many_events"), out=tmp_path, name="script")
    assert len(assert_handled_once(tmp_path)) == 10_000


def test_a_daemon_threads_events_are_handled_at_exit(tmp_path: Path) -> None:
    """The 100 events of a daemon thread still alive at exit are handled once at exit, with the main thread's 100."""
    run(*program("daemon_thread"), out=tmp_path, name="script")
    assert len(assert_handled_once(tmp_path)) == 200
