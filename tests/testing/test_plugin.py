"""Tests for the pytest plugin: the ``pytest11`` entry point and the ``dispatched_events`` fixture."""

from __future__ import annotations

import textwrap
from importlib.metadata import entry_points

import pytest

from tests.scripts import run_python

pytest_plugins = ["pytester"]

INNER_SETTINGS = """
SECRET_KEY = "inner-tests-only"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
"""

# In-process runs share this process's Django, which pytest-django here has already set up.
IN_PROCESS = ("-p", "no:randomly", "-p", "no:django")


def test_plugin_is_registered_through_the_pytest11_entry_point() -> None:
    """The installed package declares ``django_event_system.testing.plugin`` as a pytest plugin."""
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins.get("django_event_system") == "django_event_system.testing.plugin"


def test_plugin_is_loaded_in_this_run(pytestconfig: pytest.Config) -> None:
    """pytest has loaded the plugin module under its entry-point name."""
    plugin = pytestconfig.pluginmanager.get_plugin("django_event_system")
    assert plugin is not None
    assert plugin.__name__ == "django_event_system.testing.plugin"


def test_fixture_records_the_test_dispatches(pytester: pytest.Pytester) -> None:
    """An inner test gets a recorder from ``dispatched_events`` and its assertions pass."""
    pytester.makepyfile(
        """
        from django_event_system import Dispatcher, Event

        class OrderPlaced(Event):
            order_id: int

        def test_checkout(dispatched_events):
            Dispatcher.Dispatch("cart::emptied")
            OrderPlaced.Dispatch(order_id=7)
            [order] = dispatched_events.assert_dispatched(OrderPlaced, times=1)
            assert order.order_id == 7
            assert dispatched_events.names[0] == "cart::emptied"

        def test_isolated(dispatched_events):
            dispatched_events.assert_nothing_dispatched()
        """
    )
    result = pytester.runpytest(*IN_PROCESS)
    result.assert_outcomes(passed=2)


def test_failing_inner_test_reports_the_assertion_message(pytester: pytest.Pytester) -> None:
    """A failed fixture assertion fails the inner test with a message naming the event and a near name."""
    pytester.makepyfile(
        """
        from django_event_system import Dispatcher

        def test_checkout(dispatched_events):
            Dispatcher.Dispatch("orders::plcaed")
            dispatched_events.assert_dispatched("orders::placed")
        """
    )
    result = pytester.runpytest(*IN_PROCESS)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E*AssertionError: 'orders::placed' was dispatched 0 times, expected at least once "
            "(did you mean 'orders::plcaed'?).",
            "*Dispatched:",
            "*- 'orders::plcaed'",
        ]
    )


def test_mocked_inner_pytest_test_fails_with_the_missing_events(pytester: pytest.Pytester) -> None:
    """A plain pytest test decorated with ``MocksDispatch`` fails naming each missing event; fixtures resolve."""
    pytester.makepyfile(
        """
        from django_event_system.events import Dispatcher

        @Dispatcher.MocksDispatch
        def test_signup(tmp_path):
            assert tmp_path.is_dir()
            Dispatcher.Expect("user::created")
            Dispatcher.Expect("mail::welcome")
            Dispatcher.Dispatch("user::craeted")

        @Dispatcher.MocksDispatch
        def test_passes():
            Dispatcher.Expect("user::created")
            Dispatcher.Dispatch("user::created")
        """
    )
    result = pytester.runpytest(*IN_PROCESS)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "E*AssertionError: 2 expected events were not dispatched:",
            "*- 'user::created' (did you mean 'user::craeted'?)",
            "*- 'mail::welcome'",
            "*Dispatched instead:",
            "*- 'user::craeted'",
        ]
    )


def test_fixture_is_absent_when_the_plugin_is_disabled(pytester: pytest.Pytester) -> None:
    """With ``-p no:django_event_system`` the fixture does not exist: it comes from the plugin."""
    pytester.makepyfile(
        """
        def test_uses_it(dispatched_events):
            pass
        """
    )
    result = pytester.runpytest(*IN_PROCESS, "-p", "no:django_event_system")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'dispatched_events' not found*"])


def test_fixture_works_with_pytest_django(pytester: pytest.Pytester) -> None:
    """With pytest-django, the recorder sees events dispatched on commit, in both kinds of database test."""
    pytester.makepyfile(inner_settings=INNER_SETTINGS)
    pytester.makepyfile(
        """
        import pytest
        from django.db import transaction
        from django_event_system import Dispatcher

        def place_order():
            with transaction.atomic():
                transaction.on_commit(lambda: Dispatcher.Dispatch("orders::committed"))

        @pytest.mark.django_db
        def test_captured_on_commit(dispatched_events, django_capture_on_commit_callbacks):
            with django_capture_on_commit_callbacks(execute=True) as callbacks:
                place_order()
                dispatched_events.assert_not_dispatched("orders::committed")
            assert len(callbacks) == 1
            dispatched_events.assert_dispatched("orders::committed", times=1)

        @pytest.mark.django_db(transaction=True)
        def test_transaction_test(dispatched_events):
            place_order()
            dispatched_events.assert_dispatched("orders::committed", times=1)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "--ds=inner_settings", "-W", "error")
    result.assert_outcomes(passed=2)


def test_plugin_imports_without_django_settings() -> None:
    """Importing the plugin configures no Django settings, so it loads in any pytest run."""
    code = textwrap.dedent(
        """
        import os, sys
        os.environ.pop("DJANGO_SETTINGS_MODULE", None)
        import django_event_system.testing.plugin
        from django.conf import settings
        assert not settings.configured
        assert "django.db" not in sys.modules
        print("ok")
        """
    )
    assert run_python("-c", code).stdout.strip() == "ok"
