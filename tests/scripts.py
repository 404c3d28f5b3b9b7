"""Run a piece of Python in a fresh interpreter, for tests of what happens across a process's life."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def run_script(code: str, tmp_path: Path, timeout: float = 120, *, returncode: int = 0) -> str:
    """Run ``code`` in a fresh interpreter (warnings are errors) and return its standard output.

    The test fails if the interpreter does not exit with ``returncode`` within ``timeout`` seconds
    (``subprocess.TimeoutExpired`` kills it), so a hang is a failure, not a stuck run.
    """
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    result = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == returncode, f"exit code {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout
