"""Every Python example of the docs runs in the suite: each block carries a marker that a test reads.

A block follows ``<!-- test: <kind> -->`` (the kind names the test that runs it) or, in the
tutorial, ``<!-- tutorial: ... -->`` (tests/docs/test_tutorial.py follows the tutorial as a whole).
The one exception is listed here with its reason.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.examples import DOCS, ROOT, pages

TESTS = ROOT / "tests"
MARKER = re.compile(r"<!-- (test|tutorial|not run): ?(.*?) -->")
NOT_RUN = {
    "three libraries side by side, without their imports; the Observer's hook runs in the examples above",
}


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """``(line number, the line before)`` of every Python code block of a page."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[tuple[int, str]] = []
    inside = False
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            if not inside and line.strip() in ("```python", "```py", "```{code-block} python"):
                found.append((number, lines[number - 2] if number > 1 else ""))
            inside = not inside if line.strip() == "```" or not inside else inside
    return found


def consumed_kinds() -> str:
    """The text of the tests that read the markers."""
    this = Path(__file__).resolve()
    return "\n".join(path.read_text(encoding="utf-8") for path in TESTS.rglob("*.py") if path.resolve() != this)


def test_the_docs_have_pages() -> None:
    """The finder sees the docs' pages: a guide, a how-to, the tutorial (not a check that finds nothing)."""
    found = {path.relative_to(ROOT).as_posix() for path in pages()}
    assert {"README.md", "docs/index.md", "docs/howto/testing.md", "docs/guide/observers.md"} <= found
    assert len(found) > 25


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_python_block_is_run_by_a_test(page: Path) -> None:
    """Each Python block has a marker; a ``test:`` kind is read by a test; a ``tutorial:`` block is
    in the tutorial; an unrun block is the listed exception."""
    tests = consumed_kinds()
    problems = []
    for number, before in python_blocks(page):
        marker = MARKER.fullmatch(before.strip())
        where = f"{page.relative_to(ROOT)}:{number}"
        if marker is None:
            problems.append(f"{where}: no '<!-- test: <kind> -->' marker before the block")
        elif marker.group(1) == "test":
            kind = marker.group(2).split()[0]
            if f'"{kind}' not in tests and f"test: {kind}" not in tests:
                problems.append(f"{where}: no test reads the kind {kind!r}")
        elif marker.group(1) == "tutorial":
            if DOCS / "tutorial" not in page.parents:
                problems.append(f"{where}: a tutorial marker outside the tutorial")
        elif marker.group(2) not in NOT_RUN:
            problems.append(f"{where}: not run, for a reason not listed in {__name__}: {marker.group(2)!r}")
    assert problems == []


def test_an_unmarked_block_is_found(tmp_path: Path) -> None:
    """The check is a real one: a block without a marker, or with a kind no test reads, is reported."""
    page = tmp_path / "page.md"
    page.write_text("Text.\n\n```python\nprint(1)\n```\n\n<!-- test: nobody-reads-this -->\n```python\nx = 1\n```\n")
    blocks = python_blocks(page)
    assert [number for number, _ in blocks] == [3, 8]
    assert MARKER.fullmatch(blocks[0][1].strip()) is None
    marker = MARKER.fullmatch(blocks[1][1].strip())
    assert marker is not None
    assert '"nobody-reads-this' not in consumed_kinds()
