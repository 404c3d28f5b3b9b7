"""Sphinx configuration of the documentation site: Markdown pages (MyST), the reference generated
from the docstrings (autodoc), links into Python's, Django's, Celery's and gevent's docs
(intersphinx, from the inventories in ``_inventories/``, so that a build needs no network).

Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (``scripts/test`` runs it).
"""

from __future__ import annotations

import importlib.metadata
import inspect

import django
from django.conf import settings

# -- Project -------------------------------------------------------------------------------------

project = "django-event-system"
author = "django-event-system contributors"
copyright = "django-event-system contributors"  # noqa: A001 - the name Sphinx reads
release = importlib.metadata.version(project)
version = ".".join(release.split(".")[:2])

# -- Django, for the modules that need the app registry to import (models, admin) ----------------

if not settings.configured:
    settings.configure(
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.admin",
            "django_event_system",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
    )
    django.setup()

# -- General -------------------------------------------------------------------------------------

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
]
# The docstrings are reStructuredText with Sphinx's field lists (:param x:, :raises X:): no
# napoleon needed.

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "_inventories", "Thumbs.db", ".DS_Store"]

# -- MyST ----------------------------------------------------------------------------------------

myst_enable_extensions = ["colon_fence", "deflist"]
# `[text](page.md#some-heading)` links to headings down to ###.
myst_heading_anchors = 3

# -- Autodoc -------------------------------------------------------------------------------------

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autodoc_class_signature = "separated"
python_use_unqualified_type_names = True
python_maximum_signature_line_length = 100

# -- Intersphinx ---------------------------------------------------------------------------------

# Inventories cached in the repository (scripts/inventories makes them, _inventories/README.md
# says from what): the build has no network.
intersphinx_mapping = {
    "python": ("https://docs.python.org/3/", "_inventories/python.inv"),
    "django": ("https://docs.djangoproject.com/en/5.2/", "_inventories/django.inv"),
    "celery": ("https://docs.celeryq.dev/en/stable/", "_inventories/celery.inv"),
    "gevent": ("https://www.gevent.org/", "_inventories/gevent.inv"),
}

# -- HTML ----------------------------------------------------------------------------------------

html_theme = "furo"
html_title = f"{project} {release}"

# -- Docstrings of re-exported data --------------------------------------------------------------

# A constant or a type alias is documented where it is defined, by the string literal under its
# assignment; autodoc reads those from the module it is told about, which for a name documented
# at its public path (django_event_system.core.FullPolicy) is the re-exporting __init__.py. This
# finds the docstring in the module that defines the same object under the same name.

_MISSING = object()


def _defining_attribute_doc(name: str, obj: object) -> list[str]:
    import sys

    from sphinx.pycode import ModuleAnalyzer
    from sphinx.errors import PycodeError

    attribute = name.rpartition(".")[2]
    for module_name, module in sorted(sys.modules.items()):
        if not module_name.startswith("django_event_system") or module is None:
            continue
        if getattr(module, attribute, _MISSING) is not obj:
            continue
        try:
            docs = ModuleAnalyzer.for_module(module_name).find_attr_docs()
        except PycodeError:
            continue
        lines = docs.get(("", attribute))
        if lines:
            return list(lines)
    return []


def _attribute_docstring(app: object, what: str, name: str, obj: object, options: object, lines: list[str]) -> None:
    # For data, autodoc falls back on the docstring of the value's type (EventDispatcher's for
    # Dispatcher, int's for a number): the defining module's words come first.
    if what == "data":
        found = _defining_attribute_doc(name, obj)
        function = getattr(obj, "func", None)
        if not found and callable(function) and function.__doc__:
            # A task object (handle_queued_event): the words of the function it wraps.
            found = inspect.cleandoc(function.__doc__).splitlines()
        if found:
            lines[:] = [*found, ""]


def setup(app: object) -> None:
    app.connect("autodoc-process-docstring", _attribute_docstring)  # type: ignore[attr-defined]
