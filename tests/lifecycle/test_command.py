"""A management command that dispatches and returns: its events are handled when the process exits."""

from __future__ import annotations

from pathlib import Path

from ._harness import assert_handled_once, run


def test_a_commands_events_are_handled_once_at_exit(tmp_path: Path) -> None:
    """``manage.py dispatch_events 100`` returns without draining, and each of its 100 events is handled once, by it."""
    run("-m", "django", "dispatch_events", "100", out=tmp_path, name="manage")
    assert len(assert_handled_once(tmp_path)) == 100
