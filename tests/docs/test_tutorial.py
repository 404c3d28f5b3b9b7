"""The tutorial (``docs/tutorial/``) works as written: its commands, its files and its output.

Every fenced example in the tutorial's pages follows a marker, an HTML comment that MyST passes
through as raw HTML (so the reader never sees it), saying what the test does with it:

``<!-- tutorial: file PATH -->``
    write the block to ``PATH`` (relative to the directory the walk is in), replacing the file.
``<!-- tutorial: file PATH edit -->``
    change the Python file ``PATH``: each top-level statement of the block replaces the
    file's top-level statement that defines the same name (an assignment, a class, a
    function) or, if none does, goes at the end; an import goes after the file's imports
    unless the file has it already.
``<!-- tutorial: run -->``
    a console session: run each ``$ `` command (``python`` is the suite's interpreter,
    ``django-admin`` is ``python -m django``, ``cd`` moves the walk), which must succeed, and
    check that the lines shown after it appear in what it printed (standard output and error,
    as a terminal shows them), in that order, and that it printed no traceback unless the page
    shows one. A line ``...`` stands for lines left out, and
    ``...`` inside a line for any text (an id, a duration).
``<!-- tutorial: installed -->``
    an installation: each requirement of its ``pip install`` lines must be installed in the
    suite's interpreter, with the version and the extras it names (a pre-release only where
    the line says ``--pre``). The other lines (a virtual environment) are the reader's own.

A marker may end with a condition on Django's version, ``django>=6`` or ``django<6``: the block
is for readers of that version, and the walk takes it only when the suite runs on it. A block
without a marker fails :func:`test_every_example_has_a_marker`, so no example escapes the walk
(a ``text`` block, which shows no code, needs none).
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

import django

TUTORIAL = Path(__file__).resolve().parent.parent.parent / "docs" / "tutorial"
COMMAND_TIMEOUT = 180
"""Seconds one command of the tutorial may take (``manage.py test`` is the slowest, at a few)."""

_MARKER = re.compile(r"<!--\s*tutorial:\s*(?P<body>.*?)\s*-->")
_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})\s*(?:\{(?P<directive>[\w-]+)\}\s*)?(?P<language>[\w+-]*)")
_CODE_DIRECTIVES = {None, "code-block", "code", "sourcecode"}
"""A fence that opens one of these is an example; another directive (a toctree, a note) is not."""
_CONDITION = re.compile(r"^django(?P<specifier>(?:>=|<=|==|>|<)\d+(?:\.\d+)*)$")


@dataclass(frozen=True)
class Marker:
    """What the walk does with a block: ``action`` (file, run, installed) and its options."""

    action: str
    path: str | None = None
    edit: bool = False
    condition: str | None = None

    @classmethod
    def parse(cls, body: str, where: str) -> Marker:
        """The marker whose comment reads ``body``; a marker that does not parse fails the test."""
        words = body.split()
        condition = None
        if words and (found := _CONDITION.match(words[-1])):
            condition = found["specifier"]
            words.pop()
        match words:
            case ["file", path]:
                return cls("file", path=path, condition=condition)
            case ["file", path, "edit"]:
                return cls("file", path=path, edit=True, condition=condition)
            case ["run"] | ["installed"]:
                return cls(words[0], condition=condition)
            case _:
                raise AssertionError(f"{where}: a tutorial marker that does not parse: {body!r}")

    def applies(self) -> bool:
        """Whether the block is for the Django version the suite runs on."""
        if self.condition is None:
            return True
        return SpecifierSet(self.condition).contains(Version(django.__version__), prereleases=True)


@dataclass(frozen=True)
class Block:
    """A fenced code block of a tutorial page, with the marker before it (if any)."""

    where: str
    language: str
    text: str
    marker: Marker | None


def pages() -> list[Path]:
    """The tutorial's pages in reading order: ``index.md``'s toctree."""
    index = (TUTORIAL / "index.md").read_text(encoding="utf-8")
    toctree = re.search(r"```\{toctree\}\n(.*?)```", index, re.DOTALL)
    assert toctree is not None, "docs/tutorial/index.md has no toctree"
    names = [line.strip() for line in toctree[1].splitlines() if line.strip() and not line.startswith(":")]
    return [TUTORIAL / "index.md", *(TUTORIAL / f"{name}.md" for name in names)]


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of ``page``, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    number = 0
    while number < len(lines):
        opening = _FENCE.match(lines[number])
        if opening is None:
            number += 1
            continue
        fence = opening["fence"]
        end = next(
            (i for i in range(number + 1, len(lines)) if lines[i].strip() == fence[0] * len(fence)),
            None,
        )
        where = f"{page.name}:{number + 1}"
        assert end is not None, f"{where}: a code block that never closes"
        previous = next((lines[i] for i in range(number - 1, -1, -1) if lines[i].strip()), "")
        marked = _MARKER.fullmatch(previous.strip())
        marker = Marker.parse(marked["body"], where) if marked else None
        if opening["directive"] in _CODE_DIRECTIVES:
            found.append(Block(where, opening["language"], "\n".join(lines[number + 1 : end]) + "\n", marker))
        number = end + 1
    return found


def all_blocks() -> list[Block]:
    return [block for page in pages() for block in blocks(page)]


# -- the walk -----------------------------------------------------------------------------------


def _environment() -> dict[str, str]:
    """The reader's environment: no settings module or pytest options of the suite's own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONUNBUFFERED"] = "1"  # output and log lines interleaved as a terminal shows them
    env["COLUMNS"] = "80"  # pytest's progress line, as wide as in the page
    return env


def _argv(command: str, where: str) -> list[str]:
    words = shlex.split(command)
    if words[0] == "python":
        return [sys.executable, *words[1:]]
    if words[0] == "django-admin":
        return [sys.executable, "-m", "django", *words[1:]]
    raise AssertionError(f"{where}: the walk does not know how to run {command!r}")


def _line_matches(expected: str, actual: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.rstrip().split("..."))
    return re.fullmatch(pattern, actual.rstrip()) is not None


def check_output(expected: list[str], output: str, where: str) -> None:
    """Each line of ``expected`` appears in ``output``, in order (``...`` lines are left out)."""
    actual = output.splitlines()
    position = 0
    for line in expected:
        if not line.strip() or line.strip() == "...":
            continue
        found = next((i for i in range(position, len(actual)) if _line_matches(line, actual[i])), None)
        assert found is not None, f"{where}: {line!r} is not in what the command printed (in order):\n{output}"
        position = found + 1


def _top_level(tree: ast.Module) -> list[tuple[ast.stmt, int, set[str]]]:
    """Each top-level statement, the line it starts on (its decorators included) and its names."""
    statements: list[tuple[ast.stmt, int, set[str]]] = []
    for node in tree.body:
        start = node.lineno
        names: set[str] = set()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            if node.decorator_list:
                start = node.decorator_list[0].lineno
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        statements.append((node, start, names))
    return statements


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def edit_python(source: str, block: str, where: str) -> str:
    """``source`` changed as the block says: see the module's docstring (``file PATH edit``)."""
    lines = source.splitlines()
    block_lines = block.splitlines()
    for node, start, names in _top_level(ast.parse(block)):
        segment = block_lines[start - 1 : node.end_lineno]
        current = _top_level(ast.parse("\n".join(lines)))
        if isinstance(node, ast.Import | ast.ImportFrom):
            imports = [other for other, _, _ in current if isinstance(other, ast.Import | ast.ImportFrom)]
            if any(ast.dump(other) == ast.dump(node) for other in imports):
                continue
            after = imports[-1].end_lineno if imports else 0
            assert after is not None
            lines[after:after] = segment
            continue
        replaced = [(other, first) for other, first, other_names in current if names and names & other_names]
        assert len(replaced) <= 1, f"{where}: {sorted(names)} is defined more than once in the file"
        if replaced:
            other, first = replaced[0]
            assert other.end_lineno is not None
            lines[first - 1 : other.end_lineno] = segment
        else:
            while lines and not lines[-1].strip():
                lines.pop()
            last = current[-1][0] if current else None
            gap = ["", ""] if any(isinstance(stmt, _DEFINITIONS) for stmt in (node, last)) else []
            lines.extend([*gap, *segment])
    edited = "\n".join(lines) + "\n"
    ast.parse(edited)  # still Python
    return edited


def check_installed(requirement: Requirement, pre: bool, where: str) -> None:
    """``requirement`` is installed, at a version it allows, with the requirements of its extras."""
    try:
        version = Version(importlib.metadata.version(requirement.name))
    except importlib.metadata.PackageNotFoundError:
        raise AssertionError(f"{where}: {requirement} is not installed in {sys.executable}") from None
    assert requirement.specifier.contains(version, prereleases=True), f"{where}: {requirement.name} is {version}"
    assert pre or not version.is_prerelease, f"{where}: {requirement.name} {version} needs pip's --pre"
    for extra in requirement.extras:
        needed = [Requirement(text) for text in importlib.metadata.requires(requirement.name) or []]
        wanted = [need for need in needed if need.marker is not None and need.marker.evaluate({"extra": extra})]
        assert wanted, f"{where}: {requirement.name} has no extra {extra!r}"
        for need in wanted:
            need.marker = None
            check_installed(need, pre=True, where=where)


class Walk:
    """The reader, going through the tutorial's blocks one after another in a directory of their own."""

    def __init__(self, directory: Path) -> None:
        self.cwd = directory
        self.env = _environment()
        self.commands = 0

    def take(self, block: Block) -> None:
        marker = block.marker
        assert marker is not None
        if marker.action == "file":
            assert marker.path is not None
            self.write(Path(marker.path), block, edit=marker.edit)
        elif marker.action == "run":
            self.run(block)
        else:
            self.installed(block)

    def write(self, path: Path, block: Block, *, edit: bool) -> None:
        target = self.cwd / path
        if edit:
            assert target.is_file(), f"{block.where}: {path} does not exist yet, so it cannot be edited"
            target.write_text(edit_python(target.read_text(encoding="utf-8"), block.text, block.where), "utf-8")
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text, encoding="utf-8")

    def run(self, block: Block) -> None:
        session: list[tuple[str, list[str]]] = []
        for line in block.text.splitlines():
            if line.startswith("$ "):
                session.append((line[2:], []))
            else:
                assert session, f"{block.where}: output before any command"
                session[-1][1].append(line)
        assert session, f"{block.where}: a run block without a command"
        for command, expected in session:
            where = f"{block.where} ({command})"
            if command.startswith("cd "):
                self.cwd = self.cwd / command[3:].strip()
                assert self.cwd.is_dir(), f"{where}: no such directory"
                assert not [line for line in expected if line.strip()], f"{where}: cd prints nothing"
                continue
            result = subprocess.run(
                _argv(command, where),
                cwd=self.cwd,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
            self.commands += 1
            assert result.returncode == 0, f"{where}: exit code {result.returncode}\n{result.stdout}"
            if not any(line.startswith("Traceback") for line in expected):
                assert "Traceback" not in result.stdout, f"{where}: a traceback the page does not show\n{result.stdout}"
            check_output(expected, result.stdout, where)

    def installed(self, block: Block) -> None:
        for line in block.text.splitlines():
            words = shlex.split(line[2:]) if line.startswith("$ ") else []
            if "pip" not in words or "install" not in words:
                continue
            options = words[words.index("install") + 1 :]
            for word in options:
                if not word.startswith("-"):
                    check_installed(Requirement(word), pre="--pre" in options, where=block.where)


# -- the tests ----------------------------------------------------------------------------------


def test_every_page_is_in_the_toctree() -> None:
    """Each page of docs/tutorial/ is a part of the tutorial, listed in its index."""
    assert sorted(pages()) == sorted(TUTORIAL.glob("*.md"))


def test_every_example_has_a_marker() -> None:
    """No code block of the tutorial escapes the walk: each one but a ``text`` block has a marker."""
    unmarked = [block.where for block in all_blocks() if block.marker is None and block.language != "text"]
    assert unmarked == [], f"code blocks without a '<!-- tutorial: ... -->' marker: {unmarked}"


def test_the_tutorial_has_examples_for_this_django() -> None:
    """The walk has commands to run and files to write on this Django version (the markers were found)."""
    taken = [block.marker for block in all_blocks() if block.marker is not None and block.marker.applies()]
    actions = [marker.action for marker in taken]
    assert actions.count("run") >= 10
    assert actions.count("file") >= 10
    conditions = {block.marker.condition for block in all_blocks() if block.marker is not None}
    assert {">=6", "<6"} <= conditions  # both Django versions are shown where they differ


@pytest.mark.slow
def test_the_tutorial_runs_as_written(tmp_path: Path) -> None:
    """Following every block in order, from an empty directory, prints what the pages show."""
    walk = Walk(tmp_path)
    for block in all_blocks():
        if block.marker is not None and block.marker.applies():
            walk.take(block)
    assert walk.commands >= 10
    assert (tmp_path / "shop" / "db.sqlite3").is_file()


def test_an_edit_replaces_definitions_and_appends_the_rest() -> None:
    """``file PATH edit`` replaces what the block redefines, keeps the rest, and adds imports once."""
    source = "import os\n\nA = 1\nB = [\n    2,\n]\n\n\nclass C:\n    pass\n"
    block = "import os\nimport re\n\nB = [3]\nD = 4\n\n\n@decorated\nclass C:\n    x = 1\n\n\ndef f():\n    pass\n"
    edited = edit_python(source, block, "example")
    assert edited == (
        "import os\nimport re\n\nA = 1\nB = [3]\n\n\n@decorated\nclass C:\n    x = 1\n\n\n"
        "D = 4\n\n\ndef f():\n    pass\n"
    )


def test_output_lines_match_in_order_with_ellipses() -> None:
    """Shown lines must appear in order; ``...`` stands for any text, and a ``...`` line for left-out lines."""
    output = "noise\nRan 3 tests in 0.05s\n\nOK\n"
    check_output(["Ran 3 tests in ...", "...", "OK"], output, "example")
    with pytest.raises(AssertionError, match="is not in what the command printed"):
        check_output(["OK", "Ran 3 tests in ..."], output, "example")
    with pytest.raises(AssertionError, match="is not in what the command printed"):
        check_output(["Ran 4 tests in ..."], output, "example")


def test_an_installation_is_checked_against_what_is_installed() -> None:
    """A requirement, its extras and a pre-release without ``--pre`` are each checked."""
    check_installed(Requirement("django>=5.2"), pre=True, where="example")
    if Version(importlib.metadata.version("django-event-system")).is_prerelease:
        with pytest.raises(AssertionError, match="needs pip's --pre"):
            check_installed(Requirement("django-event-system"), pre=False, where="example")
    with pytest.raises(AssertionError, match="is not installed"):
        check_installed(Requirement("no-such-distribution-here"), pre=True, where="example")
    with pytest.raises(AssertionError, match="has no extra"):
        check_installed(Requirement("django-event-system[no-such-extra]"), pre=True, where="example")
    with pytest.raises(AssertionError, match="django is"):
        check_installed(Requirement("django<5"), pre=True, where="example")


@pytest.mark.parametrize("body", ["file", "file a.py append", "run django~=6", "copy a.py"])
def test_a_marker_that_does_not_parse_fails(body: str) -> None:
    """A misspelt marker stops the walk instead of leaving its block out."""
    with pytest.raises(AssertionError, match="does not parse"):
        Marker.parse(body, "example")


def test_a_condition_follows_the_django_version() -> None:
    """``django>=6`` and ``django<6`` blocks are taken on their Django version only."""
    on_six = django.VERSION >= (6,)
    assert Marker.parse("run django>=6", "example").applies() is on_six
    assert Marker.parse("run django<6", "example").applies() is not on_six
    assert Marker.parse("file a.py edit django<6", "example") == Marker("file", "a.py", edit=True, condition="<6")
