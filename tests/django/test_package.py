"""Tests for the package's public face: the Django names load lazily and import without settings."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

import django_event_system
import django_event_system.django
from django_event_system import events
from tests.scripts import run_python

ROOT = Path(__file__).resolve().parents[2]

DJANGO_NAMES = [
    "FieldChange",
    "ModelChanges",
    "Observer",
    "RegisterSignalsFor",
    "SignalMapping",
    "SignalToEvent",
    "WriteRefused",
    "get_changes",
    "model_event_name",
]


@pytest.mark.parametrize("name", DJANGO_NAMES)
def test_django_names_are_exported_from_the_package(name: str) -> None:
    """Each Django name is in ``__all__`` and is the adapter's object, also under the 1.0 ``events`` path."""
    assert name in django_event_system.__all__
    assert getattr(django_event_system, name) is getattr(django_event_system.django, name)
    assert getattr(events, name) is getattr(django_event_system.django, name)


def test_adapter_all_is_sorted_and_importable() -> None:
    """The adapter's ``__all__`` is sorted and every name in it exists."""
    names = django_event_system.django.__all__
    assert list(names) == sorted(names)
    assert [name for name in names if not hasattr(django_event_system.django, name)] == []


def test_unknown_name_is_an_attribute_error() -> None:
    """A name that is neither core nor lazy raises AttributeError naming it."""
    with pytest.raises(AttributeError, match=r"module 'django_event_system' has no attribute 'Obsrver'"):
        django_event_system.Obsrver  # type: ignore[attr-defined]  # the type checkers refuse it too


def test_import_before_settings_are_configured() -> None:
    """Without settings, the package and its Django names import, and settings stay unconfigured."""
    code = textwrap.dedent(
        """
        import sys
        import django_event_system
        assert "django" not in sys.modules, "the core must not import Django"
        from django_event_system import Observer, RegisterSignalsFor, SignalToEvent
        from django_event_system.events import Observer as LegacyObserver
        from django_event_system.events import *
        assert LegacyObserver is Observer
        from django.conf import settings
        print(settings.configured)
        """
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    result = run_python("-W", "error", "-c", code, cwd=ROOT, env=env)
    assert result.stdout.strip() == "False"
