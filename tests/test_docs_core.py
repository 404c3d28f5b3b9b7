"""The documentation's examples marked ``<!-- test: core -->`` run as written, each in a fresh interpreter."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.examples import blocks
from tests.scripts import run_script


def _blocks() -> list[str]:
    return blocks("core")


def test_the_docs_have_core_examples() -> None:
    """The docs keep their runnable core examples (the marker is not lost in an edit)."""
    assert len(_blocks()) >= 7


@pytest.mark.parametrize("code", _blocks(), ids=lambda code: code.strip().splitlines()[-1][:50])
def test_core_example_runs(code: str, tmp_path: Path) -> None:
    """The example exits cleanly and logs no error."""
    run_script(code, tmp_path, timeout=60, name="example.py", allow_tracebacks=False)
