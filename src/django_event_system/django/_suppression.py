"""``without_events`` for Django: models, actions and Observers as targets.

A model class suppresses every event of that model (``events::db::<model path>::...``); an
action (a str that names a model action, ``"created"``: never taken as a pattern) suppresses
that action's events for every model; both keep the event from being dispatched at all. An
Observer class mutes that Observer's methods alone (and its subclasses'): the model still
dispatches, and its other handlers run.

An Observer's inline hooks, which run in the saving code's stack, follow their event: the
model, the action or the Observer keeps them from running too (``_inline`` asks
``is_quiet`` there, where the scope is open).
"""

from __future__ import annotations

from typing import Literal, cast

from django.db.models import Model

from ..core import GetPathFromClass
from ..core.integration import MODEL_EVENT_PREFIX, Suppression, add_target_resolver
from ._models import ACTIONS
from ._observer import Observer

__all__ = ["resolve_target"]


def resolve_target(target: object) -> Suppression | tuple[Literal["handlers"], type[object]] | None:
    """What a Django target of ``without_events`` stands for, or ``None`` when it is not one."""
    if isinstance(target, type):
        if issubclass(target, Observer):
            return ("handlers", cast("type[object]", target))
        if issubclass(target, Model):
            prefix = f"{MODEL_EVENT_PREFIX}{GetPathFromClass(target)}::"
            return Suppression(
                "events", f"the model {target._meta.label}", matches=lambda name: name.startswith(prefix)
            )
        return None
    if isinstance(target, str) and target in ACTIONS:
        suffix = f"::{target}"

        def matches(name: str) -> bool:
            return name.startswith(MODEL_EVENT_PREFIX) and name.endswith(suffix)

        return Suppression("events", f"the action {target!r}", matches=matches)
    if isinstance(target, Model):
        raise TypeError(
            f"without_events() takes model classes, not the instance {target!r}; pass {type(target).__name__}"
        )
    return None


add_target_resolver(resolve_target)
