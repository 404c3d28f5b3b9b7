"""Tests for event names derived from classes."""

from __future__ import annotations

import pytest

from django_event_system.core import Event, GetPathFromClass, get_path_from_class


class Plain:
    """A class that is not an event: any class has a path."""


class Shipped(Event):
    pass


def test_path_uses_double_colons_for_module_dots() -> None:
    """``GetPathFromClass`` joins the module path and the class name with ``::``."""
    assert GetPathFromClass(Plain) == "tests::core::test_names::Plain"


def test_path_of_a_builtin_and_an_event_class() -> None:
    """Builtins and Event classes get a path the same way."""
    assert GetPathFromClass(int) == "builtins::int"
    assert GetPathFromClass(Shipped) == "tests::core::test_names::Shipped"
    assert str(Shipped) == GetPathFromClass(Shipped)


def test_path_contains_no_regex_wildcard_dot() -> None:
    """A path never contains ``.``, which would be a wildcard in a pattern."""
    assert "." not in GetPathFromClass(Plain)


def test_path_of_a_class_from_a_dynamic_module() -> None:
    """A class's ``__module__`` is what the path is built from."""
    klass = type("Dynamic", (), {"__module__": "my.app.events"})
    assert GetPathFromClass(klass) == "my::app::events::Dynamic"


@pytest.mark.parametrize("value", [Plain(), "my.module.Class", None])
def test_non_class_is_rejected(value: object) -> None:
    """Passing something that is not a class raises TypeError naming it."""
    with pytest.raises(TypeError, match=r"GetPathFromClass\(\) takes a class, not "):
        GetPathFromClass(value)  # type: ignore[arg-type]


def test_pep8_alias_is_the_same_function() -> None:
    """``get_path_from_class`` is ``GetPathFromClass``."""
    assert get_path_from_class is GetPathFromClass
