"""Checks of the options that users pass, shared by every part of the core."""

from __future__ import annotations

__all__ = ["is_int"]


def is_int(value: object) -> bool:
    """Whether ``value`` is an int and not a bool (``True`` is no pool size)."""
    return isinstance(value, int) and not isinstance(value, bool)
