"""Model events: Django's model signals mapped, once per model, to ``events::db::...`` events.

A model is *bound* when an Observer observes it or ``RegisterSignalsFor`` was called for it.
Whatever the number of Observers and calls, a bound model's signals are connected once, so
every save dispatches each event once (per dispatcher).

An event that nothing can receive is not dispatched at all: before building it, the receiver
asks the dispatcher's registry whether any handler matches its name (``has_handlers``, one
cached look-up, right as handlers come and go) and whether anything intercepts its dispatches
(the testing helpers, ``intercept()``), which must see every event. So a save of a model whose
Observer defines only ``created`` dispatches that one event, not ``creating``, ``saving`` and
``saved`` as well. The core's own interceptors do not count: the queued handlers' dispatch
check and the commit gate act only on events that have handlers. A handler registered after
a save gets the events of the next one; one registered while the queue still holds a save's
events does not get those that had no handler when the model saved.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Hashable, Mapping
from typing import Any, Literal

from django.db.models import Model, signals

from ..core import EventDispatcher, GetPathFromClass
from . import _changes, _many_to_many  # pyright: ignore[reportPrivateUsage]
from ._transactions import COMMIT_ACTIONS, MODEL_EVENT_PREFIX, dispatch_model_event

__all__ = ["ACTIONS", "ModelAction", "ModelBinding", "bind", "check_model", "model_event_name"]

logger = logging.getLogger("django_event_system.django")

ModelAction = Literal[
    "creating",
    "created",
    "updating",
    "updated",
    "saving",
    "saved",
    "deleting",
    "deleted",
    "bulk_created",
    "bulk_updated",
    "queryset_updated",
    "m2m_added",
    "m2m_removed",
    "m2m_cleared",
]
"""An action on a model: the last part of a model event's name."""

ACTIONS: tuple[ModelAction, ...] = (
    "creating",
    "created",
    "updating",
    "updated",
    "saving",
    "saved",
    "deleting",
    "deleted",
    "bulk_created",
    "bulk_updated",
    "queryset_updated",
    "m2m_added",
    "m2m_removed",
    "m2m_cleared",
)


def model_event_name(model: type[Model], action: ModelAction) -> str:
    """The name of a model event: ``events::db::<GetPathFromClass(model)>::<action>``.

    ``model_event_name(Example, "created")`` is ``"events::db::my::models::Example::created"``.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown model action {action!r}; expected one of {', '.join(ACTIONS)}")
    return f"{MODEL_EVENT_PREFIX}{GetPathFromClass(model)}::{action}"


def check_model(model: object) -> str | None:
    """Why ``model`` cannot be observed, or ``None`` when it is a concrete model class."""
    if not isinstance(model, type) or not issubclass(model, Model):
        return f"{model!r} is not a Django model class"
    if model._meta.abstract:
        return f"{model.__qualname__} is an abstract model, which is never saved; observe its concrete subclasses"
    if model._meta.swapped:
        return f"{model.__qualname__} is swapped out for {model._meta.swapped}; observe that model instead"
    return None


class ModelBinding:
    """The signal receivers of one model, shared by its Observers and ``RegisterSignalsFor`` calls."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self.names: Mapping[ModelAction, str] = {action: model_event_name(model, action) for action in ACTIONS}
        self.claims: dict[Hashable, tuple[EventDispatcher, bool]] = {}
        self.dispatchers: tuple[EventDispatcher, ...] = ()
        self.track_changes = False
        self.connected = False
        self._uid = f"django_event_system:{model._meta.label}"
        # Per dispatcher: its interceptors when last looked at, and whether one of them watches
        # every event (see _watched).

    def claim(self, key: Hashable, dispatcher: EventDispatcher, track_changes: bool) -> None:
        """Add (or replace) a claimant: the model dispatches to ``dispatcher`` while claimed."""
        self.claims[key] = (dispatcher, track_changes)
        self._refresh()

    def release(self, key: Hashable) -> None:
        """Remove a claimant; the last one out disconnects the model's signals."""
        if self.claims.pop(key, None) is not None:
            self._refresh()

    def _refresh(self) -> None:
        dispatchers: list[EventDispatcher] = []
        for dispatcher, _ in self.claims.values():
            if dispatcher not in dispatchers:
                dispatchers.append(dispatcher)
        self.dispatchers = tuple(dispatchers)
        track = any(track for _, track in self.claims.values())
        model, uid = self.model, self._uid
        if self.claims and not self.connected:
            signals.pre_save.connect(self._pre_save, sender=model, weak=False, dispatch_uid=f"{uid}:pre_save")
            signals.post_save.connect(self._post_save, sender=model, weak=False, dispatch_uid=f"{uid}:post_save")
            signals.pre_delete.connect(self._pre_delete, sender=model, weak=False, dispatch_uid=f"{uid}:pre_delete")
            signals.post_delete.connect(self._post_delete, sender=model, weak=False, dispatch_uid=f"{uid}:post_delete")
            self.connected = True
            logger.debug("model events of %s are dispatched", model._meta.label)
        elif not self.claims and self.connected:
            for signal, suffix in (
                (signals.pre_save, "pre_save"),
                (signals.post_save, "post_save"),
                (signals.pre_delete, "pre_delete"),
                (signals.post_delete, "post_delete"),
            ):
                signal.disconnect(sender=model, dispatch_uid=f"{uid}:{suffix}")
            self.connected = False
            logger.debug("model events of %s are no longer dispatched", model._meta.label)
        if track and not self.track_changes:
            signals.post_init.connect(
                _changes.snapshot_on_init, sender=model, weak=False, dispatch_uid=f"{uid}:post_init"
            )
            _changes._tracked.add(model)  # pyright: ignore[reportPrivateUsage]
            _changes.watch_refreshes(model)
        elif not track and self.track_changes:
            signals.post_init.disconnect(sender=model, dispatch_uid=f"{uid}:post_init")
            _changes._tracked.discard(model)  # pyright: ignore[reportPrivateUsage]
            _changes.unwatch_refreshes(model)
        self.track_changes = track
        _many_to_many.watch(self)

    # -- receivers: they run inside the code that saves, so they only queue -------------------

    def _dispatch(self, action: ModelAction, instance: Model, using: str | None) -> None:
        name = self.names[action]
        if action in COMMIT_ACTIONS:
            for dispatcher in self.dispatchers:
                if dispatcher.registry.has_handlers(name) or self._watched(dispatcher):
                    dispatch_model_event(dispatcher, name, instance, using)
        else:
            for dispatcher in self.dispatchers:
                if dispatcher.registry.has_handlers(name) or self._watched(dispatcher):
                    dispatcher.Dispatch(name, instance)

    def _watched(self, dispatcher: EventDispatcher) -> bool:
        """Whether something intercepts ``dispatcher``'s events that may want one without handlers
        (the testing helpers' tap, an ``intercept()`` of the application's)."""
        return dispatcher.interceptors.observed

    def _pre_save(
        self,
        sender: type[Model],
        instance: Model,
        raw: bool = False,
        using: str | None = None,
        update_fields: Collection[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if raw:  # loaddata writes rows as they are: no events
            return
        # _state.adding, not pk is None: a primary key with a default (a UUID) is set before the
        # first save.
        if instance._state.adding:
            if self.track_changes:
                _changes.clear_changes(instance)
            self._dispatch("creating", instance, using)
        else:
            if self.track_changes:
                _changes.record_changes(instance, update_fields)
            self._dispatch("updating", instance, using)
        self._dispatch("saving", instance, using)

    def _post_save(
        self,
        sender: type[Model],
        instance: Model,
        created: bool = False,
        raw: bool = False,
        using: str | None = None,
        update_fields: Collection[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if self.track_changes:
            _changes.take_snapshot(instance, update_fields)
        if raw:
            return
        self._dispatch("created" if created else "updated", instance, using)
        self._dispatch("saved", instance, using)

    def _pre_delete(self, sender: type[Model], instance: Model, using: str | None = None, **kwargs: Any) -> None:
        self._dispatch("deleting", instance, using)

    def _post_delete(self, sender: type[Model], instance: Model, using: str | None = None, **kwargs: Any) -> None:
        self._dispatch("deleted", instance, using)

    def __repr__(self) -> str:
        return f"<ModelBinding {self.model._meta.label} claims={len(self.claims)}>"


_bindings: dict[type[Model], ModelBinding] = {}
_lock = threading.Lock()


def bind(model: type[Model]) -> ModelBinding:
    """The binding of ``model``, created on first use."""
    with _lock:
        binding = _bindings.get(model)
        if binding is None:
            binding = _bindings[model] = ModelBinding(model)
        return binding


def bindings() -> list[ModelBinding]:
    """Every model binding that is claimed, by model label."""
    return sorted((b for b in _bindings.values() if b.claims), key=lambda b: b.model._meta.label)
