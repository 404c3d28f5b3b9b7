"""Run Python in a fresh interpreter, for tests of what happens across a process's life."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path


def run_python(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
    returncode: int | None = 0,
) -> subprocess.CompletedProcess[str]:
    """Run ``python <args>`` to its end and return what it did, its output captured as text.

    The test fails if the interpreter does not exit with ``returncode`` (``None``: any code, the
    caller checks it) within ``timeout`` seconds; ``subprocess.TimeoutExpired`` kills it, so a
    hang is a failure, not a stuck run. ``cwd`` and ``env`` default to this process's.
    """
    result = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
        check=False,
    )
    if returncode is not None:
        assert result.returncode == returncode, (
            f"exit code {result.returncode}, not {returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


def write_script(code: str, directory: Path, name: str = "script.py") -> Path:
    """Write ``code``, dedented, to ``directory / name`` and return the file's path."""
    script = directory / name
    script.write_text(textwrap.dedent(code), encoding="utf-8")
    return script


def run_script(
    code: str,
    tmp_path: Path,
    timeout: float = 120,
    *,
    returncode: int = 0,
    name: str = "script.py",
    allow_tracebacks: bool = True,
) -> str:
    """Run ``code`` as a script in ``tmp_path`` in a fresh interpreter (warnings are errors); its standard output.

    As :func:`run_python`, the test fails unless it exits with ``returncode`` within ``timeout``
    seconds. With ``allow_tracebacks=False`` it also fails if standard error holds a traceback (of an
    error that a handler raised and the dispatcher logged, for instance).
    """
    script = write_script(code, tmp_path, name)
    result = run_python("-W", "error", str(script), cwd=tmp_path, timeout=timeout, returncode=returncode)
    if not allow_tracebacks:
        assert "Traceback" not in result.stderr, result.stderr
    return result.stdout
