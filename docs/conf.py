"""Sphinx configuration of the documentation site: Markdown pages (MyST), the reference generated
from the docstrings (autodoc), links into Python's, Django's, Celery's and gevent's docs
(intersphinx, from the inventories in ``_inventories/``, so that a build needs no network).

Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html`` (``scripts/test`` runs it).
"""

from __future__ import annotations

import importlib.metadata
import inspect
from typing import Any

from django.conf import settings

import django

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
autodoc_class_signature = "mixed"
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

    from sphinx.errors import PycodeError
    from sphinx.pycode import ModuleAnalyzer

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


# Names in signatures that are not part of the API: type variables (``_E``, ``ModelT``) and the
# private types of a few parameters and return values.
nitpick_ignore_regex = [
    ("py:.*", r"(typing\.~?)?_\w+|.*\._\w+|.*\.ModelT"),
    ("py:class", r"django_event_system\.core\.(_registry\.RegistrySnapshot|_draining\.Drainable)"),
    ("py:class", r"django_event_system\.core\.queued\._message\.Envelope"),
    # The dispatcher as an Event class sees it (core._bus.Bus), also a string annotation.
    ("py:class", r"(django_event_system\.core\._bus\.)?Bus"),
    # The panel's constructor, inherited from django-debug-toolbar, names that package's private
    # type (whether it shows depends on the import order; the toolbar has no inventory anyway).
    ("py:class", r"debug_toolbar\._stubs\.\w+"),
    # Python 3.11's documentation (the inventory) has re.Pattern's methods but not the class.
    ("py:class", r"re\.Pattern(\[str\])?"),
]

# -- Type hints at their public path ---------------------------------------------------------

# A type hint names a class where it is defined (django_event_system.core._handling.HandlerFailure,
# django.db.models.base.Model); the reference and Django's docs document it where it is imported
# from (django_event_system.HandlerFailure, django.db.models.Model). A reference that resolves
# nowhere is tried again at the shorter module paths, here and then in the inventories.


def _public_reference(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    from sphinx.ext import intersphinx

    if node.get("refdomain") != "py":
        return None
    target: str = node["reftarget"]
    *modules, name = target.split(".")
    domain = env.get_domain("py")
    candidates = [".".join([*modules[:cut], name]) for cut in range(len(modules) - 1, 0, -1)]
    if not target.startswith(("django_event_system.", "django.")):
        # A short name in a docstring (:class:`Transport`, :meth:`EventDispatcher.ClearQueue`)
        # whose module documents it at another path: the one documented object of that name.
        documented = [
            fullname
            for fullname, entry in domain.objects.items()
            if fullname.endswith("." + target) and not entry.aliased  # not autodoc's :canonical: path
        ]
        if not documented:
            # Or the one object of that name in the inventories (:exc:`ImproperlyConfigured`).
            documented = sorted(
                {
                    fullname
                    for objtype, objects in env.intersphinx_inventory.items()
                    if objtype.startswith("py:")
                    for fullname in objects
                    if fullname.endswith("." + target)
                }
            )
            # Celery's docs have an ImproperlyConfigured too: in this Django library, a bare name
            # means Django's when Django has it.
            documented = [name for name in documented if name.startswith("django.")] or documented
        if len(documented) == 1:
            candidates.append(documented[0])
    for candidate in candidates:
        found = domain.resolve_xref(
            env, node.get("refdoc", ""), app.builder, node["reftype"], candidate, node, contnode
        )
        if found is not None:
            return found
        retry = node.deepcopy()
        retry["reftarget"] = candidate
        found = intersphinx.missing_reference(app, env, retry, contnode)
        if found is not None:
            return found
    return None


def setup(app: Any) -> None:
    app.connect("autodoc-process-docstring", _attribute_docstring)
    app.connect("missing-reference", _public_reference)
