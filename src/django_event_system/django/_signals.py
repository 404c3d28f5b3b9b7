"""``RegisterSignalsFor`` and ``SignalToEvent``: Django signals turned into events.

A signal receiver runs inside the code that sent the signal (often a request), so the receivers
here only build the event and queue it; the handlers run later, in delivery greenlets.
"""

from __future__ import annotations

import inspect
import logging
import sys
import threading
from collections.abc import Callable, Hashable
from types import TracebackType
from typing import Any, Union, cast

from django.db.models import Model
from django.dispatch import Signal

from ..core import Dispatcher, Event, EventDispatcher, describe_handler
from ._models import ModelAction, bind, check_model

__all__ = ["HookResult", "RegisterSignalsFor", "SignalMapping", "SignalToEvent", "mappings"]

logger = logging.getLogger("django_event_system.django")

HookResult = Union[str, Event, type[Event]]  # noqa: UP007 - a runtime alias, and Python 3.10 has no ``|`` on str
"""What a ``SignalToEvent`` hook returns: an event name, an Event instance or an Event class."""


def RegisterSignalsFor(
    model: type[Model], *, dispatcher: EventDispatcher = Dispatcher, track_changes: bool = True
) -> dict[ModelAction, str]:
    """Make ``model`` dispatch its model events without an Observer.

    ::

        RegisterSignalsFor(Example)
        # {'creating': 'events::db::my::models::Example::creating', 'created': ..., ...}

    The events are those an Observer of the model would get: creating, created, updating,
    updated, deleting, deleted, saving and saved; an event that no handler of ``dispatcher``
    matches, and that nothing intercepts, is not dispatched. Calling it again, or observing the
    model too, never dispatches an event twice.

    :param dispatcher: the dispatcher that receives the events.
    :param track_changes: keep a snapshot of loaded instances, for :func:`get_changes`.
    :returns: the event name of each action.
    :raises TypeError: ``model`` is not a concrete model class.
    """
    problem = check_model(model)
    if problem is not None:
        raise TypeError(f"RegisterSignalsFor() takes a concrete model class: {problem}")
    if not isinstance(dispatcher, EventDispatcher):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"dispatcher must be an EventDispatcher, not {dispatcher!r}")
    binding = bind(model)
    binding.claim(("RegisterSignalsFor", id(dispatcher)), dispatcher, track_changes)
    return dict(binding.names)


register_signals_for = RegisterSignalsFor


class SignalMapping:
    """A signal connected to an event by :func:`SignalToEvent`.

    ``disconnect()`` (or leaving its ``with`` block) stops the mapping.
    """

    def __init__(
        self,
        signal: Signal,
        event: str | type[Event] | None,
        sender: object,
        hook: Callable[..., HookResult] | None,
        dispatcher: EventDispatcher,
        key: Hashable,
    ) -> None:
        self.signal = signal
        self.event = event
        self.sender = sender
        self.hook = hook
        self.dispatcher = dispatcher
        self._key = key
        self._uid = f"django_event_system:signal:{id(self)}"
        self.connected: bool = False

    def connect(self) -> None:
        """Start turning the signal into the event (``SignalToEvent`` does it when it maps the signal)."""
        self.signal.connect(self._receive, sender=self.sender, weak=False, dispatch_uid=self._uid)
        self.connected = True

    def disconnect(self) -> None:
        """Stop turning the signal into the event. Disconnecting twice is harmless."""
        if self.connected:
            self.signal.disconnect(sender=self.sender, dispatch_uid=self._uid)
            self.connected = False
            with _lock:
                if _mappings.get(self._key) is self:
                    del _mappings[self._key]

    def __enter__(self) -> SignalMapping:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.disconnect()

    @property
    def target(self) -> str:
        """What the signal becomes, for listings: the event name, or the hook."""
        if self.hook is not None:
            return f"hook {describe_handler(self.hook)}"
        if isinstance(self.event, type):
            return self.event.__event_name__
        return str(self.event)

    def _receive(self, sender: Any, **kwargs: Any) -> None:
        target: object
        if self.hook is None:
            target = self.event
        else:
            target = self.hook(sender, **kwargs)
            if not isinstance(target, (str, Event)) and not _is_event_class(target):
                raise TypeError(
                    f"the hook {describe_handler(self.hook)} given to SignalToEvent() must return an event name, "
                    f"an Event instance or an Event class, not {target!r}"
                )
        if isinstance(target, str):
            self.dispatcher.Dispatch(target, sender, **kwargs)
        elif isinstance(target, Event):
            self.dispatcher.Dispatch(target)
        else:
            self.dispatcher.Dispatch(_build_event(cast("type[Event]", target), sender, kwargs))

    def __repr__(self) -> str:
        state = "" if self.connected else " disconnected"
        return f"<SignalMapping {describe_signal(self.signal)} -> {self.target}{state}>"


_mappings: dict[Hashable, SignalMapping] = {}
_lock = threading.Lock()


def SignalToEvent(
    signal: Signal,
    event: str | type[Event] | None = None,
    sender: object = None,
    hook: Callable[..., HookResult] | None = None,
    *,
    dispatcher: EventDispatcher = Dispatcher,
) -> SignalMapping:
    """Dispatch an event each time ``signal`` is sent.

    What the handlers receive depends on what the signal becomes:

    - ``event="name"``: handlers are called as ``handler("name", sender, **kwargs)``, with the
      keyword arguments the signal was sent with (``signal`` included).
    - ``event=EventClass``: an instance is built from the signal's keyword arguments (and
      ``sender``, ``signal``) that its ``__init__`` accepts; handlers get it as for
      ``EventClass.Dispatch``.
    - ``hook=callable``: ``hook(sender, **kwargs)`` decides, each time, by returning an event name,
      an Event instance or an Event class, used as above. Do not dispatch inside the hook.

    :param sender: only map the signal when it is sent by this sender.
    :param dispatcher: the dispatcher that receives the events.
    :returns: a :class:`SignalMapping`; the same call twice returns the same mapping, connected once.
    :raises TypeError: neither or both of ``event`` and ``hook``; an ``event`` that is not a name or
        an Event class; a ``hook`` that is not callable; a ``signal`` that is not a Signal.
    """
    if not isinstance(signal, Signal):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"SignalToEvent() takes a django.dispatch.Signal, not {signal!r}")
    if event is None and hook is None:
        raise TypeError("SignalToEvent() needs an event (a name or an Event class) or a hook that returns one")
    if event is not None and hook is not None:
        raise TypeError("SignalToEvent() takes an event or a hook, not both")
    if hook is not None and not callable(hook):
        raise TypeError(f"the hook given to SignalToEvent() must be callable, not {hook!r}")
    if event is not None:
        if isinstance(event, str):
            if not event:
                raise ValueError("SignalToEvent() was given an empty event name")
        elif not _is_event_class(event):
            raise TypeError(f"SignalToEvent() takes an event name (str) or an Event class as event, not {event!r}")
    if not isinstance(dispatcher, EventDispatcher):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"dispatcher must be an EventDispatcher, not {dispatcher!r}")
    key = (id(signal), event if isinstance(event, str) else id(event), id(sender), id(hook), id(dispatcher))
    with _lock:
        mapping = _mappings.get(key)
        if mapping is None:
            mapping = _mappings[key] = SignalMapping(signal, event, sender, hook, dispatcher, key)
            mapping.connect()
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("signal %s mapped to %s", describe_signal(signal), mapping.target)
    return mapping


signal_to_event = SignalToEvent


def _is_event_class(value: object) -> bool:
    # Checked at run time: the annotations are promises that callers and hooks may not keep.
    return isinstance(value, type) and issubclass(value, Event)


def _build_event(event_class: type[Event], sender: Any, kwargs: dict[str, Any]) -> Event:
    """Build ``event_class`` from the signal's arguments that its ``__init__`` accepts."""
    available = {"sender": sender, **kwargs}
    parameters = inspect.signature(event_class).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        arguments = available
    else:
        arguments = {
            name: available[name]
            for name, p in parameters.items()
            if name in available and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        }
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    required = [name for name, p in parameters.items() if p.kind not in variadic and p.default is p.empty]
    missing = [name for name in required if name not in arguments]
    if missing:
        raise TypeError(
            f"{event_class.__qualname__} cannot be built from the signal: it needs {', '.join(missing)}, "
            f"and the signal sends {', '.join(sorted(available))}"
        )
    return event_class(**arguments)


def describe_signal(signal: Signal) -> str:
    """The dotted path of a signal, found among the loaded modules (its defining module first)."""
    found: list[str] = []
    for module_name, module in list(sys.modules.items()):
        namespace: object = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for attribute, value in list(cast("dict[str, object]", namespace).items()):
            if value is signal and not attribute.startswith("_"):
                found.append(f"{module_name}.{attribute}")
    if not found:
        return repr(signal)
    # A signal is usually defined in a ``signals`` module and re-exported elsewhere.
    return min(found, key=lambda path: (not path.rsplit(".", 2)[-2].endswith("signals"), len(path), path))


def mappings() -> list[SignalMapping]:
    """Every connected signal mapping."""
    return [mapping for mapping in _mappings.values() if mapping.connected]
