"""The architecture: the import-linter contracts hold, catch what they forbid, and ARCHITECTURE.md is true."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from tests.scripts import run_python

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "django_event_system"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
DOC = (ROOT / "ARCHITECTURE.md").read_text()


def lint_imports(root: Path, src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_contracts_are_kept() -> None:
    """Every import-linter contract in pyproject.toml is kept by the package as it is."""
    result = lint_imports(ROOT, ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 kept, 0 broken" in result.stdout


def test_the_contracts_catch_what_they_forbid(tmp_path: Path) -> None:
    """A copy of the package with one violation of each kind breaks each contract, naming the import."""
    copy = tmp_path / "src" / "django_event_system"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (copy / "core" / "_names.py").open("a") as names:
        names.write("\nimport django  # a core module importing Django\n")
    with (copy / "core" / "_errors.py").open("a") as errors:
        errors.write("\nfrom . import _dispatcher  # closes a cycle: the dispatcher imports the errors\n")
    with (copy / "testing" / "_fakes.py").open("a") as fakes:
        fakes.write("\nfrom ..core._registry import PatternRegistry  # a private core module\n")
    with (copy / "core" / "_handlers.py").open("a") as handlers:
        handlers.write("\nfrom ..django import Observer  # the core reaching up a layer\n")
    with (copy / "django" / "_checks.py").open("a") as checks:
        checks.write("\nimport debug_toolbar  # an optional extra, imported by the adapter\n")
    result = lint_imports(tmp_path, tmp_path / "src")
    output = result.stdout
    assert result.returncode == 1, output + result.stderr
    assert "0 kept, 5 broken" in output
    assert re.search(r"django_event_system\.core\._names -> django\b", output)
    assert "django_event_system.testing._fakes -> django_event_system.core._registry" in output
    assert "django_event_system.core._handlers -> django_event_system.django" in output
    assert "No cycles are allowed in django_event_system.core" in output
    assert re.search(r"django_event_system\.django\._checks -> debug_toolbar\b", output)


GROUPED = ("migrations/", "management/")
"""Folders whose files Django finds by convention: ARCHITECTURE.md names each one file or folder."""


def package_modules() -> set[str]:
    """Every module of the package, as a path relative to it; a grouped folder's files count once."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        group = next((folder for folder in GROUPED if relative.startswith(folder)), None)
        found.add(group if group and relative != "management/commands/events.py" else relative)
    return found


def documented_modules() -> set[str]:
    """The modules that ARCHITECTURE.md lists, as paths relative to the package."""
    found = set()
    folder = ""
    for line in DOC.splitlines():
        heading = re.match(r"^`([a-z_/]+/)`", line)
        if heading:
            folder = heading.group(1)
        elif line.startswith("The package root"):
            folder = ""
        item = re.match(r"^- `([A-Za-z_/.]+)`:", line)
        if item and (not item.group(1).endswith("/") or item.group(1) in GROUPED):
            found.add(folder + item.group(1))
    return found


def test_architecture_md_names_every_module_and_only_those() -> None:
    """Adding, moving or removing a module means saying so in ARCHITECTURE.md."""
    documented = documented_modules()
    modules = package_modules()
    assert sorted(modules - documented) == [], "modules missing from ARCHITECTURE.md"
    assert sorted(documented - modules) == [], "ARCHITECTURE.md names modules that do not exist"


def test_core_modules_are_listed_in_an_order_they_import_in() -> None:
    """Each core module listed imports only modules listed before it (TYPE_CHECKING imports included)."""
    block = DOC.split("`core/`, in the order")[1].split("`core/queued/`")[0]
    order = [
        "django_event_system.core." + name.removesuffix(".py").removesuffix("/").replace("/", ".")
        for name in re.findall(r"^- `([a-z_/.]+)`:", block, re.MULTILINE)
    ]
    order = [name.removesuffix(".__init__") for name in order]
    graph = grimp.build_graph("django_event_system")
    listed = set(order)
    late: list[str] = []
    for position, module in enumerate(order):
        earlier = set(order[:position])
        imported = {
            name
            for name in graph.find_modules_directly_imported_by(module)
            | (
                set().union(*(graph.find_modules_directly_imported_by(m) for m in graph.find_descendants(module)))
                if graph.find_children(module)
                else set()
            )
            if name.startswith("django_event_system.core.")
        }
        top = {".".join(name.split(".")[:3]) for name in imported} & listed
        late.extend(f"{module} imports {name}" for name in sorted(top - earlier - {module}))
    assert late == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("django_event_system.celery", "django_event_system.transports.celery"),
        ("django_event_system.django.tasks", "django_event_system.transports.tasks"),
    ],
)
def test_moved_modules_keep_their_old_path_with_a_deprecation_warning(old: str, new: str) -> None:
    """The old import path still gives the same objects, and warns where the module went."""
    code = (
        "import warnings, importlib\n"
        "import django\n"
        "from django.conf import settings\n"
        "settings.configure(INSTALLED_APPS=['django_tasks'], TASKS={'default': "
        "{'BACKEND': 'django_tasks.backends.immediate.ImmediateBackend'}})\n"
        "django.setup()\n"
        f"new = importlib.import_module({new!r})\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        f"    old = importlib.import_module({old!r})\n"
        "assert all(getattr(old, name) is getattr(new, name) for name in new.__all__), 'not the same objects'\n"
        "print([str(w.message) for w in caught if w.category is DeprecationWarning])\n"
    )
    result = run_python("-c", code, cwd=ROOT, timeout=120)
    assert f"{old} moved to {new}; import it from there" in result.stdout
