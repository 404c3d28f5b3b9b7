"""``concurrent.futures.ThreadPoolExecutor``: tasks dispatch in pool threads, which end at shutdown.

One run of ``programs/executor.py`` (201 pools, four tasks each) serves every test here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ._harness import FD_SLACK, assert_handled_once, dispatched, program, result, run


@pytest.fixture(scope="module")
def pools(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """The directory of the run and what it reported."""
    out = tmp_path_factory.mktemp("executor")
    return out, result(run(*program("executor"), out=out, name="executor"))


def test_events_are_handled_once_the_pools_are_shut_down(pools: tuple[Path, Any]) -> None:
    """Every event the pools' tasks dispatched is handled by the time the last pool is shut down, plus 10 s at most."""
    out, report = pools
    count = len(dispatched(out))
    assert report["handled"] == count, f"{report['handled']} of {count} events handled within 10 s of the last shutdown"


def test_each_event_is_handled_exactly_once(pools: tuple[Path, Any]) -> None:
    """By the time the program has exited, each of the 804 events was handled exactly once."""
    out, _ = pools
    assert len(assert_handled_once(out)) == 804


def test_ended_pool_threads_leave_no_descriptors_behind(pools: tuple[Path, Any]) -> None:
    """The open descriptors after the last of 201 pools are as many as after the first."""
    _, report = pools
    first, last = report["fds_after_first"], report["fds_after_last"]
    assert last <= first + FD_SLACK, f"open descriptors: {first} after the first pool, {last} after the last"
