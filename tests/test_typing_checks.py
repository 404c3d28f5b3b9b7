"""The must-fail lines of the typing checks are the same for mypy and pyright, and can fail.

``scripts/test`` runs both checkers over the check files. A must-fail line carries one comment
per checker, ``# type: ignore[code]`` (mypy) and ``# pyright: ignore[rule]``, each naming the
error it expects. mypy's ``warn_unused_ignores`` and pyright's
``reportUnnecessaryTypeIgnoreComment`` report a comment that suppresses nothing (the line no
longer fails, or fails for another reason, which is then reported as well). This test keeps the
two sets of lines the same and the configuration that makes the comments checks.
"""

from __future__ import annotations

import configparser
import re
import sys
import tokenize
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
CHECK_FILES = [*sorted((ROOT / "tests" / "typing").glob("check_*.py")), ROOT / "tests" / "django" / "check_types.py"]

_MYPY = re.compile(r"# type: ignore\[([a-z0-9-]+(?:, *[a-z0-9-]+)*)\]")
_PYRIGHT = re.compile(r"# pyright: ignore\[([A-Za-z]+(?:, *[A-Za-z]+)*)\]")


def must_fail_lines(path: Path) -> tuple[dict[int, str], dict[int, str]]:
    """The lines that each checker must reject, with the codes (mypy) and rules (pyright) expected."""
    mypy: dict[int, str] = {}
    pyright: dict[int, str] = {}
    with path.open("rb") as source:
        for token in tokenize.tokenize(source.readline):
            if token.type != tokenize.COMMENT:
                continue
            if match := _MYPY.search(token.string):
                mypy[token.start[0]] = match.group(1)
            if match := _PYRIGHT.search(token.string):
                pyright[token.start[0]] = match.group(1)
    return mypy, pyright


@pytest.mark.parametrize("path", CHECK_FILES, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_each_must_fail_line_is_expected_to_fail_in_both_checkers(path: Path) -> None:
    mypy, pyright = must_fail_lines(path)
    assert sorted(mypy) == sorted(pyright), (
        f"{path.name}: lines failing for mypy only: {sorted(set(mypy) - set(pyright))}; "
        f"for pyright only: {sorted(set(pyright) - set(mypy))}"
    )
    text = path.read_text()
    assert "# type: ignore\n" not in text, "a bare ignore expects no error code"
    assert "# type: ignore  " not in text, "a bare ignore expects no error code"
    assert "# pyright: ignore\n" not in text, "a bare ignore expects no rule"


def test_the_checkers_report_a_must_fail_line_that_does_not_fail() -> None:
    mypy_ini = configparser.ConfigParser()
    mypy_ini.read(ROOT / "mypy.ini")
    assert mypy_ini.getboolean("mypy", "warn_unused_ignores")
    assert mypy_ini.getboolean("mypy", "strict")
    assert "tests" in mypy_ini.get("mypy", "files")
    pyright = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pyright"]
    assert pyright["typeCheckingMode"] == "strict"
    assert pyright["reportUnnecessaryTypeIgnoreComment"] == "error"
    # Else pyright would honour mypy's comments, whatever error they name.
    assert pyright["enableTypeIgnoreComments"] is False
    for path in CHECK_FILES:
        relative = path.relative_to(ROOT).as_posix()
        assert any(relative == entry or relative.startswith(f"{entry}/") for entry in pyright["include"]), relative
