"""The API reference (docs/reference/) documents every public name, setting, check id and
``manage.py events`` subcommand, so that none lands undocumented; the intersphinx inventories
that the site links through are there and load."""

from __future__ import annotations

import argparse
import importlib
import re
import runpy
import warnings
from pathlib import Path
from types import ModuleType

import pytest
from sphinx.util.inventory import InventoryFile

from django_event_system.django import EventsCommand
from django_event_system.django._queued import QUEUED_DEFAULTS
from django_event_system.django._settings import OPTIONS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
REFERENCE = DOCS / "reference"
SOURCE = ROOT / "src" / "django_event_system"

# Every module a user imports names from (the private ones, `_x.py`, are not). A new public
# module goes here.
PUBLIC_MODULES = [
    "django_event_system",
    "django_event_system.admin",
    "django_event_system.apps",
    "django_event_system.celery",
    "django_event_system.channels",
    "django_event_system.core",
    "django_event_system.core.integration",
    "django_event_system.core.queued",
    "django_event_system.debug_toolbar",
    "django_event_system.django",
    "django_event_system.django.tasks",
    "django_event_system.events",
    "django_event_system.management.commands.events",
    "django_event_system.models",
    "django_event_system.testing",
    "django_event_system.testing.plugin",
    "django_event_system.transports.celery",
    "django_event_system.transports.tasks",
]

# `.. autoclass:: django_event_system.Event`, `.. py:module:: ...`, in the pages' eval-rst blocks.
DIRECTIVE = re.compile(r"^\.\. (?:auto\w+|py:\w+):: ([\w.]+)", re.MULTILINE)
_MISSING = object()


def _import(name: str) -> ModuleType:
    with warnings.catch_warnings():
        # The deprecated paths warn when imported.
        warnings.simplefilter("ignore", DeprecationWarning)
        return importlib.import_module(name)


def _page(name: str) -> str:
    return (REFERENCE / name).read_text()


def _documented() -> set[str]:
    return {match for page in REFERENCE.rglob("*.md") for match in DIRECTIVE.findall(page.read_text())}


def _resolve(dotted: str) -> object:
    """The object a documented dotted name stands for: a module, or a name in the longest importable module."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value: object = _import(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            value = getattr(value, part, _MISSING)
        return value
    return _MISSING


def _public_names() -> list[tuple[str, str]]:
    return [(module, name) for module in PUBLIC_MODULES for name in _import(module).__all__]


def test_the_reference_documents_every_public_module() -> None:
    """Each public module has its directive (automodule or py:module) in the reference."""
    missing = sorted(set(PUBLIC_MODULES) - _documented())
    assert missing == [], f"modules missing from docs/reference/: {missing}"


def test_no_public_module_is_left_out_of_the_list() -> None:
    """Every module of the package whose name has no leading underscore (anywhere) is in PUBLIC_MODULES."""
    found = set()
    for path in SOURCE.rglob("*.py"):
        parts = path.relative_to(SOURCE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(part.startswith("_") for part in parts) or "migrations" in parts:
            continue
        found.add(".".join(parts))
    # Packages that only hold modules: nothing to import from them.
    found -= {"django_event_system.management", "django_event_system.management.commands"}
    found -= {"django_event_system.transports"}
    assert sorted(found - set(PUBLIC_MODULES)) == []


@pytest.mark.parametrize(("module", "name"), _public_names())
def test_every_public_name_is_documented(module: str, name: str) -> None:
    """A name in a public module's __all__ is documented at that path, or the same object is
    documented under the same name at another public path (a re-export)."""
    documented = _documented()
    if f"{module}.{name}" in documented:
        return
    value = getattr(_import(module), name)
    aliases = [dotted for dotted in documented if dotted.rpartition(".")[2] == name and _resolve(dotted) is value]
    assert aliases, f"{module}.{name} is not in docs/reference/ (add an autodoc directive for it)"


def test_every_documented_name_exists() -> None:
    """No directive names something that is gone (Sphinx would only warn about it)."""
    assert sorted(name for name in _documented() if _resolve(name) is _MISSING) == []


def test_every_setting_is_in_the_settings_table() -> None:
    """Each key of DJANGO_EVENT_SYSTEM and of its QUEUED dict has a row in the settings reference."""
    page = _page("settings.md")
    rows = set(re.findall(r"^\| `([A-Z_]+)` \|", page, re.MULTILINE))
    assert sorted(set(OPTIONS) - rows) == []
    assert sorted(set(QUEUED_DEFAULTS) - rows) == []
    from django_event_system.debug_toolbar import WAIT_SETTING

    assert WAIT_SETTING in page


def test_every_check_id_is_in_the_checks_table() -> None:
    """Each system check id in the source (``django_event_system.E020``...) has a row in the checks reference."""
    ids = {
        match
        for path in SOURCE.rglob("*.py")
        for match in re.findall(r"django_event_system\.[EW]\d{3}", path.read_text())
    }
    assert ids, "no check id found in the source: has the id format changed?"
    rows = set(re.findall(r"^\| `(django_event_system\.[EW]\d{3})` \|", _page("checks.md"), re.MULTILINE))
    assert sorted(ids - rows) == []
    assert sorted(rows - ids) == [], "the checks reference lists ids that no check has"


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = EventsCommand().create_parser("manage.py", "events")
    (action,) = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    return dict(action.choices)


def test_every_subcommand_and_option_is_in_the_commands_reference() -> None:
    """Each ``manage.py events`` subcommand has its heading, and each of its arguments is named."""
    page = _page("commands.md")
    subcommands = _subcommands()
    assert {"list", "match", "relay", "outbox", "make"} <= set(subcommands)
    missing = []
    for name, parser in subcommands.items():
        if f"### `events {name}" not in page:
            missing.append(name)
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            # An option by its flags (--once); a positional argument as its help shows it (NAME).
            spellings = action.option_strings or [action.dest.upper()]
            missing.extend(f"{name} {spelling}" for spelling in spellings if f"`{spelling}" not in page)
    assert missing == []


# What each inventory must hold, and where the live site has it: the URL shape of the builder
# its site is made with (Django: dirhtml; the others: html).
INVENTORY_SAMPLES = {
    "django": ("py:class", "django.db.models.Model", "ref/models/instances/#django.db.models.Model"),
    "celery": ("py:class", "celery.Celery", "reference/celery.html#celery.Celery"),
    "gevent": ("py:function", "gevent.monkey.patch_all", "api/gevent.monkey.html#gevent.monkey.patch_all"),
    "python": ("py:class", "typing.Protocol", "library/typing.html#typing.Protocol"),
}


def _mapping() -> dict[str, tuple[str, str]]:
    mapping: dict[str, tuple[str, str]] = runpy.run_path(str(DOCS / "conf.py"))["intersphinx_mapping"]
    return mapping


def test_the_site_links_to_django_celery_and_gevent() -> None:
    """conf.py maps Django's, Celery's and gevent's docs to inventories kept in the repository."""
    mapping = _mapping()
    assert {"django", "celery", "gevent"} <= set(mapping)
    assert mapping["django"][0] == "https://docs.djangoproject.com/en/5.2/"
    for name, (_, inventory) in mapping.items():
        assert inventory == f"_inventories/{name}.inv"


@pytest.mark.parametrize("project", sorted(INVENTORY_SAMPLES))
def test_the_inventories_load_and_point_at_the_live_urls(project: str) -> None:
    """Each mapped inventory is a valid Sphinx inventory, and a known object in it has the live site's URL."""
    mapping = _mapping()
    if project not in mapping:
        pytest.skip(f"no {project} inventory is mapped")
    base, path = mapping[project]
    with (DOCS / path).open("rb") as stream:
        inventory = InventoryFile.load(stream, base, lambda base, uri: base + uri)
    role, name, uri = INVENTORY_SAMPLES[project]
    item = inventory[role][name]
    assert item.uri == base + uri
