"""The README's examples marked ``<!-- test: core -->`` run as written, each in a fresh interpreter."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

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
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
