"""Inline hooks: Observer methods that run in the stack of the code that saves or deletes.

``@on("creating", inline=True)`` (or ``updating``, ``saving``, ``deleting``) makes an Observer
method run in the model's ``pre_save`` or ``pre_delete`` receiver, before the row is written: it
may change the instance, and what it assigns is saved; it refuses the write by raising (the
documented way: :class:`WriteRefused`). On ``created``, ``updated``, ``saved`` and ``deleted`` it
runs in ``post_save`` or ``post_delete``, after the write, in the caller's transaction.

The model binding (``_models``) holds the hooks of its claimants, by action, in priority order
(:func:`by_action`), keeps the receivers they need connected, and its receivers call
:func:`before_save`, :func:`after_save` and :func:`run` before they dispatch any event of the
write: a hook that raises leaves no event of that write dispatched. A model without inline hooks
pays one attribute check per receiver call.

A hook follows its event: whatever keeps the event from the Observer's handlers keeps it from
the hook (``without_events`` on the model, the action or the Observer; a testing helper that
fakes, mutes or expects the event).

``save(update_fields=...)``: Django hands ``pre_save`` the field list as a frozenset, which no
receiver can change, and writes only the fields listed. So while a model has before-save hooks,
its ``_save_table`` is wrapped (:func:`watch_writes`): the fields that the hooks assigned
(compared before and after them) are written too, and the ``post_save`` receiver takes the
extended list (:func:`written_fields`) for the change snapshots.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, cast

from django.db.models import Model

from ..core import EventDispatcher, EventSystemError
from ..core.integration import HandlerWrapper, is_quiet, swallowed
from ._conditions import Condition
from ._wrapping import is_wrapped, unwrap, wrap

__all__ = [
    "AFTER_ACTIONS",
    "BEFORE_ACTIONS",
    "INLINE_ACTIONS",
    "InlineHook",
    "WriteRefused",
    "after_save",
    "before_save",
    "by_action",
    "run",
    "watch_writes",
    "written_fields",
]

BEFORE_ACTIONS = frozenset({"creating", "updating", "saving", "deleting"})
"""The actions whose inline hooks run before the row is written."""

AFTER_ACTIONS = frozenset({"created", "updated", "saved", "deleted"})
"""The actions whose inline hooks run after the row is written, in the caller's transaction."""

INLINE_ACTIONS = BEFORE_ACTIONS | AFTER_ACTIONS
"""The actions an inline hook may name: those of one instance saved or deleted."""

_SAVE_ACTIONS = frozenset({"creating", "updating", "saving"})

_WRITTEN = "_event_system_written"
"""In an instance's ``__dict__`` between ``pre_save`` and ``post_save``: (the ``update_fields``
Django was given, the fields to write)."""


class WriteRefused(EventSystemError):  # noqa: N818 - it names what happened to the write, as users raise it
    """Raise it in an inline before-hook to refuse the write, with a message for the caller::

        @on("deleting", inline=True)
        def keep_shipped(self, event_name: str, order: Order) -> None:
            if order.status == "shipped":
                raise WriteRefused(f"order {order.pk} is shipped; cancel it first")

    It reaches the code that called ``save()`` or ``delete()``, and nothing is written; no event
    of that write is dispatched. Any exception an inline hook raises does the same: this one
    says that the refusal is meant, for the caller to catch (a view answering 409).

    :param message: what the caller is told (``str(exc)``).
    :raises TypeError: ``message`` is not a non-empty str.
    """

    message: str
    """What the caller is told."""
    hook: str | None
    """The inline hook that raised it (``module:Observer.method``), filled in as it passes."""

    def __init__(self, message: str) -> None:
        given = cast("object", message)  # typed, but checked: WriteRefused() with a value is a common slip
        if not isinstance(given, str) or not given:
            raise TypeError(f"WriteRefused() takes a message saying why (a non-empty str), not {message!r}")
        super().__init__(message)
        self.message = message
        self.hook = None


class InlineHook(HandlerWrapper):
    """One inline method of an Observer: for one action, with its priority and condition."""

    __slots__ = ("action", "condition", "dispatcher", "event", "method", "observer", "priority")

    def __init__(
        self,
        observer: object,
        method: str,
        action: str,
        event: str,
        *,
        priority: int,
        condition: Condition | None,
        dispatcher: EventDispatcher,
    ) -> None:
        cls = type(observer)
        super().__init__(cls, f"{cls.__module__}:{cls.__qualname__}.{method}")
        self.observer: object = observer
        self.method: str = method
        """The name of the method it calls (looked up at every call)."""
        self.action: str = action
        self.event: str = event
        """The name of the event it runs for (``events::db::<model>::<action>``)."""
        self.priority: int = priority
        self.condition: Condition | None = condition
        self.dispatcher: EventDispatcher = dispatcher
        """The Observer's dispatcher: what keeps its events from their handlers keeps them from the hook."""

    @property
    def before(self) -> bool:
        """Whether it runs before the row is written."""
        return self.action in BEFORE_ACTIONS

    def declines(self, name: str, args: tuple[object, ...], kwargs: dict[str, object]) -> bool:
        """Whether this write is not for it: the Observer is quiet here, a testing helper keeps
        the event from its handlers, or the condition does not hold."""
        if is_quiet(type(self.observer), name) or swallowed(self.dispatcher, name, None):
            return True
        condition = self.condition
        instance: Any = args[0]
        return condition is not None and not condition.holds(name, instance)

    def __call__(self, name: str, /, *args: object, **kwargs: object) -> object:
        method: Callable[[str, object], object] = getattr(self.observer, self.method)
        result = method(name, args[0])
        if inspect.iscoroutine(result):
            result.close()
            raise TypeError(
                f"{self.description} is an inline hook and returned a coroutine, which nothing awaits in the "
                "stack of the code that saves; make it a def, or drop inline=True"
            )
        return result

    def __repr__(self) -> str:
        return f"<inline hook {self.description} ({self.action})>"


def by_action(hooks: Iterable[InlineHook]) -> dict[str, tuple[InlineHook, ...]]:
    """The hooks of each action that has some, higher priority first, then in the order given."""
    grouped: dict[str, list[InlineHook]] = {}
    for hook in hooks:
        grouped.setdefault(hook.action, []).append(hook)
    return {action: tuple(sorted(found, key=lambda h: -h.priority)) for action, found in grouped.items()}


def run(hooks: tuple[InlineHook, ...] | None, name: str, instance: Model) -> None:
    """Call each hook that does not decline, in order; what one raises stops the others and goes on."""
    if not hooks:
        return
    args = (instance,)
    for hook in hooks:
        if hook.declines(name, args, {}):
            continue
        try:
            hook(name, instance)
        except WriteRefused as exc:
            if exc.hook is None:
                exc.hook = hook.description
            raise


def before_save(
    inline: Mapping[str, tuple[InlineHook, ...]],
    names: Mapping[Any, str],
    action: str,
    instance: Model,
    update_fields: Collection[str] | None,
) -> None:
    """Run the ``creating`` or ``updating`` hooks, then the ``saving`` ones, from ``pre_save``.

    With ``update_fields``, the fields the hooks assigned are kept for :func:`written_fields`.
    """
    first, then = inline.get(action), inline.get("saving")
    if first is None and then is None:
        return
    data = vars(instance)
    before: dict[str, Any] | None = None
    if update_fields:
        data.pop(_WRITTEN, None)
        before = dict(data)
    run(first, names[action], instance)
    run(then, names["saving"], instance)
    if before is not None and update_fields:
        added = _assigned(type(instance), before, data, update_fields)
        if added:
            data[_WRITTEN] = (update_fields, frozenset(update_fields).union(added))


def after_save(
    inline: Mapping[str, tuple[InlineHook, ...]], names: Mapping[Any, str], action: str, instance: Model
) -> None:
    """Run the ``created`` or ``updated`` hooks, then the ``saved`` ones, from ``post_save``."""
    run(inline.get(action), names[action], instance)
    run(inline.get("saved"), names["saved"], instance)


def written_fields(instance: Model, update_fields: Collection[str] | None) -> Collection[str] | None:
    """The fields that the save of ``instance`` wrote: ``update_fields``, and those its hooks assigned."""
    marker: tuple[object, frozenset[str]] | None = vars(instance).pop(_WRITTEN, None)
    if marker is not None and marker[0] is update_fields:
        return marker[1]
    return update_fields


def _assigned(
    model: type[Model], before: dict[str, Any], after: dict[str, Any], update_fields: Collection[str]
) -> set[str]:
    """The names of the concrete fields not in ``update_fields`` whose attribute the hooks assigned
    another value (a deferred field they set counts)."""
    added: set[str] = set()
    for field in model._meta.concrete_fields:
        name, attname = field.name, field.attname
        if field.primary_key or field.generated or name in update_fields or attname in update_fields:
            continue
        if attname not in after:
            continue
        if attname not in before or _differs(before[attname], after[attname]):
            added.add(name)
    return added


def _differs(old: object, new: object) -> bool:
    if old is new:
        return False
    try:
        return bool(old != new)
    except Exception:  # values that cannot be compared count as changed
        return True


def watch_writes(model: type[Model], watched: bool) -> None:
    """Wrap ``model._save_table`` so that a save writes the fields its before-hooks assigned, or undo it."""
    wrapped = is_wrapped(model, "_save_table")
    if watched and not wrapped:
        original: Callable[..., bool] = getattr(model, "_save_table")  # noqa: B009 - private in the stubs

        def _save_table(self: Model, *args: Any, **kwargs: Any) -> bool:
            marker: tuple[object, frozenset[str]] | None = vars(self).get(_WRITTEN)
            if marker is not None:
                # update_fields: the sixth argument of _save_table (Django 5.2 to 6.1), or named.
                given, fields = marker
                if kwargs.get("update_fields") is given:
                    kwargs["update_fields"] = fields
                elif len(args) > 5 and args[5] is given:
                    args = (*args[:5], fields, *args[6:])
            return original(self, *args, **kwargs)

        wrap(model, "_save_table", _save_table, original)
    elif not watched and wrapped:
        unwrap(model, "_save_table")
