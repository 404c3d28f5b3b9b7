"""Bulk writes as model events: a queryset and a manager that dispatch ``bulk_created``,
``bulk_updated`` and ``queryset_updated``.

Django sends no signal for ``bulk_create()``, ``bulk_update()`` and ``QuerySet.update()``. A
model opts in with ``objects = EventManager()`` (or an :class:`EventQuerySet` of its own, or
:class:`EventManagerMixin` on its own manager); each such call then dispatches one event, on the
model's bound dispatchers, held for after-commit and queued handlers until the write's
transaction commits, like the events of ``save()``. A call that writes no row dispatches nothing,
and neither does a model that nobody observes.
"""

from __future__ import annotations

import contextvars
from collections.abc import Collection, Iterable
from typing import Any, ClassVar, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Manager, Model, QuerySet

from ..core import EventDispatcher
from . import _changes  # pyright: ignore[reportPrivateUsage]
from ._models import ModelAction, ModelBinding, bind
from ._payloads import BulkCreated, BulkUpdated, QuerysetUpdated
from ._transactions import dispatch_model_event

__all__ = ["EventManager", "EventManagerMixin", "EventQuerySet", "dispatches_bulk_events"]

ModelT = TypeVar("ModelT", bound=Model)

# Set while bulk_update() runs: Django writes its batches with QuerySet.update(), which must not
# dispatch queryset_updated events of its own.
_in_bulk_update: contextvars.ContextVar[bool] = contextvars.ContextVar("in_bulk_update", default=False)


def _receivers(binding: ModelBinding, action: ModelAction) -> tuple[str, tuple[EventDispatcher, ...]]:
    """The event's name, and the dispatchers where a handler (or an interceptor) can receive it."""
    return binding.names[action], binding.targets()[action]


def _field_names(model: type[Model], names: Iterable[str]) -> tuple[str, ...]:
    # get_field also takes an attname (place_id); the payload names the field (place).
    return tuple(model._meta.get_field(name).name for name in names)


class EventQuerySet(QuerySet[ModelT]):
    """A queryset whose ``bulk_create()``, ``bulk_update()`` and ``update()`` dispatch one model event each::

        class OrderQuerySet(EventQuerySet[Order]):
            def placed(self) -> OrderQuerySet: return self.filter(status="placed")

        class Order(models.Model):
            objects = OrderQuerySet.as_manager()

    Derive your own queryset from it (also next to another queryset class:
    ``class OrderQuerySet(EventQuerySet[Order], TreeQuerySet)``). The events are
    ``events::db::<model path>::bulk_created`` (a :class:`BulkCreated`), ``::bulk_updated``
    (:class:`BulkUpdated`) and ``::queryset_updated`` (:class:`QuerysetUpdated`). ``delete()``
    is Django's: it sends the per-row signals, so ``deleting`` and ``deleted``.
    """

    def bulk_create(
        self,
        objs: Iterable[ModelT],
        batch_size: int | None = None,
        ignore_conflicts: bool = False,
        update_conflicts: bool = False,
        update_fields: Collection[str] | None = None,
        unique_fields: Collection[str] | None = None,
    ) -> list[ModelT]:
        """Django's ``bulk_create()``, then one ``bulk_created`` event with the objects.

        With ``update_conflicts=True`` the event lists every object, inserted or updated.
        """
        created = super().bulk_create(
            objs,
            batch_size=batch_size,
            ignore_conflicts=ignore_conflicts,
            update_conflicts=update_conflicts,
            update_fields=update_fields,
            unique_fields=unique_fields,
        )
        if created:
            # Instances made in code carry no snapshot until a save takes one: these are saved.
            _changes.take_snapshots(self.model, created)
            binding = bind(self.model)
            name, targets = _receivers(binding, "bulk_created")
            if targets:
                known = not ignore_conflicts and all(obj.pk is not None for obj in created)
                payload = BulkCreated(self.model, tuple(created), known)
                for dispatcher in targets:
                    dispatch_model_event(dispatcher, name, payload, self.db)
        return created

    def bulk_update(self, objs: Iterable[ModelT], fields: Iterable[str], batch_size: int | None = None) -> int:
        """Django's ``bulk_update()``, then one ``bulk_updated`` event with the objects and the fields."""
        objects = tuple(objs)
        names = tuple(fields)
        token = _in_bulk_update.set(True)
        try:
            rows = super().bulk_update(objects, names, batch_size=batch_size)
        finally:
            _in_bulk_update.reset(token)
        if objects:
            _changes.take_snapshots(self.model, objects, names)
            binding = bind(self.model)
            name, targets = _receivers(binding, "bulk_updated")
            if targets:
                payload = BulkUpdated(self.model, objects, _field_names(self.model, names))
                for dispatcher in targets:
                    dispatch_model_event(dispatcher, name, payload, self.db)
        return rows

    def update(self, **kwargs: Any) -> int:
        """Django's ``update()``, then one ``queryset_updated`` event with the rows' primary keys.

        When a handler can receive the event, the primary keys of the rows the queryset matches
        are read first, in the same transaction as the update (one more query, and the keys in
        memory); otherwise this is Django's ``update()`` alone.
        """
        if _in_bulk_update.get() or self.query.is_sliced:  # a sliced one: Django's error, as it words it
            return super().update(**kwargs)
        binding = bind(self.model)
        name, targets = _receivers(binding, "queryset_updated")
        if not targets:
            return super().update(**kwargs)
        with transaction.atomic(using=self.db, savepoint=False):
            pks = tuple(self.order_by().values_list("pk", flat=True))
            rows = super().update(**kwargs)
        if pks:
            payload = QuerysetUpdated(self.model, pks, _field_names(self.model, kwargs))
            for dispatcher in targets:
                dispatch_model_event(dispatcher, name, payload, self.db)
        return rows


class EventManagerMixin(Manager[ModelT]):
    """Makes your own manager's querysets :class:`EventQuerySet` ones::

        class OrderManager(EventManagerMixin[Order], TreeManager): ...

    Put it first among the bases. The manager's queryset class must be a plain ``QuerySet``
    (it is replaced by :class:`EventQuerySet`) or derive from :class:`EventQuerySet`.

    :raises ImproperlyConfigured: from ``get_queryset()``, when the queryset class is another one.
    """

    def get_queryset(self) -> EventQuerySet[ModelT]:
        """The manager's queryset, as an :class:`EventQuerySet`."""
        queryset = super().get_queryset()
        if isinstance(queryset, EventQuerySet):
            return queryset
        kind = type(queryset)
        if kind is QuerySet:
            return EventQuerySet(
                model=self.model, query=queryset.query, using=self._db, hints=getattr(self, "_hints", None)
            )
        raise ImproperlyConfigured(
            f"{type(self).__qualname__} uses EventManagerMixin, but its querysets are "
            f"{kind.__module__}.{kind.__qualname__}, which does not derive from EventQuerySet: write "
            f"class {kind.__qualname__}(EventQuerySet, ...) so that its bulk writes dispatch events"
        )


class EventManager(EventManagerMixin[ModelT]):
    """The manager of a model whose ``bulk_create()``, ``bulk_update()`` and ``update()`` dispatch events::

        class Order(models.Model):
            objects = EventManager()

    Its querysets are :class:`EventQuerySet` ones. ``EventManager.from_queryset(OrderQuerySet)``
    takes your own queryset, derived from :class:`EventQuerySet`.
    """

    # What Manager.get_queryset builds; from_queryset() sets it again on the classes it makes.
    _queryset_class: ClassVar[type[QuerySet[Any]]] = EventQuerySet


def dispatches_bulk_events(manager: object) -> bool | None:
    """Whether ``manager``'s querysets dispatch the events of bulk writes; ``None`` when it cannot be told
    (its ``get_queryset()`` raised)."""
    get_queryset = getattr(manager, "get_queryset", None)
    if get_queryset is None:
        return False
    try:
        queryset = get_queryset()
    except Exception:
        return None
    return isinstance(queryset, EventQuerySet)
