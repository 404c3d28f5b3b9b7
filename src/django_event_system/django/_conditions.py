"""Conditions on Observer methods: ``@on("updated", when="status", was="placed", is_now="shipped")``.

A condition is checked against the model when the Observer class is defined, and evaluated
from what the save changed (:func:`get_changes`): the snapshot taken in the saving code's stack,
so an after-commit or a queued method sees the save's changes however the instance changes in
memory meanwhile. A queued method's condition is evaluated in the process that saved, before
its message is sent (the worker loads the row again, which has no changes to compare).

The rules:

- ``when="status"`` alone: the field changed. With values, all of those given must hold:
  ``was`` (the value before the save), ``is_now`` (the value after it, changed or not),
  ``changes_to`` (the field changed, to this value), ``has_changed`` (``True``: it changed;
  ``False``: it did not).
- A field that ``save(update_fields=...)`` did not list did not change.
- What is about a change (``when`` alone, ``was``, ``changes_to``, ``has_changed``) is for
  ``updating`` and ``updated`` only: a new instance has no previous value, and ``saving`` and
  ``saved`` fire for creates too. ``is_now`` may go on any action of one instance (``creating``
  to ``deleted``): the field's value then. A value that the save did not change is read from
  the instance when the condition is evaluated.
"""

from __future__ import annotations

import difflib
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db.models import Field, Model

from ..core.integration import UNSET, OnSpec
from ._changes import ModelChanges, get_changes
from ._transactions import save_markers

__all__ = ["CHANGE_ACTIONS", "INSTANCE_ACTIONS", "Condition", "build_condition", "mark_save", "watch_saves"]

CHANGE_ACTIONS = frozenset({"updating", "updated"})
"""The actions whose events carry an update's changes: the only ones conditions about a change may name."""

INSTANCE_ACTIONS = frozenset({"creating", "created", "updating", "updated", "saving", "saved", "deleting", "deleted"})
"""The actions of one saved or deleted instance: those ``is_now`` may name."""


_CHANGES = "_event_system_changes"


class Condition:
    """One ``@on``'s conditions on one field, checked against the model."""

    __slots__ = ("attname", "changes_to", "field", "has_changed", "is_now", "was")

    def __init__(self, field: str, attname: str, spec: OnSpec) -> None:
        self.field = field
        self.attname = attname
        self.was: Any = spec.was
        self.is_now: Any = spec.is_now
        self.changes_to: Any = spec.changes_to
        # ``when`` alone: the field changed.
        bare = spec.was is UNSET and spec.is_now is UNSET and spec.changes_to is UNSET and spec.has_changed is None
        self.has_changed: bool | None = True if bare else spec.has_changed

    def holds(self, name: str, instance: Model) -> bool:
        """Whether the save that dispatched the event ``name`` meets every condition (the latest
        save of ``instance``, when the name does not carry its changes)."""
        changes: ModelChanges[Model] | None = (
            getattr(name, "_event_system_changes", None) if type(name) is not str else None
        )
        change = (changes if changes is not None else get_changes(instance)).get(self.field)
        changed = change is not None
        if self.has_changed is not None and changed is not self.has_changed:
            return False
        if self.changes_to is not UNSET and (change is None or not _equal(change.new, self.changes_to)):
            return False
        if self.was is not UNSET:
            old = change.old if change is not None else getattr(instance, self.attname)
            if not _equal(old, self.was):
                return False
        if self.is_now is not UNSET:
            new = change.new if change is not None else getattr(instance, self.attname)
            if not _equal(new, self.is_now):
                return False
        return True

    def __repr__(self) -> str:
        options = [f"when={self.field!r}"]
        for name in ("was", "is_now", "changes_to"):
            value = getattr(self, name)
            if value is not UNSET:
                options.append(f"{name}={value!r}")
        if self.has_changed is not None:
            options.append(f"has_changed={self.has_changed!r}")
        return f"<Condition {' '.join(options)}>"


class _SavedName(str):
    """A model event's name that carries what its save changed, taken where the instance was saved."""

    _event_system_changes: ModelChanges[Model]

    def __str__(self) -> str:
        # The dispatcher turns a str subclass into a str with str(): this keeps the changes.
        return self


def mark_save(name: str, instance: Model) -> str:
    """``name``, carrying the changes of the save that dispatches it (an update's; none for a create)."""
    marked = _SavedName(name)
    setattr(marked, _CHANGES, get_changes(instance))  # the attribute Condition.holds reads
    return marked


def watch_saves(model: type[Model], watched: bool) -> None:
    """Make the commit-sensitive events of ``model`` carry their save's changes (or stop): while
    an Observer with conditions observes it. Other models pay one dictionary look-up per event."""
    if watched:
        save_markers[model] = mark_save
    else:
        save_markers.pop(model, None)


def _equal(value: object, expected: object) -> bool:
    try:
        return bool(value == expected)
    except Exception:  # values that cannot be compared are not equal
        return False


def build_condition(model: type[Model], action: str, spec: OnSpec, where: str) -> Condition | None:
    """The condition of ``spec`` on ``model`` for ``action`` (``None`` when it has none).

    :raises ImproperlyConfigured: the field is not a field of the model that a save writes, or
        a condition is put on an action where it cannot hold.
    """
    when = spec.when
    if when is None:
        return None
    about_a_change = spec.was is not UNSET or spec.changes_to is not UNSET or spec.has_changed is not None
    about_a_change = about_a_change or spec.is_now is UNSET
    if action not in INSTANCE_ACTIONS:
        raise ImproperlyConfigured(
            f"{where}: {spec.describe()} puts a condition on {action!r}, whose event is not about one saved "
            f"instance; conditions go on {', '.join(sorted(INSTANCE_ACTIONS))}"
        )
    if about_a_change and action not in CHANGE_ACTIONS:
        which = _change_options(spec)
        raise ImproperlyConfigured(
            f"{where}: {spec.describe()}: {which} is about a change, which only an update has ({action!r} "
            f"fires for {'new instances' if action in ('creating', 'created') else _whom(action)}); put it on "
            "'updating' or 'updated', or test the value with is_now="
        )
    field = _field(model, when, where, spec)
    return Condition(field.name, field.attname, spec)


def _change_options(spec: OnSpec) -> str:
    named = [
        name
        for name, given in (
            ("was=", spec.was is not UNSET),
            ("changes_to=", spec.changes_to is not UNSET),
            ("has_changed=", spec.has_changed is not None),
        )
        if given
    ]
    return ", ".join(named) or "when= alone"


def _whom(action: str) -> str:
    return "creates and updates alike" if action in ("saving", "saved") else "deleted instances"


def _field(model: type[Model], name: str, where: str, spec: OnSpec) -> Field[Any, Any]:
    concrete = {field.name: field for field in model._meta.concrete_fields}
    found = concrete.get(name)
    if found is not None:
        return found
    by_attname = {field.attname: field for field in model._meta.concrete_fields if field.attname != field.name}
    if name in by_attname:
        hint = f"did you mean {by_attname[name].name!r}? (a foreign key is named by its field; its values are ids)"
    else:
        try:
            other = model._meta.get_field(name)
        except FieldDoesNotExist:
            close = difflib.get_close_matches(name, list(concrete), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"its fields are {', '.join(concrete)}"
        else:
            hint = f"{other.name!r} is not a column that a save writes (a many-to-many or reverse relation)"
    raise ImproperlyConfigured(
        f"{where}: {spec.describe()} names the field {name!r}, which {model._meta.label} does not have: {hint}"
    )
