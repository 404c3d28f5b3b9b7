"""The layer rule: ``django_event_system.core`` never imports Django and works where Django is absent.

The static side of the rule (no module under ``core/`` imports Django, Celery or an upper layer) is
import-linter's: see the contracts in ``pyproject.toml`` and ``tests/test_architecture.py``.
"""

from __future__ import annotations

import textwrap

from tests.scripts import run_python

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
