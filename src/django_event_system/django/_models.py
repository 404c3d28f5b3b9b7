"""Model events: Django's model signals mapped, once per model, to ``events::db::...`` events.

A model is *bound* when an Observer observes it or ``RegisterSignalsFor`` was called for it.
Whatever the number of Observers and calls, a bound model's signals are connected once, so
every save dispatches each event once (per dispatcher).

An event that nothing can receive is not dispatched at all. Each binding keeps a plan: for each
action, the dispatchers where a handler matches its name (``has_handlers``) or something
intercepts every dispatch (the testing helpers, ``intercept()``, which must see every event),
and for ``post_save`` the events of a create and of an update, each with what the commit gate
would ask the registry (whether the dispatcher has after-commit registrations, and which of the
name's handlers are wrappers, whose ``after_commit`` is read at each save). A change to a
dispatcher's registrations or interceptors drops the plan (a change listener), and the next save
computes it again: so a save asks the dispatchers nothing while nothing changes. So a save of a
model whose Observer defines only ``created`` dispatches that one event, not ``creating``,
``saving`` and ``saved`` as well. The core's own interceptors do not count: the queued
handlers' dispatch check and the commit gate act only on events that have handlers.

The receivers follow the plan too: ``pre_save``, ``pre_delete`` and ``post_delete`` are
disconnected while none of their events can be received (``post_save`` stays, as it also takes
the change snapshots), so that a model whose handlers only care about creates keeps Django's
fast deletes. ``post_save`` is watched without the signal, by the model's wrapped
``save_base`` (``_watch_saves``), unless the model has inline hooks, whose after-save hooks
run in the signal's receiver. A change to a dispatcher's registrations or interceptors connects
them all again at once (a change listener), before the next save, whose plan disconnects what
is still not needed. A handler registered after a save gets the events of the next one; one
registered while the queue still holds a save's events does not get those that had no handler
when the model saved.

An Observer's inline hooks (``@on("creating", inline=True)``) come with its claim: the binding
keeps them by action (:attr:`ModelBinding.inline`), keeps connected the receivers they need,
and its receivers run them (``_inline``) before they dispatch any event of the write. A model
without inline hooks pays one attribute check per receiver call.
"""

from __future__ import annotations

import logging
import threading
import typing
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from typing import Any, Literal

from django.db.models import Model, signals

from ..core import EventDispatcher, GetPathFromClass, PatternRegistry
from ..core.integration import HandlerWrapper, Interceptors, dispatch_after_commit
from . import _changes, _inline, _many_to_many  # pyright: ignore[reportPrivateUsage]
from ._inline import InlineHook
from ._transactions import COMMIT_ACTIONS, MODEL_EVENT_PREFIX, dispatch_model_event, save_markers
from ._wrapping import is_wrapped, unwrap, wrap

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

ACTIONS: tuple[ModelAction, ...] = typing.get_args(ModelAction)
"""Every model action, in the order of :data:`ModelAction`."""


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


_Send = tuple[EventDispatcher, str, bool, tuple[HandlerWrapper, ...]]
"""A model event that a binding's plan dispatches (``post_save``): the dispatcher, the name,
whether the commit gate may hold it (the dispatcher had after-commit registrations, or a handler
of the name is a wrapper whose ``after_commit`` is fixed and true), and the handlers of the name
that are wrappers whose ``after_commit`` may change (read at each save), all as they were when
the plan was made; a change to the registrations drops the plan."""


def _send(dispatcher: EventDispatcher, name: str) -> _Send:
    """How the end of a save dispatches ``name`` to ``dispatcher`` (see :data:`_Send`)."""
    held = bool(dispatcher.registry.after_commit_registrations())
    wrappers: list[HandlerWrapper] = []
    for callback in dispatcher.registry.resolve(name):
        if isinstance(callback, HandlerWrapper):
            if not callback.fixed_after_commit:
                wrappers.append(callback)
            elif callback.after_commit:
                held = True
    return dispatcher, name, held, () if held else tuple(wrappers)


class ModelBinding:
    """The signal receivers of one model, shared by its Observers and ``RegisterSignalsFor`` calls."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self.names: Mapping[ModelAction, str] = {action: model_event_name(model, action) for action in ACTIONS}
        self.claims: dict[Hashable, tuple[EventDispatcher, bool]] = {}
        self.inline: Mapping[str, tuple[InlineHook, ...]] = {}
        """The inline hooks of the claimants, by action (only actions that have some), in the
        order they run; empty (false) while none has any."""
        self._hooks: dict[Hashable, tuple[InlineHook, ...]] = {}
        self.dispatchers: tuple[EventDispatcher, ...] = ()
        self.track_changes = False
        self.connected = False
        """Whether the model's signals are connected (some of them, see :attr:`receivers`)."""
        self._uid = f"django_event_system:{model._meta.label}"
        self._plan: Mapping[ModelAction, tuple[EventDispatcher, ...]] | None = None
        self._after_save: Mapping[bool, tuple[_Send, ...]] = {True: (), False: ()}
        """What the end of a save dispatches, by ``created``: the plan's sends of ``created`` (or
        ``updated``), then of ``saved``; valid while :attr:`_plan` is set."""
        self._plan_versions: tuple[tuple[PatternRegistry, int, Interceptors, int], ...] = ()
        self._receivers: set[str] = set()
        self._receivers_lock = threading.Lock()

    @property
    def receivers(self) -> frozenset[str]:
        """The signals watched now: ``post_save`` while claimed, and each of ``pre_save``,
        ``pre_delete`` and ``post_delete`` unless no handler can receive its events.

        ``post_save`` is watched without Django's signal unless the model has inline hooks: the
        model's ``save_base`` is wrapped (see ``_watch_saves``), which costs a save less."""
        return frozenset(self._receivers)

    def claim(
        self, key: Hashable, dispatcher: EventDispatcher, track_changes: bool, hooks: Iterable[InlineHook] = ()
    ) -> None:
        """Add (or replace) a claimant: the model dispatches to ``dispatcher`` while claimed, and
        its receivers run the claimant's inline ``hooks``."""
        self.claims[key] = (dispatcher, track_changes)
        hooks = tuple(hooks)
        if hooks:
            self._hooks[key] = hooks
        else:
            self._hooks.pop(key, None)
        self._refresh()

    def release(self, key: Hashable) -> None:
        """Remove a claimant (and its inline hooks); the last one out disconnects the model's signals."""
        if self.claims.pop(key, None) is not None:
            self._hooks.pop(key, None)
            self._refresh()

    def _refresh(self) -> None:
        dispatchers: list[EventDispatcher] = []
        for dispatcher, _ in self.claims.values():
            if dispatcher not in dispatchers:
                dispatchers.append(dispatcher)
        for gone in (d for d in self.dispatchers if d not in dispatchers):
            gone.registry.remove_change_listener(self._handlers_changed)
            gone.interceptors.remove_change_listener(self._handlers_changed)
        for new in (d for d in dispatchers if d not in self.dispatchers):
            new.registry.add_change_listener(self._handlers_changed)
            new.interceptors.add_change_listener(self._handlers_changed)
        self.dispatchers = tuple(dispatchers)
        self.inline = _inline.by_action(hook for hooks in self._hooks.values() for hook in hooks)
        self._plan = None
        track = any(track for _, track in self.claims.values())
        model = self.model
        with self._receivers_lock:
            if self.claims:
                if "post_save" in self._receivers and is_wrapped(model, "save_base") == bool(self.inline):
                    # Inline hooks came or went: the after-save path changes (see _watch_saves).
                    self._disconnect("post_save")
                # Every receiver, until the first save shows which ones some handler needs.
                for signal in _RECEIVERS:
                    self._connect(signal)
                if not self.connected:
                    logger.debug("model events of %s are dispatched", model._meta.label)
                self.connected = True
            else:
                for signal in _RECEIVERS:
                    self._disconnect(signal)
                if self.connected:
                    logger.debug("model events of %s are no longer dispatched", model._meta.label)
                self.connected = False
        if track and not self.track_changes:
            _changes.track(model)
        elif not track and self.track_changes:
            _changes.untrack(model)
        self.track_changes = track
        _inline.watch_writes(model, any(action in self.inline for action in ("creating", "updating", "saving")))
        _many_to_many.watch(self)

    def _connect(self, signal: str) -> None:
        if signal not in self._receivers:
            if signal == "post_save" and not self.inline:
                self._watch_saves()
            else:
                _RECEIVERS[signal].connect(
                    getattr(self, f"_{signal}"), sender=self.model, weak=False, dispatch_uid=f"{self._uid}:{signal}"
                )
            self._receivers.add(signal)

    def _disconnect(self, signal: str) -> None:
        if signal in self._receivers:
            if signal == "post_save":
                _unwatch_saves(self.model)  # whichever of the two is in place
            _RECEIVERS[signal].disconnect(sender=self.model, dispatch_uid=f"{self._uid}:{signal}")
            self._receivers.discard(signal)

    def _handlers_changed(self) -> None:
        """A dispatcher's handlers or interceptors changed: drop the plan, and connect every
        receiver again, before the next save, which may dispatch an event that no receiver would
        otherwise see. That save's plan disconnects again what is still not needed."""
        self._plan = None
        if len(self._receivers) < len(_RECEIVERS) and self.claims:
            with self._receivers_lock:
                if self.claims:
                    for signal in _RECEIVERS:
                        self._connect(signal)

    def _trim(self, plan: Mapping[ModelAction, tuple[EventDispatcher, ...]]) -> None:
        """Disconnect the receivers whose events no handler can receive and that run no inline
        hook (see ``_OPTIONAL``)."""
        with self._receivers_lock:
            if not self.claims or not self._current(self._plan_versions):
                return  # changed meanwhile: the next save decides
            inline = self.inline
            for signal, actions in _OPTIONAL.items():
                if any(plan[action] or action in inline for action in actions):
                    self._connect(signal)
                else:
                    self._disconnect(signal)

    @staticmethod
    def _current(versions: tuple[tuple[PatternRegistry, int, Interceptors, int], ...]) -> bool:
        return all(r.version == rv and i.version == iv for r, rv, i, iv in versions)

    # -- receivers: they run inside the code that saves, so they only queue -------------------

    def targets(self) -> Mapping[ModelAction, tuple[EventDispatcher, ...]]:
        """The dispatchers that get each action's event: those with a handler for it, or with
        something that watches every event (the testing helpers' tap, an ``intercept()``).

        Computed when the registrations or the interceptors of a dispatcher change (their change
        listener drops it), and then read by every save: so a save asks nothing of the
        dispatchers, not once per event.
        """
        plan = self._plan
        if plan is None:
            plan = self._new_plan()
        return plan

    def _new_plan(self) -> Mapping[ModelAction, tuple[EventDispatcher, ...]]:
        dispatchers = self.dispatchers
        # The versions first: a change made while the plan is computed makes it stale at once.
        versions = tuple((d.registry, d.registry.version, d.interceptors, d.interceptors.version) for d in dispatchers)
        self._plan_versions = versions
        plan: dict[ModelAction, tuple[EventDispatcher, ...]] = {
            action: tuple(d for d in dispatchers if d.registry.has_handlers(name) or d.interceptors.observed)
            for action, name in self.names.items()
        }
        self._after_save = {
            created: self._sends(plan, "created" if created else "updated") + self._sends(plan, "saved")
            for created in (True, False)
        }
        # Kept only if nothing changed meanwhile; a change from now on drops it (_handlers_changed).
        self._plan = plan if self._current(versions) else None
        self._trim(plan)
        return plan

    def _sends(self, plan: Mapping[ModelAction, tuple[EventDispatcher, ...]], action: ModelAction) -> tuple[_Send, ...]:
        name = self.names[action]
        return tuple(_send(dispatcher, name) for dispatcher in plan[action])

    def _dispatch(
        self, action: ModelAction, targets: tuple[EventDispatcher, ...], instance: Model, using: str | None
    ) -> None:
        name = self.names[action]
        if action in COMMIT_ACTIONS:
            for dispatcher in targets:
                dispatch_model_event(dispatcher, name, instance, using)
        else:
            for dispatcher in targets:
                dispatcher.Dispatch(name, instance)

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
        plan = self.targets()
        # _state.adding, not pk is None: a primary key with a default (a UUID) is set before the
        # first save.
        if instance._state.adding:
            if self.track_changes:
                _changes.clear_changes(instance)
            action: ModelAction = "creating"
        else:
            if self.track_changes:
                _changes.record_changes(instance, update_fields)
            action = "updating"
        if self.inline:  # first: a hook that raises leaves no event of this save dispatched
            _inline.before_save(self.inline, self.names, action, instance, update_fields)
        if plan[action]:
            self._dispatch(action, plan[action], instance, using)
        if plan["saving"]:
            self._dispatch("saving", plan["saving"], instance, using)

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
        """``post_save`` of a model with inline hooks (the others watch their saves without it,
        see :meth:`_watch_saves`): the fields the hooks added to ``update_fields`` count as
        written, and the after-save hooks run before the events are dispatched. A save that
        comes while the last hooks go, before the model's ``save_base`` is wrapped, runs none."""
        update_fields = _inline.written_fields(instance, update_fields)
        if self.track_changes:
            _changes.saved(instance, created, update_fields)
        if raw:
            return
        plan = self.targets()
        action: ModelAction = "created" if created else "updated"
        inline = self.inline
        if inline:
            _inline.after_save(inline, self.names, action, instance)
        if plan[action]:
            self._dispatch(action, plan[action], instance, using)
        if plan["saved"]:
            self._dispatch("saved", plan["saved"], instance, using)

    def _pre_delete(self, sender: type[Model], instance: Model, using: str | None = None, **kwargs: Any) -> None:
        targets = self.targets()["deleting"]
        if self.inline:
            _inline.run(self.inline.get("deleting"), self.names["deleting"], instance)
        if targets:
            self._dispatch("deleting", targets, instance, using)

    def _post_delete(self, sender: type[Model], instance: Model, using: str | None = None, **kwargs: Any) -> None:
        targets = self.targets()["deleted"]
        if self.inline:
            _inline.run(self.inline.get("deleted"), self.names["deleted"], instance)
        if targets:
            self._dispatch("deleted", targets, instance, using)

    def _watch_saves(self) -> None:
        """Watch the saves of the model without ``post_save``: wrap its ``save_base`` and ``_do_insert``.

        Django's ``post_save`` costs a save its dispatch (the live receivers looked up, the
        keyword arguments built, the receiver called by keyword), more than the events
        themselves. The wrapped ``save_base`` ends the save itself, where Django sends
        ``post_save`` and with what it sends: the snapshot, then the events. ``created`` is
        whether the save inserted the model's row, which the wrapped ``_do_insert`` counts (a
        save that finds no row to update inserts one, and an instance given the key of an
        existing row updates it). So the model events come after every ``post_save`` receiver
        of the save has run. Instances of a subclass (a proxy, a child table) go their own way:
        they have bindings of their own, as they have senders of their own. ``loaddata`` calls
        ``Model.save_base`` itself, not the model's, and dispatches no event either way (a raw
        save dispatches none). The body runs at every save, so it is written out here, with what
        ``dispatch_model_event`` asks the registry answered by the plan.
        """
        model = self.model
        if is_wrapped(model, "save_base"):
            return
        save_base_of: Callable[..., None] = model.save_base
        do_insert_of: Callable[..., Any] = getattr(model, "_do_insert")  # noqa: B009 - private in the stubs
        binding, snapshot = self, _changes.saved

        def save_base(
            self: Model,
            raw: bool = False,
            force_insert: Any = False,
            force_update: bool = False,
            using: str | None = None,
            update_fields: Collection[str] | None = None,
            **kwargs: Any,  # what an override of the model's own may take
        ) -> None:
            if type(self) is not model:
                save_base_of(self, raw, force_insert, force_update, using, update_fields, **kwargs)
                return
            data = vars(self)
            inserts = data.get(_INSERTS, 0)
            if kwargs:
                save_base_of(self, raw, force_insert, force_update, using, update_fields, **kwargs)
            else:  # Django's own save_base takes no more: a plain call costs a save less
                save_base_of(self, raw, force_insert, force_update, using, update_fields)
            # A save made by a post_save receiver of this one counts its own insert, not this one's.
            created = data.get(_INSERTS, 0) != inserts
            if binding.track_changes:
                snapshot(self, created, update_fields)
            if raw:
                return
            if binding._plan is None:
                binding._new_plan()
            for dispatcher, name, held, wrappers in binding._after_save[created]:
                # A wrapper's after_commit that may change is read now: a queued handler's
                # follows the configuration.
                if save_markers:
                    mark = save_markers.get(model)
                    if mark is not None:
                        name = mark(name, self)
                if not held:
                    for callback in wrappers:
                        if callback.after_commit:
                            held = True
                            break
                if not (held and dispatch_after_commit(dispatcher, name, (self,), using=self._state.db)):
                    dispatcher.Dispatch(name, self)

        def _do_insert(self: Model, manager: Any, using: str, fields: Any, returning_fields: Any, raw: bool) -> Any:
            if type(self) is model:
                data = vars(self)
                data[_INSERTS] = data.get(_INSERTS, 0) + 1
            return do_insert_of(self, manager, using, fields, returning_fields, raw)

        wrap(model, "save_base", save_base, save_base_of)
        wrap(model, "_do_insert", _do_insert, do_insert_of)

    def __repr__(self) -> str:
        return f"<ModelBinding {self.model._meta.label} claims={len(self.claims)}>"


_INSERTS = "_event_system_inserts"
"""In an instance's ``__dict__``: how many rows its saves inserted (see :meth:`ModelBinding._watch_saves`)."""


def _unwatch_saves(model: type[Model]) -> None:
    """Undo :meth:`ModelBinding._watch_saves`."""
    unwrap(model, "save_base")
    unwrap(model, "_do_insert")


_RECEIVERS: Mapping[str, signals.ModelSignal] = {
    "pre_save": signals.pre_save,
    "post_save": signals.post_save,
    "pre_delete": signals.pre_delete,
    "post_delete": signals.post_delete,
}
"""The signals a bound model connects, by name (its receiver is the binding's ``_<name>``)."""

_OPTIONAL: Mapping[str, tuple[ModelAction, ...]] = {
    "pre_save": ("creating", "updating", "saving"),
    "pre_delete": ("deleting",),
    "post_delete": ("deleted",),
}
"""The receivers that only dispatch (and run inline hooks), with their actions: each is
disconnected while no handler (nor anything that watches every event) can receive one of its
events, and no inline hook is for one of its actions. ``post_save`` stays, as it
also takes the change snapshots. A model with no delete receiver keeps Django's fast deletes
(``QuerySet.delete()`` without fetching the rows), as an unobserved one does."""

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
