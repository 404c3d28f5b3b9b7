r"""The pattern registry: compiled patterns, a literal fast path, a prefix index and a bounded cache.

A pattern is a regular expression matched against the whole event name (``re.fullmatch``).
Resolving a name gives the handlers to call, in order: higher ``priority`` first, then
registration order.

- **Seen names** are cached, so their cost does not depend on how many patterns are registered.
  The cache is bounded, because names often carry ids (``order::42::paid``): it keeps two
  generations of at most half the bound each, and when the newer one is full it becomes the
  older one and the oldest is dropped, in constant time. A registration or cancellation drops
  only the names its pattern matches (a literal pattern: that one name).
- **New names** try only the patterns that can match them: each regex pattern is indexed by its
  literal prefix (``orders::`` for ``orders::\d+::paid``), filed by ``::`` namespaces (see
  ``_PrefixIndex``); patterns without one (starting with a regex construct, or
  case-insensitive) are tried for every name. A new name costs a dictionary look-up per
  namespace it has and the ``fullmatch`` of its candidates, however many patterns there are.
- **Compiled patterns** are kept only as long as a registration uses them.

Reads take no lock. Registration updates the entries and the index, bumps the version, then
drops the cached names it affects; a resolution computed meanwhile from older entries is cached
only if the version did not move while it was computed.
"""

from __future__ import annotations

import bisect
import itertools
import re
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import MethodType, TracebackType
from typing import TYPE_CHECKING, Any

from ._errors import InvalidHandlerError, InvalidPatternError
from ._handlers import Handler, HandlerWrapper, describe_handler, refuse_async_generator
from ._listeners import ChangeListeners
from ._validation import is_int

if TYPE_CHECKING:  # the same parser, under the name that the stubs know
    import sre_parse as _regex_parser
elif sys.version_info >= (3, 11):  # pragma: no cover - depends on the interpreter
    from re import _parser as _regex_parser
else:  # pragma: no cover - depends on the interpreter
    import sre_parse as _regex_parser

__all__ = ["Handler", "PatternRegistry", "Registration", "describe_handler"]

DEFAULT_CACHE_SIZE = 4096
"""How many resolved event names a registry remembers (``EventDispatcher(cache_size=...)``)."""

_REGEX_META = frozenset("\\.^$*+?{}[]|()")


def literal_prefix(pattern: str) -> str:
    """The literal text that every name ``pattern`` fully matches starts with ('' if none is known).

    Read from the regular-expression parser: the leading literal characters, up to the first
    construct (a class, a group, a repeat: ``ab*`` gives ``a``). A case-insensitive pattern has
    no literal prefix.
    """
    try:
        parsed = _regex_parser.parse(pattern)
    except Exception:  # pragma: no cover - the pattern compiled; an unknown parser is not fatal
        return ""
    if parsed.state.flags & re.IGNORECASE:
        return ""
    prefix: list[str] = []
    # (opcode, argument) pairs; a LITERAL's argument is the code point (the stubs say less).
    items: list[tuple[object, Any]] = list(parsed.data)
    for op, value in items:
        if op is not _regex_parser.LITERAL:
            break
        prefix.append(chr(value))
    return "".join(prefix)


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
        self.pattern: str = pattern
        self.handler: Handler = handler
        self._callback = callback
        self.priority: int = priority
        self.once: bool = once
        self.weak: bool = weak
        self.seq: int = seq
        self.after_commit: bool = after_commit

    @property
    def active(self) -> bool:
        """Whether the handler is still registered."""
        return self._registry is not None

    def cancel(self) -> None:
        """Unregister the handler. Events not yet handled will no longer reach it."""
        registry = self._registry
        if registry is not None:
            self._registry = None
            registry._remove(self)  # pyright: ignore[reportPrivateUsage]

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
    prefix: str  # for a regex: the literal text every name it matches starts with
    callback: Handler  # what a resolution calls: the registration's callback
    fullmatch: Callable[[str], object]  # the regex's fullmatch; for a literal, equality


class _Node:
    """A node of the namespace trie: the entries whose prefix ends in this namespace, and the deeper ones."""

    __slots__ = ("children", "entries")

    def __init__(self) -> None:
        self.entries: tuple[_Entry, ...] = ()
        self.children: dict[str, _Node] = {}


_SEPARATOR = "::"


class _PrefixIndex:
    """The regex entries by literal prefix: ``matching(name)`` tries only those that may match ``name``.

    Event names are namespaced with ``::``, and so are most prefixes (``orders::`` for
    ``orders::\\d+::paid``, ``orders::42::`` for ``orders::42::(shipped|refunded)``). A prefix is
    filed in a trie of namespaces under its last ``::``; a name walks the trie along its own
    namespaces, one dictionary look-up each, and the entries it meets are tried (an entry whose
    prefix goes on past its namespace, like ``orders::4`` for ``orders::4\\d*``, may still fail:
    ``fullmatch`` decides). Prefixes without ``::`` are filed by length (a look-up per distinct
    length), and patterns without a prefix are tried for every name.

    Mutated under the registry's lock; read without it. Every value is an immutable tuple that
    is replaced, never changed, so a reader sees a bucket either before or after a change.
    """

    def __init__(self) -> None:
        self.unprefixed: tuple[_Entry, ...] = ()
        self.root = _Node()
        self.by_length: dict[int, dict[str, tuple[_Entry, ...]]] = {}
        # (length, buckets) by increasing length: what a look-up walks.
        self.levels: tuple[tuple[int, dict[str, tuple[_Entry, ...]]], ...] = ()

    def _relevel(self) -> None:
        self.levels = tuple(sorted(self.by_length.items(), key=lambda level: level[0]))

    @staticmethod
    def _namespaces(prefix: str) -> list[str] | None:
        end = prefix.rfind(_SEPARATOR)
        return None if end < 0 else prefix[:end].split(_SEPARATOR)

    def add(self, entry: _Entry) -> None:
        prefix = entry.prefix
        if not prefix:
            self.unprefixed = (*self.unprefixed, entry)
            return
        namespaces = self._namespaces(prefix)
        if namespaces is not None:
            node = self.root
            for namespace in namespaces:
                child = node.children.get(namespace)
                if child is None:
                    child = node.children[namespace] = _Node()
                node = child
            node.entries = (*node.entries, entry)
            return
        buckets = self.by_length.get(len(prefix))
        if buckets is None:
            buckets = self.by_length[len(prefix)] = {}
            self._relevel()
        buckets[prefix] = (*buckets.get(prefix, ()), entry)

    def remove(self, entry: _Entry) -> None:
        prefix = entry.prefix
        if not prefix:
            self.unprefixed = tuple(e for e in self.unprefixed if e is not entry)
            return
        namespaces = self._namespaces(prefix)
        if namespaces is not None:
            path = [self.root]
            for namespace in namespaces:
                child = path[-1].children.get(namespace)
                if child is None:
                    return
                path.append(child)
            path[-1].entries = tuple(e for e in path[-1].entries if e is not entry)
            # Drop the nodes left empty, deepest first, so that churn leaves nothing behind.
            for depth in range(len(namespaces), 0, -1):
                node = path[depth]
                if node.entries or node.children:
                    break
                del path[depth - 1].children[namespaces[depth - 1]]
            return
        buckets = self.by_length.get(len(prefix), {})
        remaining = tuple(e for e in buckets.get(prefix, ()) if e is not entry)
        if remaining:
            buckets[prefix] = remaining
        else:
            buckets.pop(prefix, None)
            if not buckets and len(prefix) in self.by_length:
                del self.by_length[len(prefix)]
                self._relevel()

    def matching(self, name: str) -> list[_Entry]:
        """The entries whose pattern fully matches ``name``, tried only among those that may."""
        unprefixed = self.unprefixed
        matched = [entry for entry in unprefixed if entry.fullmatch(name)] if unprefixed else []
        children = self.root.children
        if children:
            # Every segment, the last too: a node met that the name does not really reach
            # (``orders::42`` at ``orders::42::``) only costs its entries a failed fullmatch.
            for namespace in name.split(_SEPARATOR):
                node = children.get(namespace)
                if node is None:
                    break
                for entry in node.entries:
                    if entry.fullmatch(name):
                        matched.append(entry)
                children = node.children
        if self.levels:
            size = len(name)
            for length, buckets in self.levels:
                if length > size:
                    break
                bucket = buckets.get(name[:length])
                if bucket is not None:
                    matched.extend(entry for entry in bucket if entry.fullmatch(name))
        return matched

    def candidates(self, name: str) -> list[_Entry]:
        """The entries :meth:`matching` would try for ``name`` (for inspection and tests)."""
        found = list(self.unprefixed)
        node = self.root
        for namespace in name.split(_SEPARATOR):
            child = node.children.get(namespace)
            if child is None:
                break
            node = child
            found.extend(node.entries)
        size = len(name)
        for length, buckets in self.levels:
            if length <= size:
                found.extend(buckets.get(name[:length], ()))
        return found


def _live(entries: tuple[_Entry, ...]) -> tuple[_Entry, ...]:
    """``entries`` without the registrations that can never run again."""
    return tuple(e for e in entries if not e.registration._spent)  # pyright: ignore[reportPrivateUsage]


class PatternRegistry:
    """Maps event names to handlers through regular-expression patterns."""

    def __init__(self, *, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        if cache_size < 1:
            raise ValueError(f"cache_size must be at least 1, not {cache_size!r}")
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._cache_size = cache_size
        # Each cache generation holds half the bound: the two together never hold more.
        self._generation_size = max(1, cache_size // 2)
        self._regex_entries: tuple[_Entry, ...] = ()
        self._literal_entries: dict[str, tuple[_Entry, ...]] = {}
        self._index = _PrefixIndex()
        # The newer generation, which the dispatcher reads first, and the older one.
        self._cache: dict[str, tuple[Handler, ...]] = {}
        self._older: dict[str, tuple[Handler, ...]] = {}
        # Compiled patterns of live registrations, with how many registrations use each.
        self._compiled: dict[str, tuple[re.Pattern[str], int]] = {}
        self.version: int = 0
        """Bumped by every change to the registrations; what was computed at an older version
        may be stale."""
        self._after_commit: tuple[Registration, ...] = ()
        self._change_listeners = ChangeListeners()
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
        if not isinstance(pattern, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"an event pattern must be a str or an Event class, not {pattern!r}")
        if not pattern:
            raise InvalidPatternError(pattern, ValueError("the pattern is empty"))
        if not callable(handler):
            raise InvalidHandlerError(f"a handler must be callable, got {handler!r} for pattern {pattern!r}")
        refuse_async_generator(handler, f"the handler {describe_handler(handler)} for pattern {pattern!r}")
        if not is_int(priority):
            raise TypeError(f"priority must be an int, not {priority!r}")
        if not isinstance(after_commit, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"after_commit must be True or False, not {after_commit!r}")
        regex = self._compile(pattern)
        seq = next(self._seq)
        registration = Registration(
            self, pattern, handler, handler, priority=priority, once=once, weak=weak, seq=seq, after_commit=after_commit
        )
        registration._callback = self._make_callback(registration, handler, once=once, weak=weak)  # pyright: ignore[reportPrivateUsage]
        prefix = pattern if regex is None else literal_prefix(pattern)
        entry = _Entry(
            registration,
            regex,
            (-priority, seq),
            prefix,
            registration._callback,  # pyright: ignore[reportPrivateUsage]
            pattern.__eq__ if regex is None else regex.fullmatch,
        )
        with self._lock:
            self._add(entry)
            if after_commit:
                self._after_commit = (*self._after_commit, registration)
            self._changed(entry)
        self._notify()
        return registration

    def add_change_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after each change to the registrations (a handler registered or
        cancelled, :meth:`clear`, :meth:`restore`), outside the registry's lock.

        For code that keeps something computed from the registrations and must not wait for the
        next :attr:`version` check to update it (the Django adapter reconnects a model's signals).
        """
        self._change_listeners.add(listener)

    def remove_change_listener(self, listener: Callable[[], None]) -> None:
        """Stop calling ``listener`` (compared by equality, so a bound method can be passed again)."""
        self._change_listeners.remove(listener)

    def _notify(self) -> None:
        self._change_listeners.notify()

    def _add(self, entry: _Entry) -> None:
        """Put ``entry`` in the entries and the index (under the lock)."""
        pattern, regex = entry.registration.pattern, entry.regex
        if regex is None:
            current = self._literal_entries.get(pattern, ())
            literal = dict(self._literal_entries)
            literal[pattern] = _inserted(current, entry)
            self._literal_entries = literal
        else:
            self._regex_entries = _inserted(self._regex_entries, entry)
            self._index.add(entry)
            _, users = self._compiled.get(pattern, (regex, 0))
            self._compiled[pattern] = (regex, users + 1)

    def _changed(self, entry: _Entry) -> None:
        """Bump the version, then forget the cached names that the entry's pattern matches (under the lock)."""
        self.version += 1
        regex, prefix = entry.regex, entry.prefix
        for cache in (self._cache, self._older):
            if regex is None:
                cache.pop(prefix, None)  # a literal pattern is its own prefix: that one name
            else:
                stale = [name for name in list(cache) if name.startswith(prefix) and regex.fullmatch(name)]
                for name in stale:
                    cache.pop(name, None)

    def _compile(self, pattern: str) -> re.Pattern[str] | None:
        """The compiled pattern (``None`` for a literal one); a live registration's is reused.

        :raises InvalidPatternError: the pattern is not a valid regular expression.
        """
        if _REGEX_META.isdisjoint(pattern):
            return None
        live = self._compiled.get(pattern)
        if live is not None:
            return live[0]
        try:
            return re.compile(pattern)
        except re.error as exc:
            raise InvalidPatternError(pattern, exc) from None

    def _make_callback(self, registration: Registration, handler: Handler, *, once: bool, weak: bool) -> Handler:
        callback: Handler = handler
        if weak:
            callback = _WeakCall(registration, handler)
            registration.handler = _WeakHandlerPlaceholder(handler)
        if once:
            callback = _OnceCall(registration, callback, describe_handler(handler))
        return callback

    def _remove(self, registration: Registration) -> None:
        with self._lock:
            self._remove_entry(registration)
            if registration.after_commit:
                self._after_commit = tuple(r for r in self._after_commit if r is not registration)
        self._notify()
        if registration.after_commit:
            self._after_commit_removed()

    def _remove_entry(self, registration: Registration) -> None:
        """Take the registration's entry out of the entries and the index (under the lock)."""
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
            self._changed(next(e for e in literal if e.registration is registration))
            return
        entries = self._regex_entries
        # Sorted by (-priority, seq), which the registration carries: found by bisection.
        at = bisect.bisect_left(entries, (-registration.priority, registration.seq), key=_sort_key)
        if at == len(entries) or entries[at].registration is not registration:
            return
        entry = entries[at]
        self._regex_entries = entries[:at] + entries[at + 1 :]
        self._index.remove(entry)
        regex, users = self._compiled[pattern]
        if users > 1:
            self._compiled[pattern] = (regex, users - 1)
        else:
            del self._compiled[pattern]
        self._changed(entry)

    def _after_commit_removed(self) -> None:
        callback = self.after_commit_removed
        if callback is not None:
            callback()

    def _reset(self, regex_entries: tuple[_Entry, ...], literal_entries: dict[str, tuple[_Entry, ...]]) -> None:
        """Make these the registrations, rebuilding the index and dropping the cache (under the lock)."""
        self._regex_entries = ()
        self._literal_entries = {}
        self._index = _PrefixIndex()
        self._compiled = {}
        for entry in (*regex_entries, *itertools.chain.from_iterable(literal_entries.values())):
            self._add(entry)
        self.version += 1
        self._cache = {}
        self._older = {}

    def clear(self) -> None:
        """Unregister every handler."""
        with self._lock:
            entries = self._entries()
            removed = bool(self._after_commit)
            self._after_commit = ()
            self._reset((), {})
        for entry in entries:
            entry.registration._registry = None  # pyright: ignore[reportPrivateUsage]
        self._notify()
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
            self._reset(
                _live(snapshot.regex_entries),
                {pattern: kept for pattern, entries in snapshot.literal_entries.items() if (kept := _live(entries))},
            )
            restored = {e.registration for e in self._entries()}
            removed = any(r not in restored for r in self._after_commit)
            self._after_commit = tuple(e.registration for e in self._entries() if e.registration.after_commit)
        for registration in now - restored:
            registration._registry = None  # pyright: ignore[reportPrivateUsage]
        for registration in restored:
            registration._registry = self  # pyright: ignore[reportPrivateUsage]
        self._notify()
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
        callbacks = self._cache.get(name)
        if callbacks is not None:
            return callbacks
        callbacks = self._older.get(name)
        version = self.version
        if callbacks is None:
            callbacks = tuple([entry.callback for entry in self._match(name)])
        cache = self._cache
        if len(cache) >= self._generation_size:
            # The newer generation is full: it becomes the older one, and the oldest is dropped.
            self._older, self._cache = (cache if self._cache_size > 1 else {}), {}
            cache = self._cache
        cache[name] = callbacks
        if self.version != version:
            # Registrations changed while this was computed: it may be stale, so do not keep it.
            cache.pop(name, None)
        return callbacks

    def has_handlers(self, name: str) -> bool:
        """Whether any registration's pattern matches ``name``: one cached look-up for a seen name.

        The answer is :meth:`resolve`'s, from the same cache, so it follows every registration
        and cancellation (a ``once`` handler that ran, a weak one whose object was collected) as
        resolution does. For callers that skip building an event nobody would receive.
        """
        callbacks = self._cache.get(name)
        if callbacks is None:
            callbacks = self.resolve(name)
        return bool(callbacks)

    def registrations_for(self, name: str) -> list[Registration]:
        """Return the registrations whose pattern matches ``name``, in the order they run."""
        return [entry.registration for entry in self._match(name)]

    def _match(self, name: str) -> list[_Entry]:
        literal = self._literal_entries.get(name, ())
        matched = self._index.matching(name)
        if not matched:
            return list(literal)
        if len(matched) == 1 and not literal:
            return matched
        return sorted((*literal, *matched), key=_sort_key)

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
        return len(self._cache) + len(self._older)


def _inserted(entries: tuple[_Entry, ...], entry: _Entry) -> tuple[_Entry, ...]:
    """Return ``entries`` (sorted) with ``entry`` in its place: O(log n) comparisons, one copy."""
    updated = list(entries)
    bisect.insort(updated, entry, key=_sort_key)
    return tuple(updated)


def _sort_key(entry: _Entry) -> tuple[int, int]:
    return entry.sort_key


class _WeakHandlerPlaceholder(HandlerWrapper):
    """Stands for a weakly-held handler in listings without keeping it alive."""

    __slots__ = ()

    def __init__(self, handler: Handler) -> None:
        super().__init__(None, describe_handler(handler))

    def __call__(self, name: str, /, *args: object, **kwargs: object) -> None:  # pragma: no cover - never called
        raise RuntimeError("a placeholder for a weakly-held handler is not callable")

    def __repr__(self) -> str:
        return f"<weak {self.description}>"


class _WeakCall(HandlerWrapper):
    """Calls a handler held weakly; cancels its registration once the handler is collected."""

    __slots__ = ("_ref",)

    def __init__(self, registration: Registration, handler: Handler) -> None:
        reg_ref = weakref.ref(registration)

        def on_collected(_: object) -> None:
            alive = reg_ref()
            if alive is not None:
                alive._spent = True  # pyright: ignore[reportPrivateUsage]
                alive.cancel()

        ref: Callable[[], Handler | None]
        if isinstance(handler, MethodType):
            ref = weakref.WeakMethod(handler, on_collected)
        else:
            try:
                ref = weakref.ref(handler, on_collected)
            except TypeError:
                raise InvalidHandlerError(f"cannot hold {handler!r} weakly; register it with weak=False") from None
        # A description, not the handler itself: a strong reference here would keep it alive.
        super().__init__(None, describe_handler(handler))
        self._ref = ref

    def __call__(self, name: str, /, *args: Any, **kwargs: Any) -> object:
        target = self._ref()
        if target is None:
            return None
        return target(name, *args, **kwargs)


class _OnceCall(HandlerWrapper):
    """Calls a handler the first time only, and cancels its registration as it does."""

    __slots__ = ("_claimed", "_inner", "_registration")

    def __init__(self, registration: Registration, inner: Handler, description: str) -> None:
        super().__init__(inner, description)
        self._inner = inner
        self._registration = registration
        self._claimed = threading.Lock()

    def __call__(self, name: str, /, *args: Any, **kwargs: Any) -> object:
        if not self._claimed.acquire(blocking=False):
            return None
        registration = self._registration
        registration._spent = True  # pyright: ignore[reportPrivateUsage]
        registration.cancel()
        return self._inner(name, *args, **kwargs)
