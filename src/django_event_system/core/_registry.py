"""The pattern registry: compiled patterns, a literal fast path and a bounded resolution cache.

A pattern is a regular expression matched against the whole event name (``re.fullmatch``).
Resolving a name gives the handlers to call, in order: higher ``priority`` first, then
registration order. Resolutions are cached per name, so once a name has been seen its cost
does not depend on how many patterns are registered. The cache is bounded, because names
often carry ids (``order::42::paid``), and it is dropped whenever a handler is added or removed.

Reads take no lock: registration replaces the entry tuple first and the cache second, so a
reader that sees the new cache also sees the new entries, and a result computed from old
entries can only land in a cache that has already been thrown away.
"""

from __future__ import annotations

import bisect
import contextlib
import inspect
import itertools
import re
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import MethodType, TracebackType
from typing import Any

from ._errors import InvalidHandlerError, InvalidPatternError

__all__ = ["Handler", "PatternRegistry", "Registration", "describe_handler"]

Handler = Callable[..., object]
"""A handler is called as ``handler(event_name, *args, **kwargs)``."""

DEFAULT_CACHE_SIZE = 4096

_REGEX_META = frozenset("\\.^$*+?{}[]|()")


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


def describe_handler(handler: object) -> str:
    """Return ``module:qualname`` for a handler, for logs and listings."""
    description = getattr(handler, "__event_system_description__", None)
    if isinstance(description, str):
        return description
    target = getattr(handler, "__event_system_target__", handler)
    if isinstance(target, MethodType):
        target = target.__func__
    module = getattr(target, "__module__", None) or type(target).__module__
    qualname = getattr(target, "__qualname__", None) or type(target).__qualname__
    return f"{module}:{qualname}"


class Registration:
    """The handle returned when a handler is registered.

    ``cancel()`` unregisters the handler; using the handle as a context manager cancels it on
    exit. Cancelling twice is harmless. ``after_commit`` says whether the handler receives its
    events only once the transaction that dispatched them commits.
    """

    __slots__ = (
        "__weakref__",
        "_callback",
        "_registry",
        "_spent",
        "after_commit",
        "handler",
        "once",
        "pattern",
        "priority",
        "seq",
        "weak",
    )

    def __init__(
        self,
        registry: PatternRegistry,
        pattern: str,
        handler: Handler,
        callback: Handler,
        *,
        priority: int,
        once: bool,
        weak: bool,
        seq: int,
        after_commit: bool = False,
    ) -> None:
        self._registry: PatternRegistry | None = registry
        # A once handler that ran, or a weak one whose object is gone: never registered again.
        self._spent = False
        self.pattern = pattern
        self.handler = handler
        self._callback = callback
        self.priority = priority
        self.once = once
        self.weak = weak
        self.seq = seq
        self.after_commit = after_commit

    @property
    def active(self) -> bool:
        """Whether the handler is still registered."""
        return self._registry is not None

    def cancel(self) -> None:
        """Unregister the handler. Events not yet handled will no longer reach it."""
        registry = self._registry
        if registry is not None:
            self._registry = None
            registry._remove(self)

    def __enter__(self) -> Registration:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cancel()

    def __repr__(self) -> str:
        state = ("" if self.active else " cancelled") + (" after_commit" if self.after_commit else "")
        return f"<Registration {self.pattern!r} -> {describe_handler(self.handler)} priority={self.priority}{state}>"


@dataclass(frozen=True)
class RegistrySnapshot:
    """The registrations of a :class:`PatternRegistry` at one moment (see ``snapshot()``)."""

    regex_entries: tuple[_Entry, ...]
    literal_entries: dict[str, tuple[_Entry, ...]]


@dataclass(frozen=True)
class _Entry:
    registration: Registration
    regex: re.Pattern[str] | None  # None for a literal pattern
    sort_key: tuple[int, int]  # (-priority, seq): the order handlers run in


def _live(entries: tuple[_Entry, ...]) -> tuple[_Entry, ...]:
    """``entries`` without the registrations that can never run again."""
    return tuple(e for e in entries if not e.registration._spent)


class PatternRegistry:
    """Maps event names to handlers through regular-expression patterns."""

    def __init__(self, *, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        if cache_size < 1:
            raise ValueError(f"cache_size must be at least 1, not {cache_size!r}")
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._cache_size = cache_size
        self._regex_entries: tuple[_Entry, ...] = ()
        self._literal_entries: dict[str, tuple[_Entry, ...]] = {}
        self._cache: dict[str, tuple[Handler, ...]] = {}
        self._compiled: dict[str, re.Pattern[str]] = {}
        self._after_commit: tuple[Registration, ...] = ()
        self.after_commit_removed: Callable[[], None] | None = None
        """Called after after-commit registrations went away (cancelled, cleared, not restored)."""

    # -- registration -----------------------------------------------------------------------

    def register(
        self,
        pattern: str,
        handler: Handler,
        *,
        priority: int = 0,
        once: bool = False,
        weak: bool = False,
        after_commit: bool = False,
    ) -> Registration:
        """Register ``handler`` for every event name that ``pattern`` fully matches.

        :param pattern: a regular expression, matched with ``fullmatch``.
        :param handler: a callable, called as ``handler(name, *args, **kwargs)``.
        :param priority: handlers with a higher priority run first; equal priorities run in
            registration order.
        :param once: unregister the handler after it has been called once.
        :param weak: hold the handler (a function or bound method) through a weak reference;
            it is unregistered when its object is garbage-collected.
        :param after_commit: mark the registration as an after-commit one (the dispatcher holds
            its events until the commit; see :attr:`after_commit_registrations`).
        :raises InvalidPatternError: the pattern is not a valid regular expression.
        :raises InvalidHandlerError: the handler is not callable.
        """
        if not isinstance(pattern, str):
            raise TypeError(f"an event pattern must be a str or an Event class, not {pattern!r}")
        if not pattern:
            raise InvalidPatternError(pattern, ValueError("the pattern is empty"))
        if not callable(handler):
            raise InvalidHandlerError(f"a handler must be callable, got {handler!r} for pattern {pattern!r}")
        refuse_async_generator(handler, f"the handler {describe_handler(handler)} for pattern {pattern!r}")
        if not _is_int(priority):
            raise TypeError(f"priority must be an int, not {priority!r}")
        if not isinstance(after_commit, bool):
            raise TypeError(f"after_commit must be True or False, not {after_commit!r}")
        regex = self._compile(pattern)
        seq = next(self._seq)
        registration = Registration(
            self, pattern, handler, handler, priority=priority, once=once, weak=weak, seq=seq, after_commit=after_commit
        )
        registration._callback = self._make_callback(registration, handler, once=once, weak=weak)
        entry = _Entry(registration, regex, (-priority, seq))
        with self._lock:
            if regex is None:
                current = self._literal_entries.get(pattern, ())
                literal = dict(self._literal_entries)
                literal[pattern] = _inserted(current, entry)
                self._literal_entries = literal
            else:
                self._regex_entries = _inserted(self._regex_entries, entry)
            if after_commit:
                self._after_commit = (*self._after_commit, registration)
            self._cache = {}
        return registration

    def _compile(self, pattern: str) -> re.Pattern[str] | None:
        if _REGEX_META.isdisjoint(pattern):
            return None
        compiled = self._compiled.get(pattern)
        if compiled is None:
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise InvalidPatternError(pattern, exc) from None
            self._compiled[pattern] = compiled
        return compiled

    def _make_callback(self, registration: Registration, handler: Handler, *, once: bool, weak: bool) -> Handler:
        callback: Handler = handler
        if weak:
            ref: Callable[[], Handler | None]
            reg_ref = weakref.ref(registration)

            def on_collected(_: object) -> None:
                alive = reg_ref()
                if alive is not None:
                    alive._spent = True
                    alive.cancel()

            if isinstance(handler, MethodType):
                ref = weakref.WeakMethod(handler, on_collected)
            else:
                try:
                    ref = weakref.ref(handler, on_collected)
                except TypeError:
                    raise InvalidHandlerError(f"cannot hold {handler!r} weakly; register it with weak=False") from None
            registration.handler = _WeakHandlerPlaceholder(handler)

            def call_weak(name: str, *args: Any, **kwargs: Any) -> object:
                target = ref()
                if target is None:
                    return None
                return target(name, *args, **kwargs)

            # A description, not the handler itself: a reference here would keep it alive.
            call_weak.__event_system_description__ = describe_handler(handler)  # type: ignore[attr-defined]
            callback = call_weak
        if once:
            inner = callback
            claimed = threading.Lock()

            def call_once(name: str, *args: Any, **kwargs: Any) -> object:
                if not claimed.acquire(blocking=False):
                    return None
                registration._spent = True
                registration.cancel()
                return inner(name, *args, **kwargs)

            call_once.__event_system_description__ = describe_handler(handler)  # type: ignore[attr-defined]
            callback = call_once
        return callback

    def _remove(self, registration: Registration) -> None:
        with self._lock:
            pattern = registration.pattern
            literal = self._literal_entries.get(pattern)
            if literal is not None and any(e.registration is registration for e in literal):
                remaining = tuple(e for e in literal if e.registration is not registration)
                updated = dict(self._literal_entries)
                if remaining:
                    updated[pattern] = remaining
                else:
                    del updated[pattern]
                self._literal_entries = updated
            else:
                self._regex_entries = tuple(e for e in self._regex_entries if e.registration is not registration)
            if registration.after_commit:
                self._after_commit = tuple(r for r in self._after_commit if r is not registration)
            self._cache = {}
        if registration.after_commit:
            self._after_commit_removed()

    def _after_commit_removed(self) -> None:
        callback = self.after_commit_removed
        if callback is not None:
            callback()

    def clear(self) -> None:
        """Unregister every handler."""
        with self._lock:
            entries = self._entries()
            self._regex_entries = ()
            self._literal_entries = {}
            removed = bool(self._after_commit)
            self._after_commit = ()
            self._cache = {}
        for entry in entries:
            entry.registration._registry = None
        if removed:
            self._after_commit_removed()

    def snapshot(self) -> RegistrySnapshot:
        """The registrations as they are now, for :meth:`restore`."""
        with self._lock:
            return RegistrySnapshot(self._regex_entries, self._literal_entries)

    def restore(self, snapshot: RegistrySnapshot) -> None:
        """Put the registrations back as they were at ``snapshot``.

        Handlers registered since are unregistered; handlers cancelled since are registered
        again, in their place, unless they cannot run again (a ``once`` handler that ran, a
        ``weak`` one whose object was collected).
        """
        with self._lock:
            now = {e.registration for e in self._entries()}
            self._regex_entries = _live(snapshot.regex_entries)
            self._literal_entries = {
                pattern: kept for pattern, entries in snapshot.literal_entries.items() if (kept := _live(entries))
            }
            self._cache = {}
            restored = {e.registration for e in self._entries()}
            removed = any(r not in restored for r in self._after_commit)
            self._after_commit = tuple(e.registration for e in self._entries() if e.registration.after_commit)
        for registration in now - restored:
            registration._registry = None
        for registration in restored:
            registration._registry = self
        if removed:
            self._after_commit_removed()

    def after_commit_registrations(self) -> tuple[Registration, ...]:
        """The registrations made with ``after_commit=True``, without a scan of every pattern."""
        return self._after_commit

    def _entries(self) -> list[_Entry]:
        return [*self._regex_entries, *itertools.chain.from_iterable(self._literal_entries.values())]

    # -- resolution -------------------------------------------------------------------------

    def resolve(self, name: str) -> tuple[Handler, ...]:
        """Return the callbacks for ``name`` in the order they run."""
        cache = self._cache
        callbacks = cache.get(name)
        if callbacks is None:
            callbacks = tuple(entry.registration._callback for entry in self._match(name))
            if len(cache) >= self._cache_size:
                # Evict the oldest name; another thread may be evicting at the same time.
                with contextlib.suppress(StopIteration, KeyError, RuntimeError):
                    del cache[next(iter(cache))]
            cache[name] = callbacks
        return callbacks

    def registrations_for(self, name: str) -> list[Registration]:
        """Return the registrations whose pattern matches ``name``, in the order they run."""
        return [entry.registration for entry in self._match(name)]

    def _match(self, name: str) -> list[_Entry]:
        literal = self._literal_entries.get(name, ())
        matched = [entry for entry in self._regex_entries if entry.regex is not None and entry.regex.fullmatch(name)]
        if literal:
            if matched:
                return sorted((*literal, *matched), key=_sort_key)
            return list(literal)
        return matched

    def __iter__(self) -> Iterator[Registration]:
        """Iterate over every registration, in the order they would run for a name matching all."""
        return iter([entry.registration for entry in sorted(self._entries(), key=_sort_key)])

    def __len__(self) -> int:
        return len(self._regex_entries) + sum(len(v) for v in self._literal_entries.values())

    @property
    def cache_size(self) -> int:
        """How many resolved names are kept at most."""
        return self._cache_size

    def cached_names(self) -> int:
        """How many names are currently cached."""
        return len(self._cache)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _inserted(entries: tuple[_Entry, ...], entry: _Entry) -> tuple[_Entry, ...]:
    """Return ``entries`` (sorted) with ``entry`` in its place: O(log n) comparisons, one copy."""
    updated = list(entries)
    bisect.insort(updated, entry, key=_sort_key)
    return tuple(updated)


def _sort_key(entry: _Entry) -> tuple[int, int]:
    return entry.sort_key


class _WeakHandlerPlaceholder:
    """Stands for a weakly-held handler in listings without keeping it alive."""

    __slots__ = ("__event_system_description__",)

    def __init__(self, handler: Handler) -> None:
        self.__event_system_description__ = describe_handler(handler)

    def __call__(self, *args: object, **kwargs: object) -> None:  # pragma: no cover - never called
        raise RuntimeError("a placeholder for a weakly-held handler is not callable")

    def __repr__(self) -> str:
        return f"<weak {self.__event_system_description__}>"
