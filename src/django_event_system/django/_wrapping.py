"""Methods of a model class replaced by wrappers, and given back: the one way the adapter does it.

Change tracking wraps ``from_db`` and ``refresh_from_db``, inline hooks ``_save_table``, the model
bindings ``save_base`` and ``_do_insert``. Each wrapper is set in the model's own ``__dict__`` and
remembers what was there (``None`` when the model inherited the method), so that unwrapping puts
back the model's own method or deletes the wrapper; a classmethod's function carries the mark.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.db.models import Model

__all__ = ["is_wrapped", "unwrap", "wrap"]

_ORIGINAL = "__event_system_original__"


def _function(attribute: object) -> object:
    """The function behind a class attribute (a classmethod's own)."""
    return attribute.__func__ if isinstance(attribute, classmethod) else attribute  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]


def is_wrapped(model: type[Model], name: str) -> bool:
    """Whether ``model``'s own ``name`` is a wrapper set by :func:`wrap`."""
    current: object = vars(model).get(name)
    return current is not None and hasattr(_function(current), _ORIGINAL)


def wrap(
    model: type[Model],
    name: str,
    wrapper: Callable[..., Any],
    original: Callable[..., Any],
    *,
    as_classmethod: bool = False,
) -> None:
    """Set ``wrapper`` (of ``original``, the function ``model`` has now) as ``model``'s own ``name``."""
    functools.update_wrapper(wrapper, original)
    setattr(wrapper, _ORIGINAL, vars(model).get(name))
    setattr(model, name, classmethod(wrapper) if as_classmethod else wrapper)


def unwrap(model: type[Model], name: str) -> None:
    """Undo :func:`wrap`: put back the model's own method, or delete the wrapper if it had none."""
    current: object = vars(model).get(name)
    if current is None or not hasattr(_function(current), _ORIGINAL):
        return
    original: object = getattr(_function(current), _ORIGINAL)
    if original is None:
        delattr(model, name)
    else:
        setattr(model, name, original)
