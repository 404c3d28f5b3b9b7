"""What an update changed: a snapshot of an observed instance's fields, compared at save time.

The snapshot is taken when an instance of an observed model is built (loaded from the database
or created in code) and refreshed after each save and each ``refresh_from_db()`` (which is also
how Django loads a deferred field on first access). Only observed models pay for it: the
``post_init`` receiver is connected, and ``refresh_from_db`` wrapped, for them alone.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any, Generic, NamedTuple, TypeVar

from django.db.models import Model

__all__ = ["FieldChange", "ModelChanges", "get_changes", "is_tracked"]

ModelT = TypeVar("ModelT", bound=Model)

_SNAPSHOT = "_event_system_snapshot"
_CHANGES = "_event_system_changes"
_MUTABLE = (dict, list, set, bytearray)
_ORIGINAL = "__event_system_original__"

# Filled by the model bindings: the models whose changes are tracked.
_tracked: set[type[Model]] = set()


class FieldChange(NamedTuple):
    """One field's value before and after a save."""

    old: Any
    new: Any


class ModelChanges(Mapping[str, FieldChange], Generic[ModelT]):
    """The fields that a save changed, by field name, each with its previous and new value.

    It is a read-only mapping: ``"status" in changes``, ``changes["status"].old``,
    ``list(changes)``. Foreign keys are keyed by the field name and hold the ids. A field that
    was deferred when the instance was loaded is not known and never listed. For a new instance
    (creating, created) it is empty.
    """

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, FieldChange] | None = None) -> None:
        self._fields: dict[str, FieldChange] = dict(fields or {})

    def __getitem__(self, field: str) -> FieldChange:
        try:
            return self._fields[field]
        except KeyError:
            raise KeyError(f"field {field!r} did not change (changed: {sorted(self._fields)})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def previous(self, field: str, default: Any = None) -> Any:
        """The value ``field`` had before the save, or ``default`` if it did not change."""
        change = self._fields.get(field)
        return default if change is None else change.old

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}: {change.old!r} -> {change.new!r}" for name, change in self._fields.items())
        return f"<ModelChanges {inner or 'none'}>"


def is_tracked(model: type[Model]) -> bool:
    """Whether the changes of ``model``'s instances are tracked."""
    return model in _tracked


def get_changes(instance: ModelT) -> ModelChanges[ModelT]:
    """Return what the latest save of ``instance`` changed.

    Call it from an ``updating`` or ``updated`` handler. Handlers run after the save, so when the
    same object is saved twice before they run, both see the latest save.

    :raises LookupError: the model's changes are not tracked (observe it with an ``Observer`` or
        ``RegisterSignalsFor``).
    """
    model = type(instance)
    if not is_tracked(model):
        raise LookupError(
            f"the changes of {model.__qualname__} instances are not tracked: observe the model with an "
            f"Observer or RegisterSignalsFor({model.__qualname__}) (with track_changes=True)"
        )
    changes: ModelChanges[ModelT] | None = instance.__dict__.get(_CHANGES)
    return changes if changes is not None else ModelChanges()


def _copy(value: Any) -> Any:
    # Containers (JSON fields, arrays) are changed in place; keep the old value apart.
    return copy.deepcopy(value) if isinstance(value, _MUTABLE) else value  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]


def take_snapshot(instance: Model, update_fields: Collection[str] | None = None) -> None:
    """Remember the current field values (only ``update_fields`` when given)."""
    data = instance.__dict__
    snapshot: dict[str, Any] = dict(data.get(_SNAPSHOT) or {}) if update_fields else {}
    for field in instance._meta.concrete_fields:
        if update_fields and field.name not in update_fields and field.attname not in update_fields:
            continue
        if field.attname in data:
            snapshot[field.name] = _copy(data[field.attname])
    data[_SNAPSHOT] = snapshot  # pyright: ignore[reportIndexIssue]


def record_changes(instance: Model, update_fields: Collection[str] | None = None) -> None:
    """Compare the instance with its snapshot and keep the result for ``get_changes``."""
    data = instance.__dict__
    snapshot: dict[str, Any] = data.get(_SNAPSHOT) or {}
    changed: dict[str, FieldChange] = {}
    for field in instance._meta.concrete_fields:
        if update_fields and field.name not in update_fields and field.attname not in update_fields:
            continue
        if field.name not in snapshot or field.attname not in data:
            continue
        old, new = snapshot[field.name], data[field.attname]
        try:
            different = bool(old != new)
        except Exception:  # values that cannot be compared count as changed
            different = True
        if different:
            changed[field.name] = FieldChange(old, _copy(new))
    data[_CHANGES] = ModelChanges(changed)  # pyright: ignore[reportIndexIssue]


def clear_changes(instance: Model) -> None:
    """A new instance has no changes."""
    instance.__dict__[_CHANGES] = ModelChanges()  # pyright: ignore[reportIndexIssue]


def watch_refreshes(model: type[Model]) -> None:
    """Wrap ``model.refresh_from_db`` so that the fields it reloads are snapshotted again.

    Otherwise an instance refreshed after the row changed elsewhere would report that change on
    its next save, and a deferred field loaded on first access would never be listed.
    """
    current = vars(model).get("refresh_from_db")
    if current is not None and hasattr(current, _ORIGINAL):
        return
    original: Callable[..., None] = model.refresh_from_db

    def refresh_from_db(
        self: Model, using: str | None = None, fields: Collection[str] | None = None, **kwargs: Any
    ) -> None:
        original(self, using, fields, **kwargs)
        if type(self) in _tracked:
            take_snapshot(self, fields)

    functools.update_wrapper(refresh_from_db, original)
    # None: the model inherited refresh_from_db, and unwatching deletes the wrapper.
    setattr(refresh_from_db, _ORIGINAL, current)
    setattr(model, "refresh_from_db", refresh_from_db)  # noqa: B010 - mypy forbids assigning a method


def unwatch_refreshes(model: type[Model]) -> None:
    """Undo :func:`watch_refreshes`."""
    current = vars(model).get("refresh_from_db")
    if current is None or not hasattr(current, _ORIGINAL):
        return
    original = getattr(current, _ORIGINAL)
    if original is None:
        delattr(model, "refresh_from_db")
    else:
        setattr(model, "refresh_from_db", original)  # noqa: B010
