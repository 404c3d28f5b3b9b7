"""A plain ``os.fork()``: the child starts with an empty queue; the parent keeps its events."""

from __future__ import annotations

from pathlib import Path

from ._harness import assert_handled_once, program, result, run


def fork(tmp_path: Path, case: str) -> dict[str, int | None]:
    """Run ``programs/fork.py case``; fail unless the child exited by itself, with 0."""
    report: dict[str, int | None] = result(run(*program("fork"), case, out=tmp_path, name="fork"))
    assert report["status"] is not None, f"the child (pid {report['child']}) was still running 10 s after the fork"
    assert report["status"] == 0, f"the child exited with {report['status']}"
    return report


def test_events_queued_before_a_fork_are_handled_by_the_parent_only(tmp_path: Path) -> None:
    """The five events queued before the fork are handled once, by the parent; the child's two, once, by the child."""
    fork(tmp_path, "queued")
    assert len(assert_handled_once(tmp_path)) == 7


def test_a_child_forked_while_the_bridge_thread_runs_exits(tmp_path: Path) -> None:
    """A child forked after an event loop in another thread dispatched exits by itself, having handled its events."""
    fork(tmp_path, "bridge")
    assert len(assert_handled_once(tmp_path)) == 3
