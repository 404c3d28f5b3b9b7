"""The code examples of the documentation: README.md and every page under docs/.

A block that the suite runs follows a marker, ``<!-- test: <kind> -->``, where the kind says which
test runs it (grep the kind under tests/ to find it). The tutorial's blocks carry their own markers
(``<!-- tutorial: ... -->``, see tests/docs/test_tutorial.py). ``tests/test_docs_examples.py``
checks that no Python block is left without one.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def pages() -> list[Path]:
    """README.md and the docs' Markdown pages, in a stable order."""
    return [README, *sorted(path for path in DOCS.rglob("*.md") if "_build" not in path.parts)]


@cache
def text() -> str:
    """Every page, one after another (a marker's block never spans two pages)."""
    return "\n".join(page.read_text(encoding="utf-8") for page in pages())


def blocks(kind: str, fence: str = "python") -> list[str]:
    """The code of the blocks marked ``<!-- test: <kind> -->``, in page order."""
    pattern = re.compile(rf"<!-- test: {re.escape(kind)} -->\n```{fence}\n(.*?)```", re.DOTALL)
    return pattern.findall(text())


def block(kind: str, fence: str = "python") -> str:
    """The one block marked ``<!-- test: <kind> -->``; fails when there is not exactly one."""
    found = blocks(kind, fence)
    assert len(found) == 1, f"{len(found)} blocks are marked 'test: {kind}' in the docs, not 1"
    return found[0]
