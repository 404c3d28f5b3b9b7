"""The dispatcher: registers handlers for patterns and delivers events to them.

``Dispatch`` puts the event on the gevent queue of the calling thread and returns at once;
handlers never run in the caller's stack (unless sync mode is on). ``ClearQueue`` waits until
everything queued, including what the handlers dispatched meanwhile, has been handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import warnings
from collections.abc import Callable, Generator, Sequence
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, overload

from ._cascade import DEFAULT_MAX_DEPTH, OUTSIDE, depth_holder, own_depth_holder
from ._commit import note_after_commit_registration
from ._config import FullPolicy, add_dispatcher, is_sync
from ._draining import QueueCleared, drain_async, ensure_cleared
from ._errors import CascadeDepthError, EmptyEventNameError, InvalidEventError
from ._event import Event, is_event_class
from ._handlers import Handler, HandlerWrapper
from ._handling import ErrorPolicy, Failures, Handling
from ._interception import Interception, Interceptor, Interceptors, Stage
from ._local_queue import DEFAULT_POOL_SIZE, GeventQueue, QueueStats, ThreadLocal
from ._mocking import EventTarget, expect, mocks_dispatch
from ._registry import DEFAULT_CACHE_SIZE, PatternRegistry, Registration
from ._validation import is_int
from .queued import Queued, register_queued

__all__ = ["Dispatcher", "EventDispatcher"]

_E = TypeVar("_E", bound=Event)
_E_contra = TypeVar("_E_contra", bound=Event, contravariant=True)
_P = ParamSpec("_P")
_R = TypeVar("_R")
_R_co = TypeVar("_R_co", covariant=True)
_F = TypeVar("_F", bound=Callable[..., object])
# A handler of a pattern: called as handler(name, *args, **kwargs), so its first parameter takes the name.
_PatternHandler = TypeVar("_PatternHandler", bound=Callable[Concatenate[str, ...], object])

_holder = depth_holder.get  # the C method itself: the hot path makes no Python-level call for it
_monotonic = time.monotonic
_NO_KWARGS: dict[str, Any] = {}
"""The keyword arguments of the events queued without any: never changed (``handle`` unpacks it)."""


# The variance pyright computes for a protocol whose __call__ is overloaded is wrong here (it
# substitutes a dummy class for the ParamSpec, so that the second overload accepts anything and
# any variance checks out): _E_contra is contravariant, as mypy computes.
class _TakesEvent(Protocol[_E_contra, _P, _R_co]):  # pyright: ignore[reportInvalidTypeVarUse]
    """A handler of ``listen(EventClass)``, seen twice: as a callable that accepts the Event instance
    alone (the check), and as its own signature ``_P`` and return type ``_R_co`` (what the
    decorator returns, parameter names included). A callable is one only if it is both."""

    @overload
    def __call__(self, event: _E_contra, /) -> object: ...

    @overload
    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R_co: ...


class _EventDecorator(Generic[_E]):
    """Returned by ``listen(EventClass)``: registers a handler that receives the Event instance."""

    __slots__ = ("_dispatcher", "_event_class", "_options")

    def __init__(self, dispatcher: EventDispatcher, event_class: type[_E], options: dict[str, Any]) -> None:
        self._dispatcher = dispatcher
        self._event_class = event_class
        self._options = options

    # The first overload returns the handler's own signature. The second is there for mypy, which
    # infers nothing for _P from a handler whose only parameter is positional-only, exactly the
    # event (``received.append``): such a handler gets ``(event, /) -> R``, its own type but for the
    # parameter's name, which cannot be passed by keyword anyway. Pyright solves the first for
    # every handler, so it reports the second as never used.
    @overload
    def __call__(self, handler: _TakesEvent[_E, _P, _R], /) -> Callable[_P, _R]: ...  # pyright: ignore[reportOverlappingOverload]

    @overload
    def __call__(self, handler: Callable[[_E], _R], /) -> Callable[[_E], _R]: ...  # pyright: ignore[reportOverlappingOverload]

    def __call__(self, handler: Callable[..., object], /) -> Callable[..., object]:
        self._dispatcher.RegisterHandler(self._event_class, _EventOnly(handler), **self._options)
        return handler


class _EventOnly(HandlerWrapper):
    """Adapts a handler that takes the Event instance alone to the ``(name, event)`` convention."""

    __slots__ = ("_handler",)

    def __init__(self, handler: Callable[[Any], object]) -> None:
        super().__init__(handler)
        self._handler = handler

    def __call__(self, name: str, /, *args: Any, **kwargs: Any) -> object:
        return self._handler(args[0])


class EventDispatcher:
    """Registers handlers for event-name patterns and dispatches events to them.

    The package-wide instance is :data:`Dispatcher`; create your own for an isolated set of
    handlers and queues.

    :param sync: run handlers inline in ``Dispatch``; ``None`` follows :func:`configure`.
    :param pool_size: the most events handled at once per thread; 1 handles them strictly in order.
    :param error_policy: what happens when a handler raises (see :data:`ErrorPolicy`).
    :param cache_size: how many resolved event names are cached.
    :param max_depth: how deep a cascade (handlers dispatching events whose handlers dispatch
        events...) may go; deeper, ``Dispatch`` raises :class:`CascadeDepthError` in the handler
        that dispatched, which the error policy reports. This stops a handler that dispatches the
        event it handles from looping forever.
    :param max_pending: the most events waiting in one thread's queue (see :attr:`max_pending`);
        ``None`` sets no bound.
    :param on_full: at the bound, ``"block"`` (wait for room) or ``"raise"``
        (:class:`QueueFullError`).
    """

    # Set through their properties, which check the values.
    _on_full: FullPolicy
    _error_policy: ErrorPolicy

    def __init__(
        self,
        *,
        sync: bool | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
        error_policy: ErrorPolicy = "log",
        cache_size: int = DEFAULT_CACHE_SIZE,
        max_depth: int = DEFAULT_MAX_DEPTH,
        max_pending: int | None = None,
        on_full: FullPolicy = "block",
    ) -> None:
        self._registry = PatternRegistry(cache_size=cache_size)
        self._max_pending: int | None = None
        self._interceptors: tuple[Interceptor, ...] = ()
        self._interceptor_chain = Interceptors(self._interceptors_changed)
        self._failures = Failures(ThreadLocal, self._count_failure)
        self._handle = Handling(self._registry, self._failures).handle
        self._queue = GeventQueue(
            self._handle, pool_size=pool_size, capture=self._failures.hand_back, unclaimed=self._failures.log_unclaimed
        )
        self._put = self._queue.put
        self.sync = sync
        self.error_policy = error_policy
        self.max_depth = max_depth
        self.on_full = on_full
        self.max_pending = max_pending
        add_dispatcher(self)

    @property
    def registry(self) -> PatternRegistry:
        """The handlers, by pattern (see :class:`PatternRegistry`)."""
        return self._registry

    @property
    def interceptors(self) -> Interceptors:
        """What sees each dispatch in the dispatching code's stack, before it is queued."""
        return self._interceptor_chain

    def _interceptors_changed(self, chain: tuple[Interceptor, ...]) -> None:
        self._interceptors = chain
        self._update_fast_path()

    def _count_failure(self) -> None:
        self._queue.count_failure()

    # -- configuration ----------------------------------------------------------------------

    @property
    def sync(self) -> bool | None:
        """``True``: handlers run inline in ``Dispatch``; ``None``: follow :func:`configure`."""
        return self._sync

    @sync.setter
    def sync(self, value: bool | None) -> None:
        if value is not None and not isinstance(value, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"sync must be a bool or None, not {value!r}")
        self._sync = value
        self._update_fast_path()

    def _update_fast_path(self) -> None:
        """Recompute whether ``Dispatch`` may queue a plain name without further checks."""
        sync = self._sync if self._sync is not None else is_sync()
        self._queue_directly = not sync and not self._interceptors and self._max_pending is None
        self._deliver_inline = sync and not self._interceptors

    @property
    def pool_size(self) -> int:
        """The most events handled at once per thread."""
        return self._queue.pool_size

    @pool_size.setter
    def pool_size(self, value: int) -> None:
        self._queue.pool_size = value

    @property
    def max_depth(self) -> int:
        """How deep a cascade of events dispatched by handlers may go."""
        return self._max_depth

    @max_depth.setter
    def max_depth(self, value: int) -> None:
        if not is_int(value) or value < 1:
            raise ValueError(f"max_depth must be a positive int, not {value!r}")
        self._max_depth = value

    @property
    def max_pending(self) -> int | None:
        """The most events that may wait in one thread's queue; ``None`` (the default): no bound.

        At the bound, ``Dispatch`` does what :attr:`on_full` says. Events that handlers dispatch
        are not held back (a handler waiting for room in its own queue could wait for ever), and
        neither are the deliveries of events already dispatched (after a commit, say).
        """
        return self._max_pending

    @max_pending.setter
    def max_pending(self, value: int | None) -> None:
        if value is not None and (not is_int(value) or value < 1):
            raise ValueError(f"max_pending must be None or a positive int, not {value!r}")
        self._max_pending = value
        self._update_fast_path()

    @property
    def on_full(self) -> FullPolicy:
        """What ``Dispatch`` does when the queue holds :attr:`max_pending` events.

        ``"block"`` waits, cooperatively (other greenlets of the thread, its delivery greenlets among them,
        run meanwhile), until a delivery greenlet has taken an event; ``"raise"`` raises
        :class:`QueueFullError`. Nothing is ever dropped.
        """
        return self._on_full

    @on_full.setter
    def on_full(self, value: FullPolicy) -> None:
        if value not in ("block", "raise"):
            raise ValueError(f"on_full must be 'block' or 'raise', not {value!r}")
        self._on_full = value

    @property
    def error_policy(self) -> ErrorPolicy:
        """What happens when a handler raises: ``"log"``, ``"raise"`` or a callable."""
        return self._error_policy

    @error_policy.setter
    def error_policy(self, value: ErrorPolicy) -> None:
        if value not in ("log", "raise") and not callable(value):
            raise ValueError(f"error_policy must be 'log', 'raise' or a callable, not {value!r}")
        self._error_policy = value
        self._failures.policy = value

    @contextlib.contextmanager
    def sync_mode(self, enabled: bool = True) -> Generator[None, None, None]:
        """Within the block, handlers run inline in ``Dispatch`` (or queued, with ``enabled=False``)."""
        previous = self._sync
        self.sync = enabled
        try:
            yield
        finally:
            self.sync = previous

    # -- registration -----------------------------------------------------------------------

    def RegisterHandler(
        self,
        pattern: str | type[Event],
        handler: Handler,
        *,
        priority: int = 0,
        once: bool = False,
        weak: bool = False,
        queued: bool | Queued = False,
        after_commit: bool = False,
    ) -> Registration:
        """Call ``handler(name, *args, **kwargs)`` for every event whose name ``pattern`` fully matches.

        :param pattern: a regular expression, or an Event class (its name, matched exactly).
        :param handler: any callable.
        :param priority: higher runs first; equal priorities run in registration order.
        :param once: unregister after the first call.
        :param weak: hold the handler weakly (for bound methods of objects that may go away).
        :param queued: run the handler in a worker process, through the configured transport
            (``True``, or a :class:`Queued` with retry options); see ``configure_transport``.
        :param after_commit: the handler receives an event dispatched inside a transaction only
            once the transaction commits, never if it rolls back; the other handlers get it at
            once. Outside a transaction, or without an adapter that knows the transactions (the
            Django adapter), it gets it at once. A handler of an Event class whose
            ``after_commit`` is true is an after-commit one.
        :returns: a :class:`Registration`; ``cancel()`` it (or leave its ``with`` block) to unregister.
        :raises InvalidPatternError: the pattern is not a valid regular expression.
        :raises InvalidHandlerError: the handler is not callable, or is queued without a name
            that a worker can find.
        """
        if isinstance(pattern, type) and getattr(pattern, "after_commit", False) is True:
            after_commit = True
        if queued:
            registration = register_queued(
                self, pattern, handler, queued, priority=priority, once=once, weak=weak, after_commit=after_commit
            )
        else:
            if is_event_class(pattern):
                pattern = re.escape(pattern.__event_name__)
            registration = self.registry.register(
                pattern, handler, priority=priority, once=once, weak=weak, after_commit=after_commit
            )
        if after_commit:
            note_after_commit_registration(self)
        return registration

    register_handler = RegisterHandler

    @overload
    def listen(
        self,
        target: type[_E],
        *,
        priority: int = 0,
        once: bool = False,
        weak: bool = False,
        queued: bool | Queued = False,
        after_commit: bool = False,
    ) -> _EventDecorator[_E]: ...

    @overload
    def listen(
        self,
        target: str,
        *,
        priority: int = 0,
        once: bool = False,
        weak: bool = False,
        queued: bool | Queued = False,
        after_commit: bool = False,
    ) -> Callable[[_PatternHandler], _PatternHandler]: ...

    def listen(
        self,
        target: str | type[Event],
        *,
        priority: int = 0,
        once: bool = False,
        weak: bool = False,
        queued: bool | Queued = False,
        after_commit: bool = False,
    ) -> _EventDecorator[Any] | Callable[[_PatternHandler], _PatternHandler]:
        """Register the decorated function as a handler.

        With an Event class the function receives the Event instance alone (and the type checkers
        check its parameter's type); with a pattern it receives ``(name, *args, **kwargs)``, the
        name first::

            @Dispatcher.listen(OrderPlaced)
            def send_receipt(event: OrderPlaced) -> None: ...

            @Dispatcher.listen("orders::.*")
            def audit(name: str, *args: object, **kwargs: object) -> None: ...

        ``queued=True`` (or ``queued=Queued(...)``) runs it in a worker process instead;
        ``after_commit=True`` gives it the events only once their transaction commits (see
        :meth:`RegisterHandler`).
        """
        options: dict[str, Any] = {
            "priority": priority,
            "once": once,
            "weak": weak,
            "queued": queued,
            "after_commit": after_commit,
        }
        if is_event_class(target):
            return _EventDecorator(self, target, options)
        if not isinstance(target, str):  # pyright: ignore[reportUnnecessaryIsInstance] - untyped callers
            raise TypeError(f"listen() takes an event pattern (str) or an Event class, not {target!r}")
        # Fail here, at the decorator, for an invalid pattern.
        self.registry._compile(target)  # pyright: ignore[reportPrivateUsage]

        def decorator(handler: _PatternHandler) -> _PatternHandler:
            self.RegisterHandler(target, handler, **options)
            return handler

        return decorator

    def Reset(self) -> None:
        """Unregister every handler and handle nothing that is still queued in this thread."""
        self.registry.clear()
        self._queue.clear_pending()

    reset = Reset

    # -- dispatch ---------------------------------------------------------------------------

    @overload
    def Dispatch(self, event: str, /, *args: Any, **kwargs: Any) -> None: ...

    @overload
    def Dispatch(self, event: _E, /, *args: Any, **kwargs: Any) -> _E: ...

    def Dispatch(self, event: str | Event, /, *args: Any, **kwargs: Any) -> Event | None:
        """Queue an event and return at once; its handlers run later, in a delivery greenlet.

        ``event`` is an event name, called as ``handler(name, *args, **kwargs)``, or an Event
        instance, called as ``handler(name, event, *args, **kwargs)`` (which is returned).

        :raises EmptyEventNameError: the name is empty.
        :raises InvalidEventError: ``event`` is neither a str nor an Event instance.
        """
        if self._queue_directly and type(event) is str and event and not _holder(OUTSIDE)[0]:
            # The hot path: a plain name from application code, queued mode, nothing intercepting.
            # An event without keyword arguments carries the one shared empty dict, not its own
            # (nothing saw this one: the interceptors, which may keep it, are all absent).
            self._put((event, args, kwargs or _NO_KWARGS, None))
            return None
        if self._deliver_inline and type(event) is str and event:
            # Sync mode's fast path: a plain name, nothing intercepting. The depth is kept here, so
            # that handling it costs one call.
            holder = _holder(OUTSIDE)
            depth = holder[0]
            if depth >= self._max_depth:
                raise self._cascade_error(event, depth)
            if holder is OUTSIDE:
                holder = own_depth_holder()
            holder[0] = depth + 1
            try:
                self._handle(event, args, kwargs, None)
            finally:
                holder[0] = depth
            if self._error_policy == "raise":
                self._failures.raise_collected()
            return None
        if type(event) is str:
            if not event:
                raise EmptyEventNameError("an event name cannot be empty")
            name: str = event
            instance = None
        else:
            instance, name, args = self._normalise(event, args)
        if self._interceptors:
            for interceptor in self._interceptors:
                if interceptor(name, args, kwargs, instance):
                    return instance
        depth = _holder(OUTSIDE)[0]
        if depth >= self._max_depth:
            raise self._cascade_error(name, depth)
        sync = self._sync
        if sync is None:
            sync = is_sync()
        if sync:
            self._handle(name, args, kwargs, instance, depth + 1)
            if self._error_policy == "raise":
                self._failures.raise_collected()
        elif self._max_pending is not None:
            # Bounded: wait for room (or raise) unless a handler dispatched it; stamped for stats().
            self._queue.put_bounded(
                (name, args, kwargs, instance, depth + 1 if depth else 0, _monotonic()),
                self._max_pending,
                block=self._on_full == "block",
                cascade=bool(depth),
            )
        elif depth:
            self._put((name, args, kwargs, instance, depth + 1))
        else:
            self._put((name, args, kwargs, instance))
        return instance

    dispatch = Dispatch

    def _cascade_error(self, name: str, depth: int) -> CascadeDepthError:
        return CascadeDepthError(
            f"event {name!r} was dispatched at cascade depth {depth + 1}, beyond max_depth="
            f"{self._max_depth}: a handler probably dispatches the event it handles, directly or "
            "through other events. If the cascade is intended, raise the dispatcher's max_depth."
        )

    def deliver_to(
        self,
        callbacks: Sequence[Handler],
        name: str,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        event: Event | None = None,
        intercept: bool = True,
    ) -> bool:
        """Queue the event ``name`` for ``callbacks`` alone, whichever patterns match the name.

        For adapters that route an event themselves: the after-commit gate and the Django
        adapter hand events to after-commit handlers this way once the transaction commits.
        Each callback is called as ``callback(name, *args, **kwargs)``, in order, in a delivery
        greenlet; sync mode, the cascade depth, the error policy and ``ClearQueue`` apply as for
        :meth:`Dispatch`.

        :param event: the Event instance among ``args``, if any: a handler that stops its
            propagation keeps it from the callbacks after it.
        :param intercept: show the event to the interceptors (the testing helpers) first, as
            ``Dispatch`` does; ``False`` for the rest of an event that they have already seen.
        :returns: ``False`` when an interceptor took the event (nothing is queued), else ``True``.
        :raises EmptyEventNameError: the name is empty.
        """
        if not name:
            raise EmptyEventNameError("an event name cannot be empty")
        if kwargs is None:
            kwargs = {}
        if intercept:
            for interceptor in self._interceptors:
                if interceptor(name, args, kwargs, event):
                    return False
        if not callbacks:
            return True
        depth = _holder(OUTSIDE)[0]
        if depth >= self._max_depth:
            raise self._cascade_error(name, depth)
        routed = tuple(callbacks)
        sync = self._sync
        if sync is None:
            sync = is_sync()
        if sync:
            self._handle(name, args, kwargs, event, depth + 1, 0.0, routed)
            if self._error_policy == "raise":
                self._failures.raise_collected()
        else:
            self._put((name, args, kwargs, event, depth + 1 if depth else 0, 0.0, routed))
        return True

    def _normalise(self, event: object, args: tuple[Any, ...]) -> tuple[Event | None, str, tuple[Any, ...]]:
        if isinstance(event, Event):
            return event, type(event).__event_name__, (event, *args)
        if isinstance(event, str):  # a str subclass
            if not event:
                raise EmptyEventNameError("an event name cannot be empty")
            return None, str(event), args
        if is_event_class(event):
            raise InvalidEventError(
                f"Dispatch() takes an Event instance, not the class {event.__name__}; "
                f"use {event.__name__}.Dispatch(...) to build and dispatch one"
            )
        raise InvalidEventError(
            f"Dispatch() takes an event name (str) or an Event instance, not {event!r} ({type(event).__name__})"
        )

    def intercept(self, interceptor: Interceptor) -> Interception:
        """Call ``interceptor(name, args, kwargs, event)`` for each dispatch, before it is queued.

        When it returns ``True`` the event is not delivered. Used by the testing helpers; it
        runs after the core's own interceptors (see ``interceptors``). Returns a handle whose
        ``cancel()`` removes the interceptor.
        """
        return self._interceptor_chain.add(interceptor, Stage.OBSERVE)

    # -- draining ---------------------------------------------------------------------------

    def ClearQueue(self, timeout: float | None = None) -> None:
        """Handle every queued event and return when all handlers have returned.

        Includes the events that handlers dispatch meanwhile. Drains the calling thread's queue
        (and the queues that ended threads left behind).

        :param timeout: seconds to wait at most; ``None`` waits for as long as it takes.
        :raises HandlerErrors: under the ``"raise"`` error policy, if handlers failed.
        :raises QueueUsageError: called from inside the gevent hub.
        :raises TimeoutError: not drained within ``timeout`` seconds.
        """
        self._queue.drain(timeout)
        self._failures.raise_collected()

    clear_queue = ClearQueue

    def drain(self, timeout: float | None = None) -> None:
        """Deprecated: an old name of :meth:`ClearQueue`.

        .. deprecated:: 2.0
        """
        warnings.warn("EventDispatcher.drain() is deprecated: use ClearQueue()", DeprecationWarning, stacklevel=2)
        self.ClearQueue(timeout)

    async def aclear_queue(self, timeout: float | None = None) -> None:
        """Await until the events this async code queued, and their cascades, have been handled.

        The awaitable counterpart of :meth:`ClearQueue`, which would block the event loop. In
        ordinary async code (an ``async def`` view, ``asyncio.run``) it hands this thread's events
        to the bridge thread and waits for it without blocking the loop. Inside a coroutine
        handler it waits for the events that handler dispatched, which are queued in the thread
        that awaits the handler.

        :param timeout: seconds to wait at most; ``None`` waits for as long as it takes.
        :raises HandlerErrors: under the ``"raise"`` error policy, if handlers failed.
        :raises TimeoutError: not done within ``timeout`` seconds.

        .. versionadded:: 2.0
        """
        await drain_async(self._queue, self._failures, asyncio.get_running_loop(), timeout)

    @overload
    def EnsureQueueIsCleared(self, func: _F, /) -> _F: ...

    @overload
    def EnsureQueueIsCleared(self, func: None = None, /) -> QueueCleared: ...

    def EnsureQueueIsCleared(self, func: _F | None = None, /) -> _F | QueueCleared:
        """Drain the queue after ``func`` returns (as a decorator) or when the block ends.

        An ``async def`` function is drained after its body, with ``await aclear_queue()``; so is
        an ``async with`` block::

            @Dispatcher.EnsureQueueIsCleared
            def import_orders() -> None: ...

            @Dispatcher.EnsureQueueIsCleared
            async def import_orders_async() -> None: ...

            with Dispatcher.EnsureQueueIsCleared():
                OrderPlaced.Dispatch(order_id=1)

            async with Dispatcher.EnsureQueueIsCleared():
                OrderPlaced.Dispatch(order_id=2)
        """
        if func is None:
            return QueueCleared(self)
        return ensure_cleared(self, func)

    ensure_queue_is_cleared = EnsureQueueIsCleared

    def pending_count(self) -> int:
        """How many events wait in this thread's queue."""
        return self._queue.pending_count()

    def stats(self) -> QueueStats:
        """What the queues of every thread hold and have done, now: for monitoring.

        Pending and in-flight events, events handled and handler failures, per thread and in
        total, and the age of the oldest pending event (measured where :attr:`max_pending` is
        set, since only that path stamps each event). Cheap: no queue is locked or walked.

        .. versionadded:: 2.0
        """
        return self._queue.stats()

    # -- testing (the machinery lives in _mocking) -------------------------------------------

    def MocksDispatch(self, func: _F, /) -> _F:
        """Decorate a test (a ``TestCase`` method, a pytest function, an ``async def`` test) to mock dispatch.

        Inside it, :meth:`Expect` marks events as expected: they are recorded and not delivered.
        When the test returns, the queue is drained, the handlers registered during the test are
        unregistered (the others stay, in their order), and the test fails with an
        ``AssertionError`` naming every expected event that was not dispatched.
        """
        return mocks_dispatch(self, func)

    mocks_dispatch = MocksDispatch

    def Expect(self, target: EventTarget) -> None:
        """Expect ``target`` (an event name, a compiled regex or an Event class) in this mocked test.

        :raises MockUsageError: no test decorated with :meth:`MocksDispatch` is running.
        """
        expect(self, target)

    expect = Expect

    # -- process-wide code (see _config.live_dispatchers) --------------------------------------

    def _drain_everything(self) -> None:
        # Also what daemon threads still alive queued, and what asyncio code handed to the bridge
        # thread, whichever thread ran the loop.
        self._queue.drain(everything=True)
        self._failures.raise_collected()

    def _after_fork_in_child(self) -> None:
        self._failures.forget_all()  # the parent's failures are the parent's to raise

    def __repr__(self) -> str:
        return f"<EventDispatcher handlers={len(self.registry)} pool_size={self.pool_size}>"


Dispatcher: EventDispatcher = EventDispatcher()
"""The package-wide dispatcher that the 1.0 API documents."""

Event.dispatcher = Dispatcher
