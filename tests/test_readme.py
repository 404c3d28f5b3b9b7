"""The README's examples marked ``<!-- test: core -->`` run as written, each in a fresh interpreter."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.scripts import run_script

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"<!-- test: core -->\n```python\n(.*?)```", re.DOTALL)


def _blocks() -> list[str]:
    return _BLOCK.findall(README.read_text(encoding="utf-8"))


def test_readme_has_core_examples() -> None:
    """The README keeps its runnable core examples (the marker is not lost in an edit)."""
    assert len(_blocks()) >= 7


@pytest.mark.parametrize("code", _blocks(), ids=lambda code: code.strip().splitlines()[-1][:50])
def test_readme_example_runs(code: str, tmp_path: Path) -> None:
    """The example exits cleanly and logs no error."""
    run_script(code, tmp_path, timeout=60, name="example.py", allow_tracebacks=False)
