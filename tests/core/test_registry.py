"""Tests for the pattern registry: fullmatch semantics, ordering, options and the resolution cache."""

from __future__ import annotations

import gc
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from django_event_system.core import (
    InvalidHandlerError,
    InvalidPatternError,
    PatternRegistry,
    Registration,
    describe_handler,
)
from django_event_system.core._registry import literal_prefix


def recorder(calls: list[tuple[str, str]], label: str) -> Callable[..., None]:
    """Return a handler that appends ``(label, name)`` to ``calls``."""

    def handler(name: str, *args: Any, **kwargs: Any) -> None:
        calls.append((label, name))

    return handler


def run(registry: PatternRegistry, name: str, *args: Any, **kwargs: Any) -> None:
    """Call the handlers that ``name`` resolves to, as the dispatcher does."""
    for callback in registry.resolve(name):
        callback(name, *args, **kwargs)


# -- matching ------------------------------------------------------------------------------------


def test_literal_pattern_matches_the_whole_name_only() -> None:
    """A pattern without regex characters matches its exact name, not names that extend it."""
    registry = PatternRegistry()
    calls: list[tuple[str, str]] = []
    registry.register("test_event", recorder(calls, "h"))
    for name in ("test_event", "test_event::3", "pre::test_event", "test_even"):
        run(registry, name)
    assert calls == [("h", "test_event")]


def test_regex_pattern_is_matched_with_fullmatch() -> None:
    """``test_event(.*)`` receives ``test_event`` and ``test_event::3`` but not a name with a prefix."""
    registry = PatternRegistry()
    calls: list[tuple[str, str]] = []
    registry.register("test_event(.*)", recorder(calls, "h"))
    for name in ("test_event", "test_event::3", "x::test_event"):
        run(registry, name)
    assert calls == [("h", "test_event"), ("h", "test_event::3")]


def test_regex_anchors_are_implicit_at_both_ends() -> None:
    """``a|b`` is matched as ``(?:a|b)`` against the whole name, not as a search for either branch."""
    registry = PatternRegistry()
    calls: list[tuple[str, str]] = []
    registry.register("order::created|order::paid", recorder(calls, "h"))
    for name in ("order::created", "order::paid", "order::created::late", "early::order::paid"):
        run(registry, name)
    assert calls == [("h", "order::created"), ("h", "order::paid")]


def test_handler_receives_the_name_and_the_arguments() -> None:
    """A handler is called as ``handler(name, *args, **kwargs)``."""
    registry = PatternRegistry()
    received: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def handler(name: str, *args: Any, **kwargs: Any) -> None:
        received.append((name, args, kwargs))

    registry.register("user::.*", handler)
    run(registry, "user::created", 1, "x", flag=True)
    assert received == [("user::created", (1, "x"), {"flag": True})]


def test_a_pattern_is_compiled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registering the same regex twice and resolving many names compiles it a single time."""
    compiled: list[str] = []
    real_compile = re.compile

    def counting_compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
        compiled.append(pattern)
        return real_compile(pattern, flags)

    monkeypatch.setattr(re, "compile", counting_compile)
    registry = PatternRegistry()
    registry.register("order::(.*)", recorder([], "a"))
    registry.register("order::(.*)", recorder([], "b"))
    for number in range(50):
        registry.resolve(f"order::{number}")
    assert compiled.count("order::(.*)") == 1


# -- ordering ------------------------------------------------------------------------------------


def test_higher_priority_runs_first_then_registration_order() -> None:
    """Handlers run by descending priority; equal priorities keep their registration order."""
    registry = PatternRegistry()
    calls: list[tuple[str, str]] = []
    registry.register("evt", recorder(calls, "low-1"), priority=-1)
    registry.register("evt", recorder(calls, "zero-1"))
    registry.register("evt", recorder(calls, "high"), priority=10)
    registry.register("evt", recorder(calls, "zero-2"))
    run(registry, "evt")
    assert [label for label, _ in calls] == ["high", "zero-1", "zero-2", "low-1"]


def test_ordering_spans_literal_and_regex_patterns() -> None:
    """Priority and registration order interleave handlers of literal and of regex patterns."""
    registry = PatternRegistry()
    calls: list[tuple[str, str]] = []
    registry.register("evt", recorder(calls, "literal-0"))
    registry.register("ev.*", recorder(calls, "regex-0"))
    registry.register("evt", recorder(calls, "literal-5"), priority=5)
    registry.register("e(v)t", recorder(calls, "regex-5"), priority=5)
    registry.register("evt", recorder(calls, "literal-0-late"))
    run(registry, "evt")
    assert [label for label, _ in calls] == ["literal-5", "regex-5", "literal-0", "regex-0", "literal-0-late"]


def test_iteration_lists_registrations_in_running_order() -> None:
    """Iterating over the registry gives every registration in priority, then registration, order."""
    registry = PatternRegistry()
    first = registry.register("a", recorder([], "1"))
    second = registry.register("b.*", recorder([], "2"), priority=3)
    third = registry.register("c", recorder([], "3"))
    assert list(registry) == [second, first, third]
    assert len(registry) == 3
    assert registry.registrations_for("a") == [first]


# -- registrations -------------------------------------------------------------------------------


def test_cancel_unregisters_the_handler() -> None:
    """After ``cancel()`` the handler no longer receives events and the registration is inactive."""
    registry = PatternRegistry()
    calls: list[tuple[str, str]] = []
    registration = registry.register("evt", recorder(calls, "h"))
    run(registry, "evt")
    assert registry.registrations_for("evt") == [registration]
    registration.cancel()
    registration.cancel()  # a second cancel is harmless
    run(registry, "evt")
    assert calls == [("h", "evt")]
    assert not registration.active
    assert len(registry) == 0


def test_registration_as_context_manager_cancels_on_exit() -> None:
    """Leaving the ``with`` block of a registration unregisters its handler."""
    registry = PatternRegistry()
    calls: list[tuple[str, str]] = []
    with registry.register("evt.*", recorder(calls, "h")) as registration:
        assert isinstance(registration, Registration)
        run(registry, "evt1")
    run(registry, "evt2")
    assert calls == [("h", "evt1")]
    assert not registration.active


def test_cancel_keeps_other_handlers_of_the_same_pattern() -> None:
    """Cancelling one of two handlers of one pattern leaves the other registered."""
    registry = PatternRegistry()
    calls: list[tuple[str, str]] = []
    first = registry.register("evt", recorder(calls, "first"))
    registry.register("evt", recorder(calls, "second"))
    first.cancel()
    run(registry, "evt")
    assert calls == [("second", "evt")]


def test_once_handler_runs_a_single_time() -> None:
    """A ``once`` handler is unregistered after its first call."""
    registry = PatternRegistry()
    calls: list[tuple[str, str]] = []
    registration = registry.register("evt.*", recorder(calls, "h"), once=True)
    run(registry, "evt1")
    run(registry, "evt2")
    assert calls == [("h", "evt1")]
    assert not registration.active


def test_once_handler_runs_once_even_with_callbacks_resolved_beforehand() -> None:
    """Two deliveries that resolved the handlers before either ran still call a ``once`` handler once."""
    registry = PatternRegistry()
    calls: list[tuple[str, str]] = []
    registry.register("evt", recorder(calls, "h"), once=True)
    first = registry.resolve("evt")
    second = registry.resolve("evt")
    for callbacks in (first, second):
        for callback in callbacks:
            callback("evt")
    assert calls == [("h", "evt")]


class Receiver:
    """An object whose bound method is registered weakly."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def on_event(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append(name)


def test_weak_bound_method_goes_away_with_its_object() -> None:
    """A weakly-held bound method is unregistered when its object is collected."""
    registry = PatternRegistry()
    receiver = Receiver()
    registration = registry.register("evt", receiver.on_event, weak=True)
    run(registry, "evt")
    assert receiver.calls == ["evt"]
    del receiver
    gc.collect()
    assert not registration.active
    assert registry.resolve("evt") == ()
    assert len(registry) == 0


def test_weak_function_goes_away_when_collected() -> None:
    """A weakly-held function is unregistered when nothing else references it."""
    registry = PatternRegistry()
    calls: list[tuple[str, str]] = []
    handler = recorder(calls, "h")
    registration = registry.register("evt", handler, weak=True)
    run(registry, "evt")
    del handler
    gc.collect()
    assert calls == [("h", "evt")]
    assert not registration.active


def test_weak_registration_does_not_keep_its_object_alive() -> None:
    """The registry, the registration and its repr hold no strong reference to a weak handler."""
    registry = PatternRegistry()
    receiver = Receiver()
    registration = registry.register("evt", receiver.on_event, weak=True)
    assert "Receiver.on_event" in repr(registration)
    run(registry, "evt")  # fills the resolution cache too
    del receiver
    gc.collect()
    assert not registration.active
    assert "cancelled" in repr(registration)


def test_weak_registration_rejects_an_object_that_cannot_be_weakly_referenced() -> None:
    """``weak=True`` with a handler that has no weak reference support fails at registration."""

    class NoWeakref:
        __slots__ = ()

        def __call__(self, name: str) -> None: ...

        def __repr__(self) -> str:
            return "<NoWeakref>"

    registry = PatternRegistry()
    with pytest.raises(InvalidHandlerError, match=r"cannot hold <NoWeakref> weakly; register it with weak=False"):
        registry.register("evt", NoWeakref(), weak=True)
    assert len(registry) == 0


def test_describe_handler_gives_module_and_qualname() -> None:
    """``describe_handler`` names a function, a bound method and a callable object as ``module:qualname``."""

    class CallableObject:
        def __call__(self, name: str) -> None: ...

    assert describe_handler(recorder) == f"{__name__}:recorder"
    assert describe_handler(Receiver().on_event) == f"{__name__}:Receiver.on_event"
    assert describe_handler(CallableObject()).endswith(
        "test_describe_handler_gives_module_and_qualname.<locals>.CallableObject"
    )


def test_clear_unregisters_everything() -> None:
    """``clear()`` removes every handler and marks every registration inactive."""
    registry = PatternRegistry()
    registrations = [registry.register("a", recorder([], "a")), registry.register("b.*", recorder([], "b"))]
    registry.clear()
    assert len(registry) == 0
    assert registry.resolve("a") == ()
    assert not any(registration.active for registration in registrations)


def test_restore_puts_the_registrations_back_as_they_were() -> None:
    """Handlers cancelled since the snapshot come back in their place; handlers added since go."""
    registry = PatternRegistry()
    calls: list[tuple[str, str]] = []
    first = registry.register("evt", recorder(calls, "first"))
    second = registry.register("e.*", recorder(calls, "second"))
    third = registry.register("evt", recorder(calls, "third"), priority=-1)
    snapshot = registry.snapshot()
    first.cancel()
    second.cancel()
    added = registry.register("evt", recorder(calls, "added"), priority=9)
    run(registry, "evt")
    assert calls == [("added", "evt"), ("third", "evt")]
    registry.restore(snapshot)
    assert list(registry) == [first, second, third]
    assert all(registration.active for registration in (first, second, third))
    assert not added.active
    calls.clear()
    run(registry, "evt")
    assert calls == [("first", "evt"), ("second", "evt"), ("third", "evt")]
    first.cancel()  # a restored handle still cancels
    assert list(registry) == [second, third]


def test_restore_leaves_out_handlers_that_cannot_run_again() -> None:
    """A ``once`` handler that ran and a ``weak`` one whose object is gone are not registered again."""
    registry = PatternRegistry()
    calls: list[tuple[str, str]] = []
    once = registry.register("evt", recorder(calls, "once"), once=True)
    receiver = Receiver()
    weak = registry.register("evt", receiver.on_event, weak=True)
    unused_once = registry.register("other", recorder(calls, "unused"), once=True)
    snapshot = registry.snapshot()
    run(registry, "evt")
    unused_once.cancel()
    del receiver
    gc.collect()
    assert len(registry) == 0
    registry.restore(snapshot)
    assert list(registry) == [unused_once]
    assert not once.active
    assert not weak.active
    run(registry, "other")
    assert calls == [("once", "evt"), ("unused", "other")]


# -- bad input -----------------------------------------------------------------------------------


def test_invalid_regex_is_rejected_at_registration() -> None:
    """An invalid regex raises InvalidPatternError naming the pattern and the regex error."""
    registry = PatternRegistry()
    with pytest.raises(InvalidPatternError, match=r"invalid event pattern '\(': missing \), unterminated subpattern"):
        registry.register("(", recorder([], "h"))
    assert len(registry) == 0


def test_invalid_pattern_error_keeps_the_pattern_and_the_cause() -> None:
    """InvalidPatternError exposes the pattern and the underlying ``re.error``, and is a ValueError."""
    registry = PatternRegistry()
    with pytest.raises(ValueError, match=r"invalid event pattern 'a\[b'") as caught:
        registry.register("a[b", recorder([], "h"))
    assert isinstance(caught.value, InvalidPatternError)
    assert caught.value.pattern == "a[b"
    assert isinstance(caught.value.error, re.error)


def test_empty_pattern_is_rejected() -> None:
    """An empty pattern raises InvalidPatternError."""
    with pytest.raises(InvalidPatternError, match=r"invalid event pattern '': the pattern is empty"):
        PatternRegistry().register("", recorder([], "h"))


def test_non_str_pattern_is_rejected() -> None:
    """A pattern that is not a str raises TypeError."""
    with pytest.raises(TypeError, match=r"an event pattern must be a str or an Event class, not 42"):
        PatternRegistry().register(42, recorder([], "h"))  # type: ignore[arg-type]


def test_non_callable_handler_is_rejected() -> None:
    """A handler that is not callable raises InvalidHandlerError naming it and the pattern."""
    with pytest.raises(InvalidHandlerError, match=r"a handler must be callable, got 'oops' for pattern 'evt'"):
        PatternRegistry().register("evt", "oops")  # type: ignore[arg-type]


@pytest.mark.parametrize("priority", ["1", 1.5, True, None])
def test_priority_must_be_an_int(priority: object) -> None:
    """A priority that is not an int (bools included) raises TypeError."""
    with pytest.raises(TypeError, match=rf"priority must be an int, not {re.escape(repr(priority))}"):
        PatternRegistry().register("evt", recorder([], "h"), priority=priority)  # type: ignore[arg-type]


def test_cache_size_must_be_positive() -> None:
    """A cache size below one raises ValueError."""
    with pytest.raises(ValueError, match=r"cache_size must be at least 1, not 0"):
        PatternRegistry(cache_size=0)


# -- the resolution cache ------------------------------------------------------------------------


def test_cache_stays_within_its_size() -> None:
    """Resolving many distinct names never keeps more than ``cache_size`` of them."""
    registry = PatternRegistry(cache_size=8)
    calls: list[tuple[str, str]] = []
    registry.register(r"order::\d+", recorder(calls, "h"))
    for number in range(100):
        run(registry, f"order::{number}")
        assert registry.cached_names() <= 8
    assert registry.cache_size == 8
    assert len(calls) == 100


def test_cache_is_invalidated_on_registration() -> None:
    """A name resolved before a new matching handler is registered resolves to it afterwards."""
    registry = PatternRegistry()
    calls: list[tuple[str, str]] = []
    registry.register("evt", recorder(calls, "first"))
    run(registry, "evt")
    assert registry.cached_names() == 1
    registry.register("e.t", recorder(calls, "second"))
    assert registry.cached_names() == 0
    run(registry, "evt")
    assert calls == [("first", "evt"), ("first", "evt"), ("second", "evt")]


def test_a_registration_drops_only_the_cached_names_its_pattern_matches() -> None:
    """Registering or cancelling a pattern forgets the names it matches and keeps every other name cached."""
    registry = PatternRegistry()
    calls: list[tuple[str, str]] = []
    registry.register(r"orders::\d+::paid", recorder(calls, "paid"))
    registry.register("users::joined", recorder(calls, "joined"))
    for name in ("orders::1::paid", "orders::2::paid", "users::joined", "stock::low"):
        run(registry, name)
    refunds = registry.register(r"orders::1::.*", recorder(calls, "refunds"))
    assert sorted(cached(registry)) == ["orders::2::paid", "stock::low", "users::joined"]
    audit = registry.register("stock::low", recorder(calls, "audit"))  # a literal: that one name
    assert sorted(cached(registry)) == ["orders::2::paid", "users::joined"]
    run(registry, "orders::1::paid")
    refunds.cancel()
    audit.cancel()
    assert sorted(cached(registry)) == ["orders::2::paid", "users::joined"]
    run(registry, "orders::1::paid")
    assert calls[-3:] == [("paid", "orders::1::paid"), ("refunds", "orders::1::paid"), ("paid", "orders::1::paid")]


@pytest.mark.parametrize(
    ("pattern", "prefix"),
    [
        (r"orders::\d+::paid", "orders::"),
        ("orders::(shipped|refunded)", "orders::"),
        ("ab*c", "a"),
        ("a|b", ""),
        ("x{2}y", ""),
        ("(?i)orders::.*", ""),
        (r"^orders::.*", ""),
        (r"a\.b.*", "a.b"),
        (".*", ""),
    ],
)
def test_literal_prefix_is_what_every_match_starts_with(pattern: str, prefix: str) -> None:
    """The index's prefix of a pattern is text every name it matches starts with, never more."""
    assert literal_prefix(pattern) == prefix


def test_a_new_name_is_tried_against_the_patterns_that_can_match_it_only() -> None:
    """With 1,000 patterns of other prefixes registered, a new name is tried against its own few."""
    registry = PatternRegistry()
    for number in range(1000):
        registry.register(f"orders::{number}::(shipped|refunded)", recorder([], "noise"))
    registry.register(r"orders::\d+::paid", recorder([], "paid"))
    registry.register(".*::audit", recorder([], "audit"))
    flat_calls: list[tuple[str, str]] = []
    registry.register(r"ExampleEvent\d+", recorder(flat_calls, "flat"))  # a prefix without a namespace
    candidates = {entry.registration.pattern for entry in registry._index.candidates("orders::42::paid")}
    assert candidates == {"orders::42::(shipped|refunded)", r"orders::\d+::paid", ".*::audit"}
    flat = {entry.registration.pattern for entry in registry._index.candidates("ExampleEvent7")}
    assert flat == {r"ExampleEvent\d+", ".*::audit"}
    run(registry, "ExampleEvent7")
    assert flat_calls == [("flat", "ExampleEvent7")]


def test_compiled_patterns_are_kept_only_while_registered() -> None:
    """30,000 register-and-cancel of distinct patterns leave no compiled pattern behind."""
    registry = PatternRegistry()
    kept = registry.register(r"kept::\d+", recorder([], "kept"))
    for number in range(30_000):
        registry.register(f"temporary::{number}::(a|b)", recorder([], "t")).cancel()
    assert list(registry._compiled) == [r"kept::\d+"]
    assert list(registry._index.root.children) == ["kept"]  # the namespaces left empty are gone
    kept.cancel()
    assert registry._compiled == {}
    assert registry._index.root.children == {}


def test_cache_is_invalidated_on_cancellation() -> None:
    """A name resolved before its handler was cancelled no longer reaches that handler."""
    registry = PatternRegistry()
    calls: list[tuple[str, str]] = []
    registration = registry.register("e.t", recorder(calls, "h"))
    run(registry, "evt")
    registration.cancel()
    assert registry.cached_names() == 0
    run(registry, "evt")
    assert calls == [("h", "evt")]


def test_has_handlers_follows_registrations_and_cancellations() -> None:
    """``has_handlers`` answers from the resolution cache, and moves with every change to it."""
    registry = PatternRegistry()
    assert not registry.has_handlers("orders::1::paid")  # cached as having none
    paid = registry.register(r"orders::\d+::paid", recorder([], "paid"))
    assert registry.has_handlers("orders::1::paid")
    assert not registry.has_handlers("orders::1::shipped")
    literal = registry.register("orders::1::shipped", recorder([], "shipped"))
    assert registry.has_handlers("orders::1::shipped")
    snapshot = registry.snapshot()
    literal.cancel()
    assert not registry.has_handlers("orders::1::shipped")
    paid.cancel()
    assert not registry.has_handlers("orders::1::paid")
    registry.restore(snapshot)
    assert registry.has_handlers("orders::1::paid")
    assert registry.has_handlers("orders::1::shipped")
    registry.clear()
    assert not registry.has_handlers("orders::1::paid")


def test_has_handlers_forgets_a_once_handler_that_ran_and_a_collected_weak_one() -> None:
    """A ``once`` handler that ran and a weak one whose object was collected count no more."""
    registry = PatternRegistry()
    registry.register("once", recorder([], "once"), once=True)
    assert registry.has_handlers("once")
    run(registry, "once")
    assert not registry.has_handlers("once")

    class Target:
        def handle(self, name: str) -> None: ...

    target = Target()
    registry.register("weak", target.handle, weak=True)
    assert registry.has_handlers("weak")
    del target
    gc.collect()
    assert not registry.has_handlers("weak")


# -- property: resolution equals a brute-force fullmatch over the live patterns ------------------

PIECES = ["a", "b", "::", ".*", "(a|b)", "[ab]+", r"\d+", "1", "b*"]
NAME_PIECES = ["a", "b", "::", "c", "1", "12"]

patterns = st.lists(st.sampled_from(PIECES), min_size=1, max_size=3).map("".join)
names = st.lists(st.sampled_from(NAME_PIECES), min_size=0, max_size=4).map("".join)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("register"), patterns, st.integers(-2, 2)),
        st.tuples(st.just("cancel"), st.integers(0, 40)),
        st.tuples(st.just("resolve"), names),
    ),
    max_size=40,
)


def cached(registry: PatternRegistry) -> list[str]:
    """The names the registry has cached, in both generations."""
    return [*registry._cache, *registry._older]


@settings(max_examples=300, deadline=None)
@given(operations=operations, cache_size=st.integers(1, 4), probe_names=st.lists(names, max_size=6))
def test_resolution_matches_brute_force(
    operations: list[tuple[Any, ...]], cache_size: int, probe_names: list[str]
) -> None:
    """For any interleaving of registrations, cancellations and resolutions, ``resolve`` equals a
    brute-force ``re.fullmatch`` over the live patterns sorted by (-priority, registration order)."""
    registry = PatternRegistry(cache_size=cache_size)
    # (registration, pattern, priority, order, handler) for every registration ever made.
    made: list[tuple[Registration, str, int, int, Callable[..., None]]] = []

    def expected(name: str) -> tuple[Callable[..., None], ...]:
        live = [entry for entry in made if entry[0].active and re.fullmatch(entry[1], name)]
        return tuple(entry[4] for entry in sorted(live, key=lambda entry: (-entry[2], entry[3])))

    def check(name: str) -> None:
        assert registry.has_handlers(name) == bool(expected(name))
        assert registry.resolve(name) == expected(name)
        assert registry.resolve(name) == expected(name)  # a second time, from the cache
        assert registry.has_handlers(name) == bool(expected(name))
        assert registry.cached_names() <= cache_size

    for operation in operations:
        if operation[0] == "register":
            _, pattern, priority = operation
            handler = recorder([], pattern)
            registration = registry.register(pattern, handler, priority=priority)
            made.append((registration, pattern, priority, len(made), handler))
            # Only the cached names the new pattern matches were dropped; the others stay right.
            assert not any(re.fullmatch(pattern, name) for name in cached(registry))
            assert all(registry.resolve(name) == expected(name) for name in cached(registry))
        elif operation[0] == "cancel":
            if made:
                registration = made[operation[1] % len(made)][0]
                registration.cancel()
                assert all(registry.resolve(name) == expected(name) for name in cached(registry))
        else:
            check(operation[1])
    for name in probe_names:
        check(name)
    assert len(registry) == sum(1 for entry in made if entry[0].active)
