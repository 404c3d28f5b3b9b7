"""The layer rule: ``django_event_system.core`` never imports Django and works where Django is absent."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import django_event_system.core
from tests.scripts import run_python

CORE = Path(django_event_system.core.__file__).parent

WITHOUT_DJANGO = textwrap.dedent(
    """
    import sys

    class NoDjango:
        '''Makes ``import django`` (and any submodule) fail, as if Django were not installed.'''

        def find_spec(self, name, path=None, target=None):
            if name == "django" or name.startswith("django."):
                raise ImportError(f"No module named {name!r} (blocked for this test)")
            return None

    sys.meta_path.insert(0, NoDjango())
    try:
        import django  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("the Django blocker does not work")

    from django_event_system.core import (
        Dispatcher, Event, EventDispatcher, EventListener, GetPathFromClass, configure,
    )

    log = []

    class OrderPlaced(Event):
        order_id: int

    class Audit(EventListener):
        listensFor = [OrderPlaced, "orders::.*"]

        def handle(self, *args, **kwargs):
            log.append(("listener", args))

    @Dispatcher.listen(OrderPlaced)
    def on_order(event):
        log.append(("listen", event.order_id))
        Dispatcher.Dispatch("orders::cascade", event.order_id)

    registration = Dispatcher.RegisterHandler("orders::(.*)", lambda name, *args: log.append(("handler", name)))
    placed = OrderPlaced.Dispatch(order_id=1)
    assert log == [], log
    Dispatcher.ClearQueue()
    assert ("listen", 1) in log, log
    assert ("listener", (placed,)) in log, log
    assert ("listener", ("orders::cascade", 1)) in log, log
    assert ("handler", "orders::cascade") in log, log
    registration.cancel()
    Audit.unregister()

    local = EventDispatcher(sync=True)
    local.RegisterHandler(GetPathFromClass(OrderPlaced), lambda name, event: log.append(("sync", event.order_id)))
    local.Dispatch(OrderPlaced(order_id=2))
    assert log[-1] == ("sync", 2), log

    with Dispatcher.EnsureQueueIsCleared():
        Dispatcher.Dispatch("orders::late")
    configure(sync=True)
    configure(sync=False)

    loaded = sorted(name for name in sys.modules if name == "django" or name.startswith("django."))
    assert loaded == [], loaded
    print("core works without django")
    """
)


def test_core_works_where_django_cannot_be_imported() -> None:
    """In a process where ``import django`` fails, the core imports and registers, dispatches and drains."""
    result = run_python("-W", "error", "-c", WITHOUT_DJANGO, timeout=120)
    assert result.stdout.strip() == "core works without django"


def imported_modules(tree: ast.AST) -> list[tuple[str, int]]:
    """Return ``(module, level)`` for every import in ``tree``, including ``importlib.import_module("...")``."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, 0) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", node.level))
            if not node.module:
                found.extend((alias.name, node.level) for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr in {"import_module", "__import__"})
                or (isinstance(node.func, ast.Name) and node.func.id in {"import_module", "__import__"})
            )
        ):
            found.append((node.args[0].value, 0))
    return found


def is_forbidden(module: str, level: int) -> bool:
    """Whether an import reaches Django or a layer above the core."""
    root = module.split(".")[0]
    if level == 0:
        return root == "django" or module.startswith(("django_event_system.django", "django_event_system.testing"))
    # ``from .. import django`` or ``from ..testing import x`` leave the core for an upper layer.
    return level >= 2 and root in {"django", "testing"}


def test_no_core_module_imports_django() -> None:
    """No file under ``core/`` imports django, the Django adapter or the testing layer."""
    files = sorted(CORE.rglob("*.py"))
    assert len(files) >= 8
    offenders = [
        f"{path.relative_to(CORE)}: {module}"
        for path in files
        for module, level in imported_modules(ast.parse(path.read_text(), filename=str(path)))
        if is_forbidden(module, level)
    ]
    assert offenders == []


def test_the_import_check_catches_django_imports() -> None:
    """The static check recognises the forms a Django import can take."""
    source = textwrap.dedent(
        """
        import django
        import django.conf as conf
        from django.db import models
        from ..django import apps
        from .. import testing
        import importlib
        importlib.import_module("django.dispatch")
        import gevent
        from . import _names
        from django_event_system.core import Event
        """
    )
    flagged = [module for module, level in imported_modules(ast.parse(source)) if is_forbidden(module, level)]
    assert flagged == ["django", "django.conf", "django.db", "django", "testing", "django.dispatch"]
