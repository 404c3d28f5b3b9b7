"""Queued handlers: registered like any other handler, run in a worker process through a transport.

``RegisterHandler(..., queued=True)`` (or ``listen(..., queued=True)``, or ``queued = True`` on
an EventListener) registers a :class:`QueuedHandler` in the pattern registry in place of the
handler. Delivery stays the same loop: when the event reaches the QueuedHandler, it encodes the
event as JSON and hands a :class:`~django_event_system.core.Message` to the configured
:class:`~django_event_system.core.Transport`. The payload is encoded first when the event is
dispatched, in the dispatching code's stack: one that cannot travel makes ``Dispatch`` raise
:class:`~django_event_system.core.SerializationError`, and no handler of it runs. In the worker,
:func:`~django_event_system.core.process_message` finds the handler again by its key, among the
queued handlers registered in that process, and calls it.

A handler's key is ``module:qualname`` (or ``Queued(key=...)``): the workers import the same
modules, so the same key names the same function there. Handlers defined inside functions and
lambdas have no such name and are refused.

Holding messages back: an adapter may install a *hold provider* (the Django adapter does, for
transactions). At dispatch it returns a :class:`HeldMessages` when the messages of this event
must wait (the transaction is still open), else ``None``; the QueuedHandlers then add their
messages to it, and it sends them on :meth:`HeldMessages.release` (commit) or never (rollback).

The outbox: an adapter may install an :class:`Outbox` (the Django adapter does: a table written
in the dispatching code's transaction). The messages of the queued handlers that use it are
encoded at dispatch, in the dispatching code's stack, and written there with
:meth:`Outbox.write`; a relay publishes them later. When such a handler's turn comes in the
queue, there is nothing left to send.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import weakref
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from .._errors import EnqueueError, InvalidHandlerError, SerializationError, TransportError
from .._event import Event, is_event_class
from .._handlers import Handler, HandlerWrapper, describe_handler, handler_target
from .._interception import Stage
from .._mocking import swallowed
from .._registry import Registration
from ._message import Message, encode_message, outbox_message, split_event
from ._options import Queued
from ._serialization import encode_arguments, encode_event, event_classes
from ._transport import Transport

if TYPE_CHECKING:
    from .._bus import Bus

__all__ = [
    "EnqueueErrorPolicy",
    "EnqueueFailure",
    "HeldMessages",
    "Outbox",
    "QueuedHandler",
    "configure_transport",
    "current_outbox",
    "current_transport",
    "queued_handler",
    "register_queued",
    "send",
    "set_hold_provider",
    "set_outbox",
    "using_transport",
]

logger = logging.getLogger("django_event_system.queued")


@dataclass(frozen=True)
class EnqueueFailure:
    """What an enqueue error policy callable receives when a message could not be sent."""

    message: Message
    """The message, whose ``body`` can be stored and sent again later."""
    exception: Exception


EnqueueErrorPolicy = Literal["raise"] | Callable[[EnqueueFailure], object]
"""What happens when a transport cannot send a message (the broker is down, say). Either way the
failure is first logged on ``django_event_system.queued`` with the event id and handler key.

``"raise"`` (the default) raises :class:`EnqueueError` (which carries the message) where the
message was being sent: the dispatcher's error policy then sees it like a handler's error (it is
logged, or raised from ``ClearQueue`` / ``Dispatch`` in sync mode), or, for a message held until
commit, it is raised from the commit. A callable receives an :class:`EnqueueFailure` instead,
to store the message in an outbox and send it later; if the callable raises, ``EnqueueError``
is raised as with ``"raise"``."""


class Outbox(Protocol):
    """Where the messages of outbox handlers are written at dispatch (see :func:`set_outbox`)."""

    @property
    def default(self) -> bool:
        """Whether queued handlers that do not say (``Queued(outbox=None)``) use the outbox."""
        ...

    def write(self, messages: list[Message]) -> None:
        """Store ``messages`` durably, with the data of the dispatching code (its transaction).

        Called in the dispatching code's stack; what it raises reaches the caller of ``Dispatch``.
        """


class _Config:
    transport: Transport | None = None
    on_enqueue_error: EnqueueErrorPolicy = "raise"
    hold_provider: Callable[[str], HeldMessages | None] | None = None
    outbox: Outbox | None = None


_config = _Config()


def configure_transport(transport: Transport | None, *, on_enqueue_error: EnqueueErrorPolicy = "raise") -> None:
    """Send the messages of queued handlers through ``transport`` (``None``: through nothing).

    :param on_enqueue_error: see :data:`EnqueueErrorPolicy`.
    :raises TypeError: ``transport`` is not a :class:`Transport`, or the policy is not valid.
    """
    if transport is not None and not isinstance(transport, Transport):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"configure_transport() takes a Transport or None, not {transport!r}")
    if on_enqueue_error != "raise" and not callable(on_enqueue_error):
        raise TypeError(f"on_enqueue_error must be 'raise' or a callable, not {on_enqueue_error!r}")
    _config.transport = transport
    _config.on_enqueue_error = on_enqueue_error


def current_transport() -> Transport | None:
    """The transport that queued handlers send through, if one is configured."""
    return _config.transport


@contextlib.contextmanager
def using_transport(
    transport: Transport | None, *, on_enqueue_error: EnqueueErrorPolicy = "raise"
) -> Generator[Transport | None, None, None]:
    """Within the block, send through ``transport``; the previous configuration comes back after."""
    previous = (_config.transport, _config.on_enqueue_error)
    configure_transport(transport, on_enqueue_error=on_enqueue_error)
    try:
        yield transport
    finally:
        _config.transport, _config.on_enqueue_error = previous


# -- sending ----------------------------------------------------------------------------------


def send(message: Message, *, delay: float = 0.0, attempt: int = 0) -> None:
    """Hand ``message`` to the configured transport, applying the enqueue error policy on failure.

    The message of a handler that uses the outbox was written there when its event was
    dispatched: nothing is sent here, and the relay publishes it.

    :raises EnqueueError: the message could not be sent and the policy is ``"raise"``.
    """
    transport = _config.transport
    stub = _handlers.get(message.handler)
    try:
        if stub is not None and stub.uses_outbox:
            if _config.outbox is not None:
                return
            raise TransportError(
                f"the queued handler {message.handler} uses the outbox, but no outbox is installed "
                "(with Django, add 'django_event_system' to INSTALLED_APPS and migrate)"
            )
        if transport is None:
            raise TransportError(
                "no transport is configured for queued handlers: call configure_transport() "
                "(with Django, set DJANGO_EVENT_SYSTEM['QUEUED']['TRANSPORT'])"
            )
        transport.enqueue(message, delay=delay, attempt=attempt)
    except Exception as exc:
        _enqueue_failed(message, exc)


def _enqueue_failed(message: Message, exc: Exception) -> None:
    logger.error(
        "could not enqueue event %r (id %s) for the queued handler %s: %s: %s",
        message.event_name,
        message.event_id,
        message.handler,
        type(exc).__name__,
        exc,
    )
    policy = _config.on_enqueue_error
    if policy != "raise":
        try:
            policy(EnqueueFailure(message, exc))
        except Exception:
            logger.exception("the enqueue error policy %r failed for event id %s", policy, message.event_id)
        else:
            return
    raise EnqueueError(
        f"could not enqueue event {message.event_name!r} (id {message.event_id}) for the queued handler "
        f"{message.handler}: {exc}",
        message,
    ) from exc


class HeldMessages:
    """Messages held back until :meth:`release` sends them, in order; never sent if never released.

    The Django adapter creates one per dispatch inside a transaction and releases it when the
    transaction commits; on rollback it is dropped, and nothing it held is sent.
    """

    def __init__(self) -> None:
        self._messages: list[Message] = []
        self._released = False
        self._lock = threading.Lock()

    @property
    def released(self) -> bool:
        """Whether :meth:`release` was called (later messages are sent at once)."""
        return self._released

    def __len__(self) -> int:
        return len(self._messages)

    def hold(self, message: Message) -> bool:
        """Keep ``message`` until release; ``False`` if released already (send it yourself)."""
        with self._lock:
            if self._released:
                return False
            self._messages.append(message)
            return True

    def release(self) -> None:
        """Send every held message, in order, and send later ones at once.

        :raises EnqueueError: a message could not be sent under the ``"raise"`` policy (the
            others are sent all the same; the first error is raised).
        """
        with self._lock:
            self._released = True
            messages, self._messages = self._messages, []
        first_error: EnqueueError | None = None
        for message in messages:
            try:
                send(message)
            except EnqueueError as exc:
                first_error = first_error or exc
        if first_error is not None:
            raise first_error


def set_hold_provider(
    provider: Callable[[str], HeldMessages | None] | None,
) -> Callable[[str], HeldMessages | None] | None:
    """Install the function asked, at each dispatch of an event with queued handlers, whether
    their messages must be held back (see the module docstring). It receives the event name.
    ``None`` removes it. Returns the provider it replaces."""
    previous = _config.hold_provider
    _config.hold_provider = provider
    return previous


def set_outbox(outbox: Outbox | None) -> Outbox | None:
    """Install the :class:`Outbox` that outbox handlers write to at dispatch; ``None`` removes it.

    Returns the outbox it replaces. The Django app installs one when it is ready.
    """
    previous = _config.outbox
    _config.outbox = outbox
    return previous


def current_outbox() -> Outbox | None:
    """The installed :class:`Outbox`, if any."""
    return _config.outbox


def _write_outbox(
    outbox: Outbox,
    dispatcher: Bus,
    stubs: tuple[QueuedHandler, ...],
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    instance: Event | None,
) -> bool:
    """Write the messages of the outbox handlers among ``stubs``; whether that was all of them.

    Skipped for a dispatch that a testing helper keeps from its listeners (``fake``, ``Expect``):
    those see the event after this, and nothing of an event they hold back may be published.
    """
    chosen = [stub for stub in stubs if stub.uses_outbox]
    if not chosen:
        return False
    if not swallowed(dispatcher, name, instance):
        wanted = [stub for stub in chosen if not stub.declines(name, args, kwargs)]
        if wanted:
            outbox.write([outbox_message(stub.prepare(name, args, kwargs)) for stub in wanted])
    return len(chosen) == len(stubs)


@dataclass(frozen=True)
class _AtDispatch:
    """What the dispatch check found for an Event instance, for its QueuedHandlers to use later."""

    encoded: dict[str, Any] | None
    """The event as encoded at dispatch: what every message of it carries."""
    held: HeldMessages | None = None
    """Where its messages wait for the commit, if they must."""


# Keyed by the instance itself (events compare by identity), for as long as it lives.
_at_dispatch: weakref.WeakKeyDictionary[Event, _AtDispatch] = weakref.WeakKeyDictionary()


class _HeldName(str):
    """The event name, carrying the :class:`HeldMessages` of a string event dispatched while held."""

    held: HeldMessages

    def __str__(self) -> str:
        # The dispatcher turns a str subclass into a str with str(): this keeps the marker.
        return self


class _DispatchCheck:
    """Does at dispatch, in the dispatching code's stack, what the queued handlers cannot do later.

    The QueuedHandlers run in a delivery greenlet, after ``Dispatch`` has returned. Two things
    cannot wait for them:

    - A payload that cannot travel is refused here: it is encoded now, and ``Dispatch`` raises
      :class:`SerializationError` before anything is queued, so no handler of a refused event
      runs, in-process or queued. An Event's encoding is kept on the instance and is what its
      QueuedHandlers send: the worker receives the event as it was dispatched, encoded once for
      all of them. (Arguments are encoded again when sent: a string event has no instance to
      keep them on.)
    - The hold provider is asked here, where the dispatching code's transaction can be seen; its
      answer travels with the event: on the Event instance, or in the name of a string event
      (re-dispatched with a :class:`_HeldName`). The messages of outbox handlers are written
      here too, for the same reason: in the dispatching code's transaction.

    It is installed on a dispatcher with its first queued handler and stays (a handler restored
    later, as a mocked test restores the handlers it cancelled, finds it in place). It runs first
    among the dispatcher's interceptors, so that the others see each event once and never a
    refused one. An event without queued handlers costs it one cached lookup; a dispatcher that
    never had a queued handler does not have it at all.
    """

    _installed: weakref.WeakKeyDictionary[Bus, _DispatchCheck] = weakref.WeakKeyDictionary()
    _install_lock = threading.Lock()

    def __init__(self, dispatcher: Bus) -> None:
        self._dispatcher = weakref.ref(dispatcher)
        self._registry = dispatcher.registry
        # The queued handlers of each name, for as long as the registrations stay as they were
        # (the registry's version moves whenever a handler is added or removed).
        self._handlers: dict[str, tuple[QueuedHandler, ...]] = {}
        self._handlers_of = -1  # the registry version the handlers were found at

    @classmethod
    def install(cls, dispatcher: Bus) -> None:
        """Check every later dispatch on ``dispatcher`` (installed once, however often called)."""
        with cls._install_lock:
            if dispatcher in cls._installed:
                return
            check = cls._installed[dispatcher] = cls(dispatcher)
            # The bound method, not the instance: calling one is cheaper, on every dispatch.
            dispatcher.interceptors.add(check.check, Stage.CHECK)

    def check(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], instance: Event | None) -> bool:
        """The interceptor: ``True`` when the event was re-dispatched held (see the class docstring).

        :raises SerializationError: the event has queued handlers and its payload cannot travel.
        """
        registry = self._registry
        if registry.version != self._handlers_of:
            self._handlers_of = registry.version
            self._handlers = {}
        handlers = self._handlers.get(name)
        if handlers is None:
            handlers = self._queued_handlers(name)
        if not handlers or type(name) is _HeldName:  # a _HeldName was checked before it was re-dispatched
            return False
        return self._prepare(name, args, kwargs, instance, handlers)

    def _queued_handlers(self, name: str) -> tuple[QueuedHandler, ...]:
        registry = self._registry
        handlers = tuple(cb for cb in registry.resolve(name) if isinstance(cb, QueuedHandler))
        if len(self._handlers) >= registry.cache_size:
            self._handlers.clear()
        self._handlers[name] = handlers
        return handlers

    def _prepare(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        instance: Event | None,
        handlers: tuple[QueuedHandler, ...],
    ) -> bool:
        event, rest = split_event(args)
        try:
            encoded = None if event is None else encode_event(event)
            encode_arguments(rest, kwargs)
        except SerializationError as exc:
            keys = tuple(dict.fromkeys(handler.key for handler in handlers))
            which = f"the queued handler{'s' if len(keys) > 1 else ''} {', '.join(keys)}"
            raise SerializationError(f"event {name!r} was not dispatched: it has {which}, and {exc}") from None
        if event is not None:
            _at_dispatch[event] = _AtDispatch(encoded)
        dispatcher = self._dispatcher()
        if dispatcher is None:  # pragma: no cover - it is dispatching, so it is alive
            return False
        outbox = _config.outbox
        if outbox is not None and _write_outbox(outbox, dispatcher, handlers, name, args, kwargs, instance):
            return False  # every queued handler of the event uses the outbox: nothing to hold
        provider = _config.hold_provider
        held = None if provider is None else provider(name)
        if held is None:
            return False
        if instance is not None:
            _at_dispatch[instance] = _AtDispatch(encoded, held)
            return False
        marked = _HeldName(name)
        marked.held = held
        dispatcher.Dispatch(marked, *args, **kwargs)
        return True


# -- the handlers -----------------------------------------------------------------------------


class QueuedHandler(HandlerWrapper):
    """Stands in the pattern registry for a queued handler: sends the event to a worker.

    ``target`` is the handler as registered, called in the worker as
    ``target(name, *args, **kwargs)``.
    """

    __slots__ = ("dispatcher", "key", "options", "registrations")

    def __init__(self, dispatcher: Bus, target: Handler, options: Queued, key: str) -> None:
        super().__init__(target, key)
        self.dispatcher: Bus = dispatcher
        self.options: Queued = options
        self.key: str = key
        self.registrations: list[Registration] = []

    @property
    def after_commit(self) -> bool:
        # Adapters that hand some events to after-commit handlers themselves (the Django
        # adapter's model events) count a queued handler among them while messages are held.
        # An outbox handler's message is written in the transaction: it has nothing to wait for.
        return _config.hold_provider is not None and not self.uses_outbox

    @property
    def uses_outbox(self) -> bool:
        """Whether its messages go through the outbox: ``Queued(outbox=...)``, else the outbox's default."""
        choice = self.options.outbox
        if choice is None:
            outbox = _config.outbox
            return outbox is not None and outbox.default
        return choice

    @property
    def active(self) -> bool:
        """Whether one of its registrations is still in force."""
        return any(registration.active for registration in self.registrations)

    def declines(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Whether the handler it stands for declines this delivery (see ``HandlerWrapper.declines``):
        then nothing is sent."""
        target = self.target
        return isinstance(target, HandlerWrapper) and target.declines(name, args, kwargs)

    def __call__(self, name: str, /, *args: Any, **kwargs: Any) -> None:
        if self.declines(name, args, kwargs):
            return
        event, _ = split_event(args)
        held: HeldMessages | None
        if event is not None:
            seen = _at_dispatch.get(event)
            held = None if seen is None else seen.held
        else:
            held = name.held if type(name) is _HeldName else None
        message = self.prepare(str.__str__(name), args, kwargs)
        if held is not None and held.hold(message):
            return
        send(message)

    def prepare(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Message:
        """Encode one delivery of event ``name`` to this handler as a :class:`Message`.

        An Event is sent as it was encoded when it was dispatched, if it was dispatched through
        the dispatcher (which refused it then if it could not travel).

        :raises SerializationError: something in the payload cannot travel.
        """
        event, _ = split_event(args)
        seen = None if event is None else _at_dispatch.get(event)
        encoded = None if seen is None else seen.encoded
        return encode_message(self.key, name, args, kwargs, self.options.queue, encoded=encoded)

    def matches(self, name: str) -> bool:
        """Whether one of its active registrations' patterns fully matches ``name``."""
        for registration in self.registrations:
            if registration.active and re.fullmatch(registration.pattern, name):
                return True
        return False

    def __repr__(self) -> str:
        return f"<QueuedHandler {self.key}>"


_handlers: dict[str, QueuedHandler] = {}
_handlers_lock = threading.Lock()


def register_queued(
    dispatcher: Bus,
    pattern: str | type[Event],
    handler: Handler,
    queued: bool | Queued,
    *,
    priority: int,
    once: bool,
    weak: bool,
    after_commit: bool = False,
) -> Registration:
    """Register ``handler`` as a queued handler of ``dispatcher`` (see ``RegisterHandler``)."""
    if queued is True:
        options = Queued()
    elif isinstance(queued, Queued):
        options = queued
    else:
        raise TypeError(f"queued must be a bool or a Queued(...), not {queued!r}")
    if once or weak:
        raise ValueError(
            "a queued handler cannot be registered with once=True or weak=True: "
            "it runs in other processes, where neither can be honoured"
        )
    if not callable(handler):
        raise InvalidHandlerError(f"a handler must be callable, got {handler!r} for pattern {pattern!r}")
    key = options.key or describe_handler(handler)
    if "<locals>" in key or "<lambda>" in key:
        raise InvalidHandlerError(
            f"the queued handler {key} has no name that a worker process can find: define it at "
            "module level (a module the workers import too), or name it with Queued(key=...)"
        )
    if is_event_class(pattern):
        event_classes.register(pattern)
        regex = re.escape(pattern.__event_name__)
    else:
        regex = pattern
    with _handlers_lock:
        existing = _handlers.get(key)
        if existing is not None and existing.active:
            if handler_target(existing.target) is not handler_target(handler) or existing.dispatcher is not dispatcher:
                raise InvalidHandlerError(
                    f"the queued handler key {key!r} already names {existing.target!r}; "
                    "give one of them another key with Queued(key=...)"
                )
            if existing.options != options:
                raise InvalidHandlerError(
                    f"the queued handler {key!r} is registered again with other options "
                    f"({options!r} instead of {existing.options!r})"
                )
            stub = existing
        else:
            stub = QueuedHandler(dispatcher, handler, options, key)
        registration = dispatcher.registry.register(regex, stub, priority=priority, after_commit=after_commit)
        stub.registrations = [r for r in stub.registrations if r.active]
        stub.registrations.append(registration)
        _handlers[key] = stub
    _DispatchCheck.install(dispatcher)
    return registration


def queued_handler(key: str) -> QueuedHandler | None:
    """The queued handler registered in this process under ``key``, if it is still registered."""
    stub = _handlers.get(key)
    if stub is None or not stub.active:
        return None
    return stub
