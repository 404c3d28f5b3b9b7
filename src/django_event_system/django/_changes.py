"""What an update changed: a snapshot of an observed instance's fields, compared when asked.

The snapshot is taken when an instance of an observed model is built (loaded from the database
or created in code) and refreshed after each save and each ``refresh_from_db()`` (which is also
how Django loads a deferred field on first access). Only observed models pay for it: the
``post_init`` receiver is connected, and ``refresh_from_db`` wrapped, for them alone.

What it costs is kept to what is read, since most loaded rows are never saved and most saves
have no handler that asks what changed:

- **Values by reference.** A snapshot is the tuple of the instance's field values, in the
  order of the model's concrete fields, read from ``__dict__`` with one ``itemgetter`` call
  (``_MISSING`` for a deferred field). An immutable value needs no copy: the instance can only
  replace it, which leaves the snapshot's reference as it was.
- **Copies of containers only.** A value that can change in place (a ``dict``, ``list``,
  ``set`` or ``bytearray``: a JSON field's) is copied, as that is the only way to see an in-place
  change later. Only the fields whose class is not one of Django's scalar fields (``CharField``,
  ``IntegerField``, ``DateTimeField``... see ``_SCALAR_FIELDS``) are looked at, and a plain
  ``dict`` or ``list`` is kept as ``marshal`` bytes, about ten times cheaper to make than a
  ``deepcopy`` and turned back into a value only when compared (other containers, and those
  ``marshal`` refuses, are deep-copied).
- **Changes computed when asked.** An update's ``pre_save`` keeps the previous snapshot and one
  of the values being saved; :func:`get_changes` compares them on its first call, once. A save
  whose handlers never ask compares nothing.

The snapshots of a save are taken in the saving code's stack, so after-commit and queued
handlers, which run later, see the save's changes however the instance changes meanwhile (until
it is saved again). What remains, per loaded instance, is Django's ``post_init`` dispatch to the
receiver, the tuple, and a ``marshal`` call per container value.
"""

from __future__ import annotations

import copy
import functools
import marshal
import operator
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any, Generic, NamedTuple, TypeVar, cast

from django.db import models
from django.db.models import Model

__all__ = ["FieldChange", "ModelChanges", "get_changes", "is_tracked"]

ModelT = TypeVar("ModelT", bound=Model)

_SNAPSHOT = "_event_system_snapshot"
_COPIES = "_event_system_copies"
_CHANGES = "_event_system_changes"
_MUTABLE = (dict, list, set, bytearray)
_MARSHALLED: frozenset[type[Any]] = frozenset({dict, list})
"""Containers kept as ``marshal`` bytes (exactly these types: a subclass may not round-trip)."""
_ORIGINAL = "__event_system_original__"

_SCALAR_FIELDS: frozenset[type[models.Field[Any, Any]]] = frozenset(
    {
        models.AutoField,
        models.BigAutoField,
        models.SmallAutoField,
        models.BooleanField,
        models.CharField,
        models.TextField,
        models.SlugField,
        models.EmailField,
        models.URLField,
        models.IntegerField,
        models.BigIntegerField,
        models.SmallIntegerField,
        models.PositiveIntegerField,
        models.PositiveBigIntegerField,
        models.PositiveSmallIntegerField,
        models.FloatField,
        models.DecimalField,
        models.DateField,
        models.DateTimeField,
        models.TimeField,
        models.DurationField,
        models.UUIDField,
        models.GenericIPAddressField,
        models.FilePathField,
    }
)
"""Django's fields whose values are never containers: their values are kept by reference alone.
Exact classes: a subclass may convert its values otherwise."""


class _Missing:
    """A field that the instance has not loaded (deferred)."""

    def __repr__(self) -> str:
        return "<not loaded>"

    def __reduce__(self) -> str:
        # The one instance, through pickle and copy: a cached or copied model instance keeps
        # its snapshot, and a deferred field in it must stay unknown.
        return "_MISSING"


_MISSING: Any = _Missing()

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
    data = vars(instance)
    changes: ModelChanges[ModelT] | _PendingChanges | None = data.get(_CHANGES)
    if changes is None:
        return _NO_CHANGES
    if isinstance(changes, _PendingChanges):
        pending = changes
        changes = pending.compare()
        if data.get(_CHANGES) is pending:  # not saved again meanwhile
            data[_CHANGES] = changes
    return changes


def _is_scalar(field: models.Field[Any, Any]) -> bool:
    if type(field) in (models.ForeignKey, models.OneToOneField):
        # The attribute holds the target's key: scalar when the target field is.
        target: object = getattr(field, "target_field", None)
        return (
            isinstance(target, models.Field)
            and target is not field
            and _is_scalar(cast("models.Field[Any, Any]", target))  # type: ignore[redundant-cast]
        )
    return type(field) in _SCALAR_FIELDS


class _Layout:
    """How a model's snapshots are laid out: its concrete fields, in order, and how to read them."""

    __slots__ = ("attnames", "containers", "copies", "fields", "names", "read")

    def __init__(self, fields: Sequence[models.Field[Any, Any]]) -> None:
        self.fields = fields
        self.attnames = tuple(field.attname for field in fields)
        self.names = tuple(field.name for field in fields)
        self.read: Callable[[dict[str, Any]], tuple[Any, ...]]
        if len(self.attnames) == 1:
            (only,) = self.attnames
            self.read = lambda data: (data[only],)
        else:
            self.read = operator.itemgetter(*self.attnames)
        self.containers = tuple(index for index, field in enumerate(fields) if not _is_scalar(field))
        """The indices of the fields whose values may be containers: the only ones copied."""
        self.copies: Callable[[tuple[Any, ...]], tuple[Any, ...] | None] = (
            _copy_one(self.containers[0]) if len(self.containers) == 1 else self._copy_each
        )
        """Frozen copies of the container values, one per index of :attr:`containers` (``_MISSING``
        where the value is no container), or ``None`` when there is none."""

    def values(self, data: dict[str, Any]) -> tuple[Any, ...]:
        """The instance's values, by reference, ``_MISSING`` for the fields it has not loaded."""
        try:
            return self.read(data)
        except KeyError:  # a deferred field
            return tuple([data.get(attname, _MISSING) for attname in self.attnames])

    def _copy_each(self, values: tuple[Any, ...]) -> tuple[Any, ...] | None:
        copies: list[Any] | None = None
        for position, index in enumerate(self.containers):
            value = values[index]
            if isinstance(value, _MUTABLE):
                if copies is None:
                    copies = [_MISSING] * len(self.containers)
                copies[position] = _frozen(value)
        return None if copies is None else tuple(copies)

    def value(self, snapshot: _Snapshot, index: int) -> Any:
        """The value of field ``index`` in ``snapshot``: a fresh copy of a container's."""
        values, copies = snapshot
        if copies is not None and index in self.containers:
            frozen = copies[self.containers.index(index)]
            if frozen is not _MISSING:
                # marshal's bytes, or a deep copy: a container, which is never exactly bytes.
                return marshal.loads(frozen) if type(frozen) is bytes else frozen
        return values[index]

    def listed(self, index: int, update_fields: Collection[str] | None) -> bool:
        """Whether field ``index`` counts for a save with ``update_fields``."""
        return not update_fields or self.names[index] in update_fields or self.attnames[index] in update_fields


def _frozen(value: Any) -> Any:
    """A copy of a container that no later change of ``value`` reaches (see ``_Layout.value``)."""
    kind: type[Any] = type(value)  # pyright: ignore[reportUnknownVariableType]
    if kind in _MARSHALLED:
        try:
            return marshal.dumps(value)
        except ValueError:  # a value marshal does not know (a Decimal, a subclass...)
            pass
    return copy.deepcopy(value)


def _copy_one(index: int) -> Callable[[tuple[Any, ...]], tuple[Any, ...] | None]:
    """``_Layout.copies`` of a model with one field that may hold a container (a JSON field): the
    common case, unrolled, as it runs for every instance built."""

    def copies(values: tuple[Any, ...]) -> tuple[Any, ...] | None:
        value: Any = values[index]
        kind: type[Any] = type(value)  # pyright: ignore[reportUnknownVariableType]
        if kind in _MARSHALLED:
            try:
                return (marshal.dumps(value),)
            except ValueError:
                pass
        elif not isinstance(value, _MUTABLE):
            return None
        return (copy.deepcopy(cast("Any", value)),)

    return copies


_layouts: dict[type[Model], _Layout] = {}

_Snapshot = tuple[tuple[Any, ...], tuple[Any, ...] | None]
"""The values (by reference, ``_MISSING`` if not loaded) and the copies of the containers among them."""


def _layout_of(model: type[Model]) -> _Layout:
    # Checked against the fields themselves: Django builds them anew when its app cache is cleared.
    fields = model._meta.concrete_fields
    layout = _layouts.get(model)
    if layout is None or layout.fields is not fields:
        layout = _layouts[model] = _Layout(fields)
    return layout


def snapshot_on_init(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    """The ``post_init`` receiver of a tracked model: remember the values the instance was built with.

    It runs for every instance built, loaded rows first: the values go as they are, in one tuple,
    and copies of containers in another, only when there are some.
    """
    layout = _layouts.get(sender)
    if layout is None or layout.fields is not sender._meta.concrete_fields:
        layout = _layout_of(sender)
    data = vars(instance)
    try:
        values = layout.read(data)
    except KeyError:  # a deferred field
        values = layout.values(data)
    data[_SNAPSHOT] = values
    if layout.containers:
        copies = layout.copies(values)
        if copies is not None:
            data[_COPIES] = copies


def _stored(data: dict[str, Any], layout: _Layout) -> _Snapshot | None:
    """The instance's snapshot, if it has one that fits the model's fields."""
    values: object = data.get(_SNAPSHOT)
    # A tuple of the model's fields: not one from before a field was added, nor the dict an
    # instance pickled by an earlier version of this package carries.
    if type(values) is not tuple or len(cast("tuple[Any, ...]", values)) != len(layout.attnames):  # type: ignore[redundant-cast]
        return None
    return cast("tuple[Any, ...]", values), data.get(_COPIES)  # type: ignore[redundant-cast]


def _store(data: dict[str, Any], snapshot: _Snapshot) -> None:
    values, copies = snapshot
    data[_SNAPSHOT] = values
    if copies is None:
        data.pop(_COPIES, None)
    else:
        data[_COPIES] = copies


def _current(data: dict[str, Any], layout: _Layout) -> _Snapshot:
    values = layout.values(data)
    return values, layout.copies(values) if layout.containers else None


def take_snapshot(instance: Model, update_fields: Collection[str] | None = None) -> None:
    """Remember the current field values (only ``update_fields`` when given)."""
    data = vars(instance)
    layout = _layout_of(type(instance))
    snapshot = _current(data, layout)
    if update_fields:
        snapshot = _merged(layout, _stored(data, layout), snapshot, update_fields)
    _store(data, snapshot)


def _merged(
    layout: _Layout, previous: _Snapshot | None, current: _Snapshot, update_fields: Collection[str]
) -> _Snapshot:
    """``current`` for ``update_fields`` (those it has loaded), ``previous`` for the other fields."""
    count = len(layout.attnames)
    values = [layout.value(previous, index) if previous is not None else _MISSING for index in range(count)]
    for index in range(count):
        if layout.listed(index, update_fields) and current[0][index] is not _MISSING:
            values[index] = layout.value(current, index)
    merged = tuple(values)
    return merged, layout.copies(merged) if layout.containers else None


class _PendingChanges:
    """An update's changes, compared on first read: the snapshot before the save and the values saved."""

    __slots__ = ("after", "before", "layout", "update_fields")

    def __init__(
        self, layout: _Layout, before: _Snapshot | None, after: _Snapshot, update_fields: Collection[str] | None
    ) -> None:
        self.layout = layout
        self.before = before
        self.after = after
        self.update_fields = update_fields

    def compare(self) -> ModelChanges[Any]:
        layout, before, after = self.layout, self.before, self.after
        if before is None:
            return ModelChanges()
        changed: dict[str, FieldChange] = {}
        for index in range(len(layout.attnames)):
            if before[0][index] is _MISSING or after[0][index] is _MISSING:
                continue
            if not layout.listed(index, self.update_fields):
                continue
            old, new = layout.value(before, index), layout.value(after, index)
            try:
                different = bool(old != new)
            except Exception:  # values that cannot be compared count as changed
                different = True
            if different:
                changed[layout.names[index]] = FieldChange(old, new)
        return ModelChanges(changed)


_NO_CHANGES: ModelChanges[Any] = ModelChanges()


def record_changes(instance: Model, update_fields: Collection[str] | None = None) -> None:
    """Keep the snapshot and the values about to be saved, for ``get_changes`` to compare."""
    data = vars(instance)
    layout = _layout_of(type(instance))
    data[_CHANGES] = _PendingChanges(layout, _stored(data, layout), _current(data, layout), update_fields)


def clear_changes(instance: Model) -> None:
    """A new instance has no changes."""
    vars(instance)[_CHANGES] = _NO_CHANGES


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
