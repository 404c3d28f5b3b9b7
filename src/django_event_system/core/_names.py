"""Event names: the ``::`` convention and names derived from classes."""

from __future__ import annotations

__all__ = ["MODEL_EVENT_PREFIX", "GetPathFromClass", "get_path_from_class"]

MODEL_EVENT_PREFIX = "events::db::"
"""Model events are named ``events::db::<GetPathFromClass(Model)>::<action>`` (the Django adapter
dispatches them; the name is the 1.0 API's)."""


def GetPathFromClass(klass: type) -> str:
    """Return ``klass``'s dotted path written with ``::``: ``my::app::events::OrderPlaced``.

    ``::`` is used instead of ``.`` because ``.`` is a regex wildcard in patterns.
    """
    if not isinstance(klass, type):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"GetPathFromClass() takes a class, not {klass!r}")
    return f"{klass.__module__.replace('.', '::')}::{klass.__name__}"


get_path_from_class = GetPathFromClass
