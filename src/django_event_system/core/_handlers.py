"""Handlers: what a handler is, how it is named in logs, and the callables that stand in for one.

A handler is any callable, called as ``handler(event_name, *args, **kwargs)``. Where the library
registers a callable of its own in the user's handler's place (an EventListener's ``handle``, a
function that takes the Event instance alone, a queued handler, an Observer's method), that
callable is a :class:`HandlerWrapper`: it says which user function it stands for, how logs and
``manage.py events list`` name it, and whether it receives its events only after the commit.
Every part of the library reads those three things here, through :func:`describe_handler`,
:func:`handler_target` and :func:`holds_for_commit`, and nowhere else.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import MethodType
from typing import ClassVar

from ._errors import InvalidHandlerError

__all__ = [
    "Handler",
    "HandlerWrapper",
    "add_handler_source",
    "describe_handler",
    "handler_target",
    "handlers_outside",
    "holds_for_commit",
    "refuse_async_generator",
]

Handler = Callable[..., object]
"""A handler is called as ``handler(event_name, *args, **kwargs)``."""


class HandlerWrapper:
    """Base class of the callables registered in place of a user's handler.

    :param target: the user's callable that this one stands for (what ``RegisterHandler`` was
        given, or the class or function an adapter derived it from).
    :param description: how logs and listings name it; by default ``module:qualname`` of the target.
    """

    __slots__ = ("__weakref__", "description", "target")

    fixed_after_commit: ClassVar[bool] = False
    """Whether :attr:`after_commit` of a wrapper of this class never changes once it is made, so
    that an adapter may read it once, when the handlers of a name are resolved, rather than at
    every dispatch. False unless a subclass says so: it may follow the configuration."""

    def __init__(self, target: object, description: str | None = None) -> None:
        self.target: object = target
        self.description: str = description if description is not None else describe_handler(target)

    @property
    def after_commit(self) -> bool:
        """Whether it receives an event dispatched in a transaction only once that commits."""
        return False

    def declines(self, name: str, args: tuple[object, ...], kwargs: dict[str, object]) -> bool:
        """Whether this delivery is not for it after all (a condition that does not hold, a muted
        class), asked in the dispatching process before a queued handler sends anything."""
        return False

    def __call__(self, name: str, /, *args: object, **kwargs: object) -> object:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"


def handler_target(handler: object) -> object:
    """The user's callable that ``handler`` stands for (``handler`` itself if it is not a wrapper)."""
    while isinstance(handler, HandlerWrapper):
        handler = handler.target
    return handler


def holds_for_commit(handler: object) -> bool:
    """Whether ``handler`` is a wrapper that receives its events only after the commit."""
    return isinstance(handler, HandlerWrapper) and handler.after_commit


def describe_handler(handler: object) -> str:
    """Return ``module:qualname`` for a handler, for logs and listings."""
    if isinstance(handler, HandlerWrapper):
        return handler.description
    target = handler.__func__ if isinstance(handler, MethodType) else handler
    module = getattr(target, "__module__", None) or type(target).__module__
    qualname = getattr(target, "__qualname__", None) or type(target).__qualname__
    return f"{module}:{qualname}"


def refuse_async_generator(handler: object, what: str) -> None:
    """Raise :class:`InvalidHandlerError` if ``handler`` is an async generator function.

    A coroutine function is a handler like any other (its coroutine is awaited); an async
    generator produces values that nothing would consume, so it is refused where it is registered.
    """
    call = None if inspect.isfunction(handler) or inspect.ismethod(handler) else type(handler).__dict__.get("__call__")
    if inspect.isasyncgenfunction(handler) or inspect.isasyncgenfunction(call):
        raise InvalidHandlerError(
            f"{what} is an async generator function; a handler must be a function or an async def "
            "function (a coroutine function), whose coroutine is awaited"
        )


HandlerSource = Callable[[object, str], "list[HandlerWrapper]"]
"""Called with a dispatcher and an event name: the handlers an adapter calls itself for it."""

_sources: list[HandlerSource] = []


def add_handler_source(source: HandlerSource) -> None:
    """Let the testing helpers see the handlers that an adapter calls itself, outside the
    dispatcher's registry (the Django adapter's inline hooks, called by the model's receivers)."""
    _sources.append(source)


def handlers_outside(dispatcher: object, name: str) -> list[HandlerWrapper]:
    """The handlers of the event ``name`` on ``dispatcher`` that are not in its registry."""
    return [handler for source in _sources for handler in source(dispatcher, name)]
