"""The Django app: autodiscovery, settings, request-end draining and system checks."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import gevent.monkey
from django.apps import AppConfig, apps
from django.core import checks
from django.core.signals import request_finished, setting_changed
from django.utils.module_loading import module_has_submodule

from ..core import Dispatcher, EventDispatcher
from ..core.integration import add_greenlet_exit_hook, add_thread_exit_hook
from ._connections import close_obsolete_connections, close_thread_connections, close_worker_connections
from ._settings import SETTING_NAME, apply_settings, conf
from ._workers import connect_worker_drains

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

__all__ = ["DjangoEventSystemConfig", "autodiscover", "drain_after_request"]

logger = logging.getLogger("django_event_system.django")

_discovered: set[str] = set()
_remove_connection_hook: list[Any] = []


def autodiscover(
    module_names: Iterable[str] | None = None, app_configs: Iterable[AppConfig] | None = None
) -> list[str]:
    """Import the ``observers`` and ``listeners`` modules (or ``module_names``) of every installed app.

    EventSubscribers go in ``listeners`` (or add ``"subscribers"`` to ``AUTODISCOVER_MODULES``).

    A module is imported once; an app without one is skipped, but an error raised while
    importing a module that exists propagates.

    :returns: the dotted names of the modules imported by this call.
    """
    names = tuple(conf.autodiscover_modules if module_names is None else module_names)
    imported: list[str] = []
    for app_config in apps.get_app_configs() if app_configs is None else app_configs:
        for name in names:
            dotted = f"{app_config.name}.{name}"
            if dotted in _discovered or not module_has_submodule(app_config.module, name):
                continue
            importlib.import_module(dotted)
            _discovered.add(dotted)
            imported.append(dotted)
            logger.debug("autodiscovered %s", dotted)
    return imported


def _dispatchers() -> list[EventDispatcher]:
    from ._models import bindings
    from ._observer import observers
    from ._signals import mappings

    found: list[EventDispatcher] = [Dispatcher]
    candidates = [
        *(d for b in bindings() for d in b.dispatchers),
        *(o.dispatcher for o in observers()),
        *(m.dispatcher for m in mappings()),
    ]
    for dispatcher in candidates:
        if dispatcher not in found:
            found.append(dispatcher)
    return found


def should_drain() -> bool:
    """Whether a finished request drains the queue now (see ``DRAIN_ON_REQUEST_FINISHED``)."""
    drain = conf.drain_on_request_finished
    if drain == "auto":
        # Monkey-patched, the hub runs the handlers whenever a request waits on I/O; draining
        # would only hold the finished request's greenlet until the whole queue is empty.
        return not gevent.monkey.is_module_patched("socket")
    return drain is True


def drain_after_request(sender: object, **kwargs: Any) -> None:
    """Handle the events still queued in this thread when a request finishes (``request_finished``).

    Without monkey-patching, nothing else would give the handlers a turn before the thread
    serves its next request (or ends, under runserver's threads). Runs after the response was
    sent, so it never delays the response itself.
    """
    if not should_drain():
        return
    timeout = conf.drain_timeout
    for dispatcher in _dispatchers():
        pending = dispatcher.pending_count()
        try:
            dispatcher.ClearQueue(timeout)
        except TimeoutError:
            logger.error(
                "the events queued during a request were not all handled within %s s (DRAIN_TIMEOUT); "
                "the rest are handled by this thread's next drain, or before it ends",
                timeout,
            )
        else:
            if pending:
                logger.debug("handled %d queued event(s) after a request", pending)
    close_obsolete_connections()


def _on_setting_changed(setting: str, **kwargs: Any) -> None:
    if setting == SETTING_NAME:
        apply_settings()


class DjangoEventSystemConfig(AppConfig):
    """Add ``"django_event_system"`` to ``INSTALLED_APPS`` to get this app.

    At start-up it applies the ``DJANGO_EVENT_SYSTEM`` setting to the global ``Dispatcher``,
    imports every installed app's ``observers`` and ``listeners`` modules, drains the queue when
    a request finishes, closes the database connections of finished delivery greenlets, and
    registers the system checks.
    """

    name = "django_event_system"
    label = "django_event_system"
    verbose_name: StrOrPromise = "Django event system"

    def ready(self) -> None:
        from . import _checks

        checks.register(_checks.check_settings)
        checks.register(_checks.check_observers)
        checks.register(_checks.check_listeners)
        setting_changed.connect(_on_setting_changed, dispatch_uid="django_event_system:settings")
        request_finished.connect(drain_after_request, dispatch_uid="django_event_system:drain")
        connect_worker_drains()
        if not _remove_connection_hook:
            _remove_connection_hook.append(add_greenlet_exit_hook(close_worker_connections))
            _remove_connection_hook.append(add_thread_exit_hook(close_thread_connections))
        apply_settings(strict=True)
        try:
            enabled = conf.autodiscover
        except Exception as exc:  # reported by the checks; start-up goes on
            logger.warning("%s['AUTODISCOVER'] was ignored: %s", SETTING_NAME, exc)
            enabled = True
        if enabled:
            autodiscover()
