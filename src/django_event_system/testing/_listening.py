"""``assert_listening``: is this handler registered for that event?"""

from __future__ import annotations

import inspect
from types import MethodType
from typing import cast

from ..core import Dispatcher, Event, EventBus, EventDispatcher, QueuedHandler, Registration, describe_handler
from ..core.integration import HandlerWrapper, handler_target, handlers_outside

__all__ = ["assert_listening"]


def _unwrapped(registration: Registration) -> object:
    handler: object = registration.handler
    if isinstance(handler, QueuedHandler):
        handler = handler.target
    return handler


def _owner_method(handler: object) -> tuple[type, str] | None:
    """The class and method name of a wrapper that calls one method (a subscriber's or an Observer's)."""
    if not isinstance(handler, HandlerWrapper):
        return None
    method = getattr(handler, "method", None)
    owner = handler_target(handler)
    if isinstance(method, str) and isinstance(owner, type):
        return owner, method
    return None


def _is(registration: Registration | HandlerWrapper, wanted: object) -> bool:
    handler = registration if isinstance(registration, HandlerWrapper) else _unwrapped(registration)
    if isinstance(wanted, MethodType):
        wanted = wanted.__func__
    found = _owner_method(handler)
    if found is not None and inspect.isfunction(wanted):
        owner, method = found
        return inspect.getattr_static(owner, method, None) is wanted
    if handler is wanted or handler_target(handler) is wanted:
        return True
    target = handler_target(handler)
    return isinstance(target, MethodType) and target.__func__ is wanted


def assert_listening(target: str | type[Event], handler: object, *, dispatcher: EventBus | None = None) -> None:
    """Assert that ``handler`` is registered for ``target`` (an event name, or an Event class).

    ``handler`` is a function (registered with ``RegisterHandler`` or ``listen``), an
    EventListener class, or a method of an EventSubscriber or an Observer (``Billing.charge``,
    ``ItemObserver.updated``, an inline hook too). The name is resolved as a dispatch would
    resolve it: a pattern that matches it counts. ::

        assert_listening(OrderPlaced, Billing.charge)
        assert_listening("events::db::shop::models::Order::updated", OrderObserver.shipped)

    :param dispatcher: the dispatcher to look in; the global ``Dispatcher`` by default.
    :raises AssertionError: it is not; the message lists what is registered for the target.
    :raises TypeError: ``target`` is neither a name nor an Event class.
    """
    __tracebackhide__ = True  # pytest shows the test's frame, not this one
    bus: EventDispatcher = Dispatcher if dispatcher is None else dispatcher  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    given = cast("object", target)  # typed, but checked: a wrong target is a common slip in tests
    if isinstance(given, type) and issubclass(given, Event):
        name = given.__event_name__
        shown = f"{given.__name__} ({name!r})"
    elif isinstance(given, str) and given:
        name = given
        shown = repr(name)
    else:
        raise TypeError(f"assert_listening() takes an event name or an Event class, not {target!r}")
    registrations = bus.registry.registrations_for(name)
    outside = handlers_outside(bus, name)  # an Observer's inline hooks
    candidates: list[Registration | HandlerWrapper] = [*outside, *registrations]
    if any(_is(candidate, handler) for candidate in candidates):
        return
    wanted = handler.__func__ if isinstance(handler, MethodType) else handler
    what = getattr(wanted, "__qualname__", None) or repr(wanted)
    if registrations or outside:
        listed = "\n".join(
            [f"  - {describe_handler(h)} (inline)" for h in outside]
            + [
                f"  - {describe_handler(r.handler)} (pattern {r.pattern!r}, priority {r.priority})"
                for r in registrations
            ]
        )
        raise AssertionError(f"{what} is not registered for {shown}; registered for it:\n{listed}")
    raise AssertionError(f"{what} is not registered for {shown}; nothing is registered for it")
