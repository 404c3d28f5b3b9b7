"""What an update changed: a snapshot of an observed instance's fields, compared when asked.

The snapshot is taken when a row of an observed model is loaded (its ``from_db``, wrapped) and
refreshed after each save and each ``refresh_from_db()`` (which is also how Django loads a
deferred field on first access). An instance made in code is new: it has nothing to compare with
until its first save takes a snapshot, so it pays nothing (no ``post_init`` receiver). Only
observed models pay at all: ``from_db`` and ``refresh_from_db`` are wrapped for them alone.

What it costs is kept to what is read, since most loaded rows are never saved and most saves
have no handler that asks what changed:

- **Values by reference.** A loaded row's snapshot is the very list of values that ``from_db``
  was given (nothing read, nothing allocated), unless a field's attribute converts what it is
  set to; otherwise, and after a save, it is the tuple of the instance's field values, in the
  order of the model's concrete fields, read from ``__dict__`` with one ``itemgetter`` call
  (``_MISSING`` for a deferred field). An immutable value needs no copy: the instance can only
  replace it, which leaves the snapshot's reference as it was.
- **Copies of containers only.** A value that can change in place (a ``dict``, ``list``,
  ``set`` or ``bytearray``: a JSON field's) needs a frozen copy, as that is the only way to see an
  in-place change later. For a JSON value loaded from a row, the copy is the text the database
  returned, which the field's converter keeps (:class:`_Texts`): nothing is copied. After a save,
  and for other containers, a plain ``dict`` or ``list`` is kept as ``marshal`` bytes, about ten
  times cheaper to make than a ``deepcopy`` (others, and those ``marshal`` refuses, are
  deep-copied). Only the fields whose class is not one of Django's scalar fields (``CharField``,
  ``IntegerField``, ``DateTimeField``... see ``_SCALAR_FIELDS``) are looked at. A frozen copy is
  turned back into a value only when compared.
- **Changes computed when asked.** After an update, ``post_save`` keeps the previous snapshot
  and the values the save wrote (a field's ``pre_save``, ``auto_now``, included), in one tuple;
  :func:`get_changes` compares them on its first call, once. A save whose handlers never ask
  compares nothing. A ``pre_save`` receiver, connected only when a handler of ``creating``,
  ``updating`` or ``saving`` exists, also keeps the previous snapshot, for those handlers that
  run inside it (sync mode).

The snapshots of a save are taken in the saving code's stack, so after-commit and queued
handlers, which run later, see the save's changes however the instance changes meanwhile (until
it is saved again). What remains, per loaded row, is one call (the wrapped ``from_db``) and two
attributes; per save, one tuple of values and a ``marshal`` call per container value.
"""

from __future__ import annotations

import copy
import json
import marshal
import operator
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, Generic, NamedTuple, TypeVar, cast

from django.db import models
from django.db.models import Model

from ._wrapping import is_wrapped, unwrap, wrap

__all__ = ["FieldChange", "ModelChanges", "get_changes", "is_tracked"]

ModelT = TypeVar("ModelT", bound=Model)

_SNAPSHOT = "_event_system_snapshot"
_COPIES = "_event_system_frozen"
_CHANGES = "_event_system_changes"
_MUTABLE = (dict, list, set, bytearray)
_MARSHALLED: frozenset[type[Any]] = frozenset({dict, list})
"""Containers kept as ``marshal`` bytes (exactly these types: a subclass may not round-trip)."""
_MARSHAL_VERSION = 2
"""The ``marshal`` format of those bytes: version 2, whose writer keeps no table of the objects it
has written (3 and later do, to write each shared object once), which a copy made at every save
does not need; a value that nests too deep for it (a list that contains itself) is deep-copied."""
_BUILDS = "__event_system_builds__"

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
        changes = pending.compare(data)
        if pending.saved and data.get(_CHANGES) is pending:  # saved, and not again since
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

    __slots__ = (
        "attnames",
        "containers",
        "copies",
        "fields",
        "names",
        "only_container",
        "only_texts",
        "read",
        "single",
        "size",
        "texts",
        "whole",
    )

    def __init__(self, model: type[Model], fields: Sequence[models.Field[Any, Any]]) -> None:
        self.fields = fields
        self.attnames = tuple(field.attname for field in fields)
        self.names = tuple(field.name for field in fields)
        self.size = len(fields)
        self.read: Callable[[dict[str, Any]], tuple[Any, ...]]
        if len(self.attnames) == 1:
            (only,) = self.attnames
            self.read = lambda data: (data[only],)
        else:
            self.read = operator.itemgetter(*self.attnames)
        direct = not any(_converts_on_set(model, attname) for attname in self.attnames)
        self.whole = self.size if direct else -1
        """The length of a row that ``from_db`` keeps as its snapshot, as it is (nothing to read,
        nothing to allocate): every field loaded, and the values the instance is built with are
        those it keeps, unless a field's attribute is a data descriptor (which may convert what
        it is given), when it is ``-1``, which no row has."""
        self.containers = tuple(index for index, field in enumerate(fields) if not _is_scalar(field))
        """The indices of the fields whose values may be containers: the only ones copied."""
        self.single = len(self.containers) == 1
        self.only_container: int | None = self.containers[0] if self.single else None
        self.texts: dict[int, _Texts] = {
            index: texts for index in self.containers if (texts := _texts.get(fields[index])) is not None
        }
        """The JSON fields whose decoded texts are kept (see :class:`_Texts`), by index."""
        self.only_texts: _Texts | None = self.texts.get(self.containers[0]) if self.single else None
        self.copies: Callable[[Sequence[Any]], Any] = _copy_one(self.containers[0]) if self.single else self._copy_each
        """Frozen copies of the container values, or ``None`` when there is none: with one field
        that may hold a container (:attr:`single`), its copy itself; otherwise a tuple, one per index of
        :attr:`containers` (``_MISSING`` where the value is no container)."""

    def values(self, data: dict[str, Any]) -> tuple[Any, ...]:
        """The instance's values, by reference, ``_MISSING`` for the fields it has not loaded."""
        try:
            return self.read(data)
        except KeyError:  # a deferred field
            return tuple([data.get(attname, _MISSING) for attname in self.attnames])

    def loaded_copies(self, values: Sequence[Any]) -> tuple[Any, ...] | None:
        """:attr:`copies` of a row loaded, with the texts of its JSON values where they are kept."""
        if not self.texts:
            return self._copy_each(values)
        copies: list[Any] | None = None
        for position, index in enumerate(self.containers):
            value: object = values[index]
            if _is_mutable(value):
                if copies is None:
                    copies = [_MISSING] * len(self.containers)
                texts = self.texts.get(index)
                text = None if texts is None else texts.take(value)
                copies[position] = _frozen(value) if text is None else text
        return None if copies is None else tuple(copies)

    def _copy_each(self, values: Sequence[Any]) -> tuple[Any, ...] | None:
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
            frozen = copies if self.single else copies[self.containers.index(index)]
            if frozen is not _MISSING:
                # marshal's bytes, a JSON text, or a deep copy: a container, never bytes or a str.
                kind: type[Any] = type(frozen)  # pyright: ignore[reportUnknownVariableType]
                if kind is bytes:
                    return marshal.loads(frozen)
                if kind is str:
                    return _decode(self.fields[index], frozen)
                return frozen
        return values[index]

    def listed(self, index: int, update_fields: Collection[str] | None) -> bool:
        """Whether field ``index`` counts for a save with ``update_fields``."""
        return not update_fields or self.names[index] in update_fields or self.attnames[index] in update_fields


def _is_mutable(value: object) -> bool:
    return isinstance(value, _MUTABLE)


def _converts_on_set(model: type[Model], attname: str) -> bool:
    """Whether the model's attribute for a field is a data descriptor (``__set__``)."""
    attribute: object = vars(model).get(attname)
    return hasattr(type(attribute), "__set__")


def _decode(field: models.Field[Any, Any], text: str) -> Any:
    """A JSON field's value from its text, as the field decodes it from the database."""
    json_field = cast("models.JSONField[Any]", field)
    none: Any = None
    return models.JSONField.from_db_value(json_field, text, none, none)


def _frozen(value: Any) -> Any:
    """A copy of a container that no later change of ``value`` reaches (see ``_Layout.value``)."""
    kind: type[Any] = type(value)  # pyright: ignore[reportUnknownVariableType]
    if kind in _MARSHALLED:
        try:
            return marshal.dumps(value, _MARSHAL_VERSION)
        except ValueError:  # a value marshal does not know (a Decimal, a subclass...)
            pass
    return copy.deepcopy(value)


def _copy_one(index: int) -> Callable[[Sequence[Any]], Any]:
    """``_Layout.copies`` of a model with one field that may hold a container (a JSON field): the
    common case, unrolled, as it runs for every row loaded. The copy is kept as it is, in no
    tuple: ``bytes`` are no object the garbage collector follows, a tuple is."""

    def copies(values: Sequence[Any]) -> Any:
        value: Any = values[index]
        kind: type[Any] = type(value)  # pyright: ignore[reportUnknownVariableType]
        if kind in _MARSHALLED:
            try:
                return marshal.dumps(value, _MARSHAL_VERSION)
            except ValueError:
                pass
        elif not isinstance(value, _MUTABLE):
            return None
        return copy.deepcopy(cast("Any", value))

    return copies


class _Texts:
    """The latest value a tracked model's JSON field decoded from the database, with its text.

    A JSON value loaded from a row needs a frozen copy, as it may change in place; the text it
    was decoded from is one, already made, and immutable. So the field's converter is wrapped to
    keep the pair, and the row's snapshot takes the text when the value it is built with is that
    very object (anything else, such as another thread's row, falls back to a copy). The text is
    decoded again only if a save asks what changed.
    """

    __slots__ = ("last", "models")

    def __init__(self) -> None:
        self.last: tuple[object, str] | None = None
        self.models: set[type[Model]] = set()

    def take(self, value: object) -> str | None:
        """The text ``value`` was decoded from, if it is the latest value decoded (once)."""
        last = self.last
        if last is not None and last[0] is value:
            self.last = None
            return last[1]
        return None


_texts: dict[models.Field[Any, Any], _Texts] = {}
"""The JSON fields of tracked models whose converters keep their texts."""


def _watch_texts(model: type[Model]) -> None:
    for field in model._meta.concrete_fields:
        if getattr(type(field), "from_db_value", None) is not models.JSONField.from_db_value:
            continue  # not a JSON field, or one that converts its texts its own way
        texts = _texts.get(field)
        if texts is None:
            texts = _texts[field] = _Texts()
            setattr(field, "from_db_value", _keeping_texts(field, texts))  # noqa: B010 - an instance attribute, found first
        texts.models.add(model)


def _keeping_texts(field: models.Field[Any, Any], texts: _Texts) -> Callable[[Any, Any, Any], Any]:
    """The JSON field's converter, wrapped to keep each text it decodes in ``texts``."""
    json_field = cast("models.JSONField[Any]", field)
    decode, loads, invalid = models.JSONField.from_db_value, json.loads, json.JSONDecodeError

    def from_db_value(value: Any, expression: Any, connection: Any) -> Any:
        if type(value) is not str:
            return decode(json_field, value, expression, connection)
        # What JSONField.from_db_value does with a text (the same in Django 5.2 and 6.1), written
        # out: it runs for every row loaded, and a call less is measurable there.
        try:
            decoded: Any = loads(value, cls=json_field.decoder)
        except invalid:
            return value  # not JSON: the text itself, which needs no copy
        texts.last = (decoded, value)
        return decoded

    return from_db_value


def _unwatch_texts(model: type[Model]) -> None:
    for field, texts in list(_texts.items()):
        texts.models.discard(model)
        if not texts.models:
            del _texts[field]
            vars(field).pop("from_db_value", None)


_layouts: dict[type[Model], _Layout] = {}

_Snapshot = tuple[Sequence[Any], Any]
"""The values (by reference, ``_MISSING`` if not loaded; a tuple, or the list of a row loaded)
and the copies of the containers among them (see ``_Layout.copies``)."""


def _layout_of(model: type[Model]) -> _Layout:
    # Checked against the fields themselves: Django builds them anew when its app cache is cleared.
    fields = model._meta.concrete_fields
    layout = _layouts.get(model)
    if layout is None or layout.fields is not fields:
        layout = _Layout(model, fields)
        if model in _tracked:  # the loads of tracked models alone find a layout here
            _layouts[model] = layout
    return layout


def _stored(data: dict[str, Any], layout: _Layout) -> _Snapshot | None:
    """The instance's snapshot, if it has one that fits the model's fields."""
    values: object = data.get(_SNAPSHOT)
    # A tuple or list of the model's fields: not one from before a field was added, nor the dict
    # an instance pickled by an earlier version of this package carries.
    if type(values) is not tuple and type(values) is not list:
        return None
    found = cast("Sequence[Any]", values)
    if len(found) != len(layout.attnames):
        return None
    return found, data.get(_COPIES)


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


def take_snapshots(model: type[Model], instances: Iterable[Model], fields: Collection[str] | None = None) -> None:
    """Remember the values of instances written without a ``post_save`` (``bulk_create()``,
    ``bulk_update()`` of ``fields``), if ``model`` is tracked."""
    if model in _tracked:
        for instance in instances:
            take_snapshot(instance, fields)


def saved(instance: Model, created: bool, update_fields: Collection[str] | None) -> None:
    """After a save: record what it changed, and remember the values it wrote.

    The values read here are those the save wrote (a field's ``pre_save``, such as
    ``auto_now``, has run). An update compares them with the snapshot from before the save (still
    the one kept, until this replaces it) when asked; a create has no changes. It runs at every
    save of a tracked model, so it is written out, with no call it can do without.
    """
    data = vars(instance)
    model = type(instance)
    layout = _layouts.get(model)
    if layout is None or layout.fields is not model._meta.concrete_fields:
        layout = _layout_of(model)
    values: Sequence[Any]
    try:
        values = layout.read(data)
    except KeyError:  # a deferred field
        values = layout.values(data)
    copies = layout.copies(values) if layout.containers else None
    if created:
        data[_CHANGES] = _NO_CHANGES
    else:
        before: Any = data.get(_SNAPSHOT)
        # A tuple or list of the model's fields: not one from before a field was added, nor the
        # dict an instance pickled by an earlier version of this package carries.
        if (type(before) is tuple or type(before) is list) and len(before) == layout.size:  # pyright: ignore[reportUnknownArgumentType]
            record: tuple[Any, ...] = (layout, before, data.get(_COPIES), values, copies, update_fields)  # pyright: ignore[reportUnknownVariableType]
            data[_CHANGES] = _PendingChanges(record)
        else:
            data[_CHANGES] = _NO_CHANGES
        if update_fields:
            values, copies = _merged(layout, _stored(data, layout), (values, copies), update_fields)
    data[_SNAPSHOT] = values
    if copies is None:
        data.pop(_COPIES, None)
    else:
        data[_COPIES] = copies


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


class _PendingChanges(tuple[Any, ...]):
    """An update's changes, compared on first read: the snapshot before the save and the values saved.

    A tuple, made at every update with no Python ``__init__`` to run: the layout, the values and
    copies before, the values and copies saved, and the save's ``update_fields``. The values saved
    are ``None`` in the record a ``pre_save`` receiver makes (:func:`record_changes`), until the
    save wrote its row; meanwhile (a synchronous ``updating`` handler, a save that failed) the
    instance's values are read when asked, and the answer is not kept.
    """

    __slots__ = ()

    @property
    def saved(self) -> bool:
        """Whether it holds the values the save wrote."""
        return self[3] is not None

    def compare(self, data: dict[str, Any]) -> ModelChanges[Any]:
        layout: _Layout = self[0]
        before: _Snapshot = (self[1], self[2])
        after: _Snapshot = (self[3], self[4]) if self[3] is not None else _current(data, layout)
        update_fields: Collection[str] | None = self[5]
        changed: dict[str, FieldChange] = {}
        for index in range(len(layout.attnames)):
            if before[0][index] is _MISSING or after[0][index] is _MISSING:
                continue
            if not layout.listed(index, update_fields):
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
    """Keep the snapshot from before an update, for ``get_changes`` to compare with the values saved."""
    data = vars(instance)
    layout = _layout_of(type(instance))
    before = _stored(data, layout)
    data[_CHANGES] = (
        _NO_CHANGES if before is None else _PendingChanges((layout, before[0], before[1], None, None, update_fields))
    )


def clear_changes(instance: Model) -> None:
    """A new instance has no changes."""
    vars(instance)[_CHANGES] = _NO_CHANGES


def watch_refreshes(model: type[Model]) -> None:
    """Wrap ``model.refresh_from_db`` so that the fields it reloads are snapshotted again.

    Otherwise an instance refreshed after the row changed elsewhere would report that change on
    its next save, and a deferred field loaded on first access would never be listed.
    """
    if is_wrapped(model, "refresh_from_db"):
        return
    original: Callable[..., None] = model.refresh_from_db

    def refresh_from_db(
        self: Model, using: str | None = None, fields: Collection[str] | None = None, **kwargs: Any
    ) -> None:
        original(self, using, fields, **kwargs)
        if type(self) in _tracked:
            take_snapshot(self, fields)

    wrap(model, "refresh_from_db", refresh_from_db, original)


def unwatch_refreshes(model: type[Model]) -> None:
    """Undo :func:`watch_refreshes`."""
    unwrap(model, "refresh_from_db")


def track(model: type[Model]) -> None:
    """Track the changes of ``model``'s instances: snapshot its rows as they load, and again
    after ``refresh_from_db``."""
    _tracked.add(model)
    _watch_texts(model)
    _layouts.pop(model, None)  # laid out again, with the texts of its JSON fields
    _watch_loads(model)
    watch_refreshes(model)


def untrack(model: type[Model]) -> None:
    """Undo :func:`track`."""
    _tracked.discard(model)
    _layouts.pop(model, None)
    _unwatch_texts(model)
    _unwatch_loads(model)
    unwatch_refreshes(model)


def _watch_loads(model: type[Model]) -> None:
    """Wrap ``model.from_db`` so that each row loaded is snapshotted as it is built.

    ``from_db`` builds every instance a query returns (``select_related``, ``raw()`` and
    ``refresh_from_db`` included) and no other: an instance made in code is new, and has nothing
    to compare with until its first save takes a snapshot. So, unlike a ``post_init`` receiver,
    it costs instances made in code nothing, and a loaded row one call: this one, which does
    the least it can, as it runs for every row.
    """
    if is_wrapped(model, "from_db"):
        return
    inherited: Callable[..., Model] = model.from_db.__func__  # type: ignore[attr-defined]
    # A wrapper inherited from an observed parent is skipped: one snapshot per row is enough.
    build: Callable[..., Model] = getattr(inherited, _BUILDS, inherited)
    layouts, tracked, layout_of, mutable = _layouts, _tracked, _layout_of, _MUTABLE

    def from_db(
        cls: type[Model],
        /,
        db: str | None,
        field_names: Collection[str],
        values: Sequence[Any],
        *,
        fetch_mode: Any = None,
    ) -> Model:
        # Django's own signature: 6.1 added fetch_mode, which 5.2 never passes. Passed on only
        # when given, so that a model's own from_db without it still works.
        if fetch_mode is None:
            instance = build(cls, db, field_names, values)
        else:
            instance = build(cls, db, field_names, values, fetch_mode=fetch_mode)
        # Only tracked models have a layout here, so this one look-up is also the test that
        # ``cls`` is tracked (a subclass of a tracked model may not be).
        layout = layouts.get(cls)
        if layout is None or layout.fields is not cls._meta.concrete_fields:
            if cls not in tracked:
                return instance
            layout = layout_of(cls)
        # Every line here runs for every row: the common case (the whole row loaded, as it is,
        # and one JSON field, decoded from its text just now) asks as little as it can.
        if len(values) == layout.whole and isinstance(values, (list, tuple)):
            # The row itself (a list made for this instance, or a tuple): nothing to read. Set
            # as an attribute, not through ``instance.__dict__``: CPython keeps a new
            # instance's attributes in place until something asks for its ``__dict__``.
            instance._event_system_snapshot = values  # type: ignore[attr-defined] # pyright: ignore[reportAttributeAccessIssue]
            texts = layout.only_texts
            if texts is not None:
                last = texts.last
                if last is not None and last[0] is values[layout.containers[0]]:
                    texts.last = None  # _Texts.take, unrolled
                    if isinstance(last[0], mutable):
                        instance._event_system_frozen = last[1]  # type: ignore[attr-defined] # pyright: ignore[reportAttributeAccessIssue]
                    return instance
            elif not layout.containers:
                return instance
        _loaded(instance, values, layout)
        return instance

    setattr(from_db, _BUILDS, build)
    wrap(model, "from_db", from_db, inherited, as_classmethod=True)


def _loaded(instance: Model, values: Sequence[Any], layout: _Layout) -> None:
    """The snapshot of a row loaded, in every case (``from_db``'s common one is unrolled there)."""
    snapshot: Sequence[Any]
    if len(values) == layout.whole and isinstance(values, (list, tuple)):
        snapshot = values
    else:
        data = vars(instance)
        try:
            snapshot = layout.read(data)
        except KeyError:  # a deferred field
            snapshot = layout.values(data)
    instance._event_system_snapshot = snapshot  # type: ignore[attr-defined] # pyright: ignore[reportAttributeAccessIssue]
    if layout.containers:
        copies = layout.loaded_copies(snapshot)
        if copies is not None:
            instance._event_system_frozen = copies[0] if layout.single else copies  # type: ignore[attr-defined] # pyright: ignore[reportAttributeAccessIssue]


def _unwatch_loads(model: type[Model]) -> None:
    """Undo :func:`_watch_loads`."""
    unwrap(model, "from_db")
