"""Tests for the ``DJANGO_EVENT_SYSTEM`` setting: defaults, lazy reads and what it configures."""

from __future__ import annotations

import logging

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_event_system import Dispatcher, HandlerFailure
from django_event_system.core import is_sync
from django_event_system.django import conf
from django_event_system.django._settings import apply_settings

failures: list[HandlerFailure] = []


def record_failure(failure: HandlerFailure) -> None:
    """An error policy named by its dotted path in the tests."""
    failures.append(failure)


def test_defaults_without_the_setting() -> None:
    """Without ``DJANGO_EVENT_SYSTEM`` every option has its documented default."""
    assert conf.raw() == {}
    assert conf.mode == "async"
    assert conf.pool_size == 100
    assert conf.error_policy == "log"
    assert conf.autodiscover is True
    assert conf.autodiscover_modules == ("observers", "listeners")
    assert conf.drain_on_request_finished == "auto"
    assert conf.drain_timeout is None
    assert conf.close_old_connections is True
    assert conf.max_depth == 100


def test_settings_are_read_at_each_access() -> None:
    """``override_settings`` is seen at once: nothing is cached."""
    assert conf.pool_size == 100
    with override_settings(DJANGO_EVENT_SYSTEM={"POOL_SIZE": 7, "AUTODISCOVER_MODULES": ["handlers"]}):
        assert conf.pool_size == 7
        assert conf.autodiscover_modules == ("handlers",)
    assert conf.pool_size == 100


def test_mode_sync_is_applied_and_restored() -> None:
    """``MODE="sync"`` makes dispatch run handlers inline, and leaving the override restores async."""
    assert is_sync() is False
    calls: list[str] = []
    with Dispatcher.RegisterHandler("settings::mode", calls.append):
        with override_settings(DJANGO_EVENT_SYSTEM={"MODE": "sync"}):
            assert is_sync() is True
            Dispatcher.Dispatch("settings::mode")
            assert calls == ["settings::mode"]
        assert is_sync() is False
        Dispatcher.Dispatch("settings::mode")
        assert calls == ["settings::mode"]
        Dispatcher.ClearQueue(timeout=10)
    assert calls == ["settings::mode", "settings::mode"]


def test_pool_size_error_policy_and_max_depth_are_applied_and_restored() -> None:
    """The dispatcher options follow the setting and come back when the override ends."""

    def options() -> tuple[object, ...]:
        return (
            Dispatcher.pool_size,
            Dispatcher.error_policy,
            Dispatcher.max_depth,
            Dispatcher.max_pending,
            Dispatcher.on_full,
        )

    setting = {"POOL_SIZE": 3, "ERROR_POLICY": "raise", "MAX_DEPTH": 5, "MAX_PENDING": 50, "ON_FULL": "raise"}
    with override_settings(DJANGO_EVENT_SYSTEM=setting):
        assert options() == (3, "raise", 5, 50, "raise")
    assert options() == (100, "log", 100, None, "block")


def test_error_policy_as_a_dotted_path() -> None:
    """A dotted path names the error policy callable, which then receives the failures."""

    def broken(name: str) -> None:
        raise RuntimeError("policy test")

    failures.clear()
    with (
        override_settings(DJANGO_EVENT_SYSTEM={"ERROR_POLICY": f"{__name__}.record_failure"}),
        Dispatcher.RegisterHandler("settings::policy", broken),
    ):
        assert Dispatcher.error_policy is record_failure
        Dispatcher.Dispatch("settings::policy")
        Dispatcher.ClearQueue(timeout=10)
    assert [(f.event_name, str(f.exception)) for f in failures] == [("settings::policy", "policy test")]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            {"POOL_SIZE": 0},
            r"DJANGO_EVENT_SYSTEM\['POOL_SIZE'\] must be a positive int, not 0 \(django_event_system.E004\)",
        ),
        (
            {"MODE": "fast"},
            r"DJANGO_EVENT_SYSTEM\['MODE'\] must be 'async' or 'sync', not 'fast' \(django_event_system.E003\)",
        ),
        ([("MODE", "sync")], r"DJANGO_EVENT_SYSTEM must be a dict, not \[\('MODE', 'sync'\)\]"),
    ],
)
def test_reading_a_bad_value_is_improperly_configured(value: object, message: str) -> None:
    """Reading an invalid option raises ImproperlyConfigured with the option, the value and the check id."""
    with override_settings(DJANGO_EVENT_SYSTEM=value), pytest.raises(ImproperlyConfigured, match=message):
        _ = conf.pool_size if isinstance(value, dict) and "POOL_SIZE" in value else conf.mode


def test_bad_values_are_logged_and_left_out_when_applied(caplog: pytest.LogCaptureFixture) -> None:
    """At start-up a bad value is skipped with a warning (the checks report it); the good ones apply."""
    with (
        caplog.at_level(logging.WARNING, logger="django_event_system"),
        override_settings(DJANGO_EVENT_SYSTEM={"POOL_SIZE": "many", "MAX_DEPTH": 9}),
    ):
        assert Dispatcher.pool_size == 100
        assert Dispatcher.max_depth == 9
    assert [r.getMessage() for r in caplog.records] == [
        "DJANGO_EVENT_SYSTEM['POOL_SIZE'] was ignored: DJANGO_EVENT_SYSTEM['POOL_SIZE'] must be a positive int, "
        "not 'many' (django_event_system.E004)"
    ]


def test_unimportable_error_policy_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """An error policy path that does not import is skipped with a warning saying why."""
    with (
        caplog.at_level(logging.WARNING, logger="django_event_system"),
        override_settings(DJANGO_EVENT_SYSTEM={"ERROR_POLICY": "no.such.policy"}),
    ):
        assert Dispatcher.error_policy == "log"
    [record] = caplog.records
    assert record.getMessage().startswith(
        "DJANGO_EVENT_SYSTEM['ERROR_POLICY'] was ignored: DJANGO_EVENT_SYSTEM['ERROR_POLICY'] names 'no.such.policy', "
        "which cannot be imported"
    )


def test_apply_settings_without_the_setting_restores_defaults() -> None:
    """Applying the (absent) setting puts the dispatcher back on its defaults."""
    Dispatcher.pool_size = 5
    apply_settings()
    assert Dispatcher.pool_size == 100
