"""Tests for the system checks: each bad setting or class is reported with its stable id."""

from __future__ import annotations

import pytest
from django.core import checks
from django.test import override_settings

from django_event_system import EventListener, Observer
from django_event_system.django._checks import check_listeners, check_observers, check_settings

from .testapp.models import Example


def ids(messages: list[checks.CheckMessage]) -> list[str | None]:
    """The ids of check messages, in order."""
    return [message.id for message in messages]


def test_valid_settings_pass() -> None:
    """A setting with every option valid gives no message."""
    valid = {
        "MODE": "sync",
        "POOL_SIZE": 10,
        "ERROR_POLICY": "raise",
        "AUTODISCOVER": False,
        "AUTODISCOVER_MODULES": ["observers"],
        "DRAIN_ON_REQUEST_FINISHED": True,
        "DRAIN_TIMEOUT": 2.5,
        "CLOSE_OLD_CONNECTIONS": False,
        "MAX_DEPTH": 10,
        "MAX_PENDING": 1000,
        "ON_FULL": "raise",
    }
    with override_settings(DJANGO_EVENT_SYSTEM=valid):
        assert check_settings() == []


@pytest.mark.parametrize(
    ("setting", "check_id", "message"),
    [
        ("not a dict", "django_event_system.E001", "DJANGO_EVENT_SYSTEM must be a dict, not 'not a dict'."),
        ({"POOLSIZE": 3}, "django_event_system.E002", "DJANGO_EVENT_SYSTEM has an unknown key 'POOLSIZE'."),
        (
            {"MODE": "gevent"},
            "django_event_system.E003",
            "DJANGO_EVENT_SYSTEM['MODE'] must be 'async' or 'sync', not 'gevent'.",
        ),
        (
            {"POOL_SIZE": -1},
            "django_event_system.E004",
            "DJANGO_EVENT_SYSTEM['POOL_SIZE'] must be a positive int, not -1.",
        ),
        (
            {"POOL_SIZE": True},
            "django_event_system.E004",
            "DJANGO_EVENT_SYSTEM['POOL_SIZE'] must be a positive int, not True.",
        ),
        (
            {"ERROR_POLICY": "ignore"},
            "django_event_system.E005",
            "DJANGO_EVENT_SYSTEM['ERROR_POLICY'] must be 'log', 'raise', a callable or the dotted path of one, "
            "not 'ignore'.",
        ),
        (
            {"ERROR_POLICY": "django.conf.settings"},
            "django_event_system.E005",
            "DJANGO_EVENT_SYSTEM['ERROR_POLICY'] names 'django.conf.settings', which is not callable.",
        ),
        (
            {"AUTODISCOVER": "yes"},
            "django_event_system.E006",
            "DJANGO_EVENT_SYSTEM['AUTODISCOVER'] must be True or False, not 'yes'.",
        ),
        (
            {"AUTODISCOVER_MODULES": "observers"},
            "django_event_system.E007",
            "DJANGO_EVENT_SYSTEM['AUTODISCOVER_MODULES'] must be a list of module names "
            "(like ['observers', 'listeners']), not 'observers'.",
        ),
        (
            {"AUTODISCOVER_MODULES": ["my.observers"]},
            "django_event_system.E007",
            "DJANGO_EVENT_SYSTEM['AUTODISCOVER_MODULES'] must be a list of module names "
            "(like ['observers', 'listeners']), not ['my.observers'].",
        ),
        (
            {"DRAIN_ON_REQUEST_FINISHED": "always"},
            "django_event_system.E008",
            "DJANGO_EVENT_SYSTEM['DRAIN_ON_REQUEST_FINISHED'] must be 'auto', True or False, not 'always'.",
        ),
        (
            {"DRAIN_TIMEOUT": 0},
            "django_event_system.E009",
            "DJANGO_EVENT_SYSTEM['DRAIN_TIMEOUT'] must be None or a positive number of seconds, not 0.",
        ),
        (
            {"CLOSE_OLD_CONNECTIONS": None},
            "django_event_system.E010",
            "DJANGO_EVENT_SYSTEM['CLOSE_OLD_CONNECTIONS'] must be True or False, not None.",
        ),
        (
            {"MAX_DEPTH": 0},
            "django_event_system.E011",
            "DJANGO_EVENT_SYSTEM['MAX_DEPTH'] must be a positive int, not 0.",
        ),
        (
            {"MAX_PENDING": 0},
            "django_event_system.E013",
            "DJANGO_EVENT_SYSTEM['MAX_PENDING'] must be None or a positive int, not 0.",
        ),
        (
            {"MAX_PENDING": "10000"},
            "django_event_system.E013",
            "DJANGO_EVENT_SYSTEM['MAX_PENDING'] must be None or a positive int, not '10000'.",
        ),
        (
            {"ON_FULL": "drop"},
            "django_event_system.E014",
            "DJANGO_EVENT_SYSTEM['ON_FULL'] must be 'block' or 'raise', not 'drop'.",
        ),
    ],
)
def test_bad_setting_is_reported_with_its_id(setting: object, check_id: str, message: str) -> None:
    """Each bad option gives one error with its id and a message quoting the value."""
    with override_settings(DJANGO_EVENT_SYSTEM=setting):
        [error] = check_settings()
    assert error.id == check_id
    assert error.level == checks.ERROR
    assert error.msg == message
    assert error.hint


def test_unknown_key_suggests_the_closest() -> None:
    """The hint of an unknown key names the closest option."""
    with override_settings(DJANGO_EVENT_SYSTEM={"POOLSIZE": 3}):
        [error] = check_settings()
    assert error.hint is not None
    assert error.hint.startswith("Did you mean 'POOL_SIZE'? Known keys: MODE, POOL_SIZE, ERROR_POLICY")


def test_several_bad_keys_give_several_errors() -> None:
    """Every bad key is reported, not just the first."""
    with override_settings(DJANGO_EVENT_SYSTEM={"MODE": 1, "POOL_SIZE": 0, "EXTRA": 1}):
        assert ids(check_settings()) == [
            "django_event_system.E002",
            "django_event_system.E003",
            "django_event_system.E004",
        ]


def test_checks_are_registered_with_django() -> None:
    """``manage.py check`` runs them: a bad setting shows up in ``run_checks()``."""
    with override_settings(DJANGO_EVENT_SYSTEM={"MODE": "fast"}):
        assert "django_event_system.E003" in ids(checks.run_checks())
    assert not [m for m in checks.run_checks() if (m.id or "").startswith("django_event_system")]


def test_misspelt_observer_method_is_a_warning() -> None:
    """An Observer method named like a misspelt action gives W001 naming the method and the action."""

    class Typo(Observer[Example]):
        observes = Example

        def create(self, event_name: str, instance: Example) -> None: ...

        def updatd(self, event_name: str, instance: Example) -> None: ...

    warnings = check_observers()
    assert ids(warnings) == ["django_event_system.W001", "django_event_system.W001"]
    assert warnings[0].level == checks.WARNING
    assert warnings[0].msg == (
        "tests.django.test_checks.test_misspelt_observer_method_is_a_warning.<locals>.Typo.create() is not an action, "
        "so it is never called for a model event."
    )
    assert warnings[0].hint == "Did you mean created()? Rename the method, or start its name with _ if it is a helper."
    assert warnings[1].hint is not None
    assert warnings[1].hint.startswith("Did you mean updated()?")
    assert "django_event_system.W001" in ids(checks.run_checks())


def test_well_named_observer_gives_no_warning() -> None:
    """Actions, private helpers and unrelated names are fine."""

    class Fine(Observer[Example]):
        observes = Example

        def created(self, event_name: str, instance: Example) -> None: ...

        def _create_helper(self) -> None: ...

        def notify_team(self, instance: Example) -> None: ...

    assert check_observers() == []


def test_listener_after_commit_must_be_a_bool() -> None:
    """An EventListener whose ``after_commit`` is not a bool gives E012 (and mypy rejects it)."""

    class Sloppy(EventListener):
        listensFor = ["checks::sloppy"]
        after_commit = "yes"  # type: ignore[assignment]

        def handle(self, event: str) -> None: ...

    try:
        [error] = check_listeners()
    finally:
        Sloppy.unregister()
    assert error.id == "django_event_system.E012"
    assert error.msg == (
        "tests.django.test_checks.test_listener_after_commit_must_be_a_bool.<locals>.Sloppy.after_commit must be "
        "True or False, not 'yes'."
    )
