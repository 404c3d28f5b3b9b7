"""Tests for the app: its configuration, autodiscovery and what ``ready()`` installs."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.apps import AppConfig, apps
from django.core.signals import request_finished

from django_event_system.apps import DjangoEventSystemConfig
from django_event_system.core import _local_queue as _queue
from django_event_system.django import autodiscover
from django_event_system.django._apps import drain_after_request
from django_event_system.django._connections import close_worker_connections
from tests.scripts import run_python

ROOT = Path(__file__).resolve().parents[2]
DISCOVERY_MODULES = (
    "tests.django.discoveryapp.observers",
    "tests.django.discoveryapp.listeners",
    "tests.django.discoveryapp.handlers",
)


@pytest.fixture
def discovery_app() -> Iterator[AppConfig]:
    """The discovery app's configuration, not installed; its modules are unloaded afterwards."""
    config = AppConfig.create("tests.django.discoveryapp")
    yield config
    for name in DISCOVERY_MODULES:
        sys.modules.pop(name, None)


def test_installed_app_uses_the_package_config() -> None:
    """``INSTALLED_APPS = ["django_event_system"]`` finds the package's AppConfig."""
    config = apps.get_app_config("django_event_system")
    assert type(config) is DjangoEventSystemConfig
    assert config.name == "django_event_system"


def test_ready_installs_the_drain_and_the_connection_hook() -> None:
    """``ready()`` connected the request-end drain and added the delivery greenlet exit hook, each once."""
    # disconnect() tells whether the receiver was connected; connect it back at once.
    assert request_finished.disconnect(dispatch_uid="django_event_system:drain") is True
    request_finished.connect(drain_after_request, dispatch_uid="django_event_system:drain")
    assert _queue.greenlet_exit_hooks.count(close_worker_connections) == 1
    apps.get_app_config("django_event_system").ready()
    assert _queue.greenlet_exit_hooks.count(close_worker_connections) == 1


def test_autodiscover_imports_the_modules_of_each_app(discovery_app: AppConfig) -> None:
    """The observers and listeners modules of an app are imported (and register their classes)."""
    imported = autodiscover(app_configs=[discovery_app])
    assert imported == ["tests.django.discoveryapp.observers", "tests.django.discoveryapp.listeners"]
    from tests.django.discoveryapp.listeners import DiscoveredListener
    from tests.django.discoveryapp.observers import DiscoveredObserver

    assert DiscoveredObserver.registrations
    assert DiscoveredListener.registrations
    DiscoveredListener.unregister()


def test_autodiscover_imports_once(discovery_app: AppConfig) -> None:
    """A second discovery imports nothing new."""
    autodiscover(app_configs=[discovery_app])
    assert autodiscover(app_configs=[discovery_app]) == []
    from tests.django.discoveryapp.listeners import DiscoveredListener

    DiscoveredListener.unregister()


def test_autodiscover_custom_module_names(discovery_app: AppConfig) -> None:
    """Other module names can be discovered; apps without such a module are skipped."""
    imported = autodiscover(["handlers", "no_such_module"], app_configs=[discovery_app])
    assert imported == ["tests.django.discoveryapp.handlers"]
    from django_event_system import Dispatcher

    for registration in list(Dispatcher.registry):
        if registration.pattern == "custom::.*":
            registration.cancel()


def test_autodiscover_lets_import_errors_through() -> None:
    """A module that exists but fails to import is not skipped: its error propagates."""
    config = AppConfig.create("tests.django.brokenapp")
    with pytest.raises(ImportError, match=r"brokenapp.observers needs a package that is not installed"):
        autodiscover(app_configs=[config])


def run_setup(code: str, **setting: object) -> str:
    """Run ``django.setup()`` with the discovery settings and ``setting``, then ``code``; return stdout."""
    script = "import django\ndjango.setup()\n" + textwrap.dedent(code)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.django.discovery_settings",
        "TEST_EVENT_SYSTEM": json.dumps(setting),
    }
    return run_python("-W", "error", "-c", script, cwd=ROOT, env=env).stdout


REPORT = """
from django_event_system import Dispatcher
from django_event_system.django._observer import observers
print(sorted(o.__qualname__ for o in observers()))
print(sorted({r.pattern for r in Dispatcher.registry}))
"""


@pytest.mark.slow
def test_setup_discovers_observers_and_listeners_once() -> None:
    """At start-up the modules are found; the 1.0 ``ready()`` import alongside registers nothing twice."""
    observers, patterns = run_setup(REPORT).splitlines()
    assert observers == "['DiscoveredObserver']"
    assert patterns == "['discovery::.*', 'events::db::tests::django::testapp::models::Example::created']"
    events = run_setup(
        """
        from django_event_system import Dispatcher
        from tests.django.testapp.models import Example
        from tests.django.discoveryapp import observers
        from django.core.management import call_command
        call_command("migrate", run_syncdb=True, verbosity=0)
        Example.objects.create(name="found")
        Dispatcher.ClearQueue()
        print(observers.created)
        """
    )
    assert events.strip() == "['found']"


@pytest.mark.slow
def test_setup_without_autodiscovery() -> None:
    """``AUTODISCOVER=False`` imports nothing; the app's own ``ready()`` import still works."""
    observers, patterns = run_setup(REPORT, AUTODISCOVER=False).splitlines()
    assert observers == "['DiscoveredObserver']"
    assert patterns == "['events::db::tests::django::testapp::models::Example::created']"


@pytest.mark.slow
def test_setup_with_custom_module_names() -> None:
    """``AUTODISCOVER_MODULES`` chooses the modules."""
    _, patterns = run_setup(REPORT, AUTODISCOVER_MODULES=["handlers"]).splitlines()
    assert patterns == "['custom::.*', 'events::db::tests::django::testapp::models::Example::created']"


@pytest.mark.slow
def test_setup_with_a_bad_setting_still_starts() -> None:
    """A bad value does not stop start-up; it is logged and ``check`` reports it."""
    output = run_setup(
        """
        from django.core import checks
        print([m.id for m in checks.run_checks()])
        """,
        AUTODISCOVER="sometimes",
        POOL_SIZE=0,
    )
    assert output.strip() == "['django_event_system.E004', 'django_event_system.E006']"
