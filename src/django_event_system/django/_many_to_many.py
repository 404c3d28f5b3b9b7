"""Many-to-many changes as model events: Django's ``m2m_changed`` mapped to ``m2m_added``,
``m2m_removed`` and ``m2m_cleared``.

Django sends ``m2m_changed`` with the intermediate (``through``) model as sender and, as
``instance``, the object whose related manager was used. The event is that object's model's:
``article.tags.add(tag)`` dispatches ``Article``'s ``m2m_added`` (``reverse`` false) and
``tag.articles.add(article)`` ``Tag``'s (``reverse`` true), each when that model is bound (an
Observer or ``RegisterSignalsFor``). An Observer that wants every change of a relation, from both
sides, observes both models.

The receiver is connected for the intermediate models of the bound models only, whenever a model
binding changes (:func:`watch`): a connected receiver makes Django look up which rows an
``add()`` really adds, one query more, which models that nobody observes never pay. A change
that changes nothing (an ``add()`` of rows already there) dispatches nothing. For
``m2m_cleared``, the primary keys that ``clear()`` removes are read just before it, in its
transaction, and only when a handler can receive the event.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Hashable, Mapping
from typing import Any, Protocol

from django.db.models import ManyToManyRel, Model, signals

from ..core import EventDispatcher
from ._payloads import M2MChanged
from ._transactions import dispatch_model_event

__all__ = ["watch", "watched_through_models"]


class _Binding(Protocol):
    """What this module needs of a model binding (``_models.ModelBinding``)."""

    @property
    def model(self) -> type[Model]: ...
    @property
    def names(self) -> Mapping[Any, str]: ...
    @property
    def dispatchers(self) -> tuple[EventDispatcher, ...]: ...
    @property
    def claims(self) -> Mapping[Hashable, object]: ...
    def targets(self) -> Mapping[Any, tuple[EventDispatcher, ...]]: ...


_ACTIONS = {"post_add": "m2m_added", "post_remove": "m2m_removed", "post_clear": "m2m_cleared"}
_UID = "django_event_system:m2m_changed:"

_watched: dict[type[Model], _Binding] = {}
_connected: set[type[Model]] = set()
_lock = threading.Lock()
# Per (intermediate model, instance's model, reverse): the relation's name, and the names of the
# intermediate model's foreign keys to the instance's side and to the other side.
_relations: dict[tuple[type[Model], type[Model], bool], tuple[str, str, str] | None] = {}
# The primary keys a clear() removes, read by pre_clear for its post_clear, by (id(instance),
# intermediate model, reverse); the instance is kept to tell a reused id apart.
_clearing: dict[tuple[int, type[Model], bool], tuple[Model, frozenset[Any]]] = {}


def watch(binding: _Binding) -> None:
    """Follow a model binding's claims: a claimed model's many-to-many changes are dispatched."""
    with _lock:
        if binding.claims:
            _watched[binding.model] = binding
        else:
            _watched.pop(binding.model, None)
        wanted = {through for model in _watched for through in _through_models(model)}
        for through in wanted - _connected:
            signals.m2m_changed.connect(
                _changed, sender=through, weak=False, dispatch_uid=f"{_UID}{through._meta.label}"
            )
        for through in _connected - wanted:
            signals.m2m_changed.disconnect(sender=through, dispatch_uid=f"{_UID}{through._meta.label}")
        _connected.clear()
        _connected.update(wanted)


def watched_through_models() -> frozenset[type[Model]]:
    """The intermediate models whose ``m2m_changed`` is connected now."""
    return frozenset(_connected)


def _through_models(model: type[Model]) -> list[type[Model]]:
    """The resolved intermediate models of ``model``'s many-to-many relations, both sides."""
    found: list[type[Model]] = []
    for field in model._meta.many_to_many:
        _add_resolved(found, field.remote_field.through)
    for relation in model._meta.related_objects:
        if isinstance(relation, ManyToManyRel):
            _add_resolved(found, relation.through)
    return found


def _add_resolved(found: list[type[Model]], through: object) -> None:
    # A lazy reference ("app.Model") is a string until both models are loaded.
    if isinstance(through, type) and issubclass(through, Model):
        found.append(through)


def _relation(through: type[Model], model: type[Model], reverse: bool) -> tuple[str, str, str] | None:
    key = (through, model, reverse)
    if key not in _relations:
        _relations[key] = _find_relation(through, model, reverse)
    return _relations[key]


def _find_relation(through: type[Model], model: type[Model], reverse: bool) -> tuple[str, str, str] | None:
    if not reverse:
        for field in model._meta.many_to_many:
            if field.remote_field.through is through:
                return field.name, field.m2m_field_name(), field.m2m_reverse_field_name()
        return None
    for relation in model._meta.related_objects:
        if isinstance(relation, ManyToManyRel) and relation.through is through:
            accessor = relation.get_accessor_name()
            if accessor is None:  # related_name="+": no manager on this side
                return None
            forward = relation.field
            return accessor, forward.m2m_reverse_field_name(), forward.m2m_field_name()
    return None


def _receivers(binding: _Binding, action: str) -> tuple[EventDispatcher, ...]:
    return binding.targets()[action]


def _changed(
    sender: type[Model],
    instance: Model,
    action: str,
    reverse: bool,
    model: type[Model],
    pk_set: Collection[Any] | None,
    using: str,
    **kwargs: Any,
) -> None:
    binding = _watched.get(type(instance))
    if binding is None:
        return
    if action == "pre_clear":
        _read_cleared(binding, sender, instance, reverse, using)
        return
    short = _ACTIONS.get(action)
    if short is None:
        return
    if short == "m2m_cleared":
        held = _clearing.pop((id(instance), sender, reverse), None)
        pks: frozenset[Any] = held[1] if held is not None and held[0] is instance else frozenset()
    else:
        pks = frozenset(pk_set or ())
    name = binding.names[short]
    targets = _receivers(binding, short)
    relation = _relation(sender, type(instance), reverse)
    if not pks or not targets or relation is None:
        return
    change = M2MChanged(instance, relation[0], model, pks, reverse, sender)
    for dispatcher in targets:
        dispatch_model_event(dispatcher, name, change, using)


def _read_cleared(binding: _Binding, through: type[Model], instance: Model, reverse: bool, using: str) -> None:
    relation = _relation(through, type(instance), reverse)
    if relation is None or not _receivers(binding, "m2m_cleared"):
        return
    _, source, target = relation
    # A foreign key's name in values_list() gives its raw value, as Django's pk_set holds it.
    rows = through._base_manager.using(using).filter(**{source: instance}).values_list(target, flat=True)
    _clearing[(id(instance), through, reverse)] = (instance, frozenset(rows))
