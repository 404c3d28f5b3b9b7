"""Tests for ``Observer``: model events, their names, and how Observer classes are checked and registered."""

from __future__ import annotations

import logging
import sys
import textwrap
import types
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, signals
from typing_extensions import assert_type

from django_event_system import (
    Dispatcher,
    EventDispatcher,
    EventListener,
    GetPathFromClass,
    ModelChanges,
    Observer,
    RegisterSignalsFor,
    on,
)
from django_event_system.django import _models, model_event_name

from .testapp.models import AbstractThing, Example, Place, ProxyExample, Restaurant, UUIDExample

pytestmark = pytest.mark.django_db

EXAMPLE = "events::db::tests::django::testapp::models::Example"


def make_recording_observer(
    calls: list[tuple[str, str, object]], model: type[Example] = Example
) -> type[Observer[Example]]:
    """Define an Observer of ``model`` that records ``(method, event name, instance)`` for every action."""

    class RecordingObserver(Observer[Example]):
        observes = model

        def creating(self, event_name: str, instance: Example) -> None:
            calls.append(("creating", event_name, instance))

        def created(self, event_name: str, instance: Example) -> None:
            calls.append(("created", event_name, instance))

        def updating(self, event_name: str, instance: Example) -> None:
            calls.append(("updating", event_name, instance))

        def updated(self, event_name: str, instance: Example) -> None:
            calls.append(("updated", event_name, instance))

        def saving(self, event_name: str, instance: Example) -> None:
            calls.append(("saving", event_name, instance))

        def saved(self, event_name: str, instance: Example) -> None:
            calls.append(("saved", event_name, instance))

        def deleting(self, event_name: str, instance: Example) -> None:
            calls.append(("deleting", event_name, instance))

        def deleted(self, event_name: str, instance: Example) -> None:
            calls.append(("deleted", event_name, instance))

    return RecordingObserver


def test_methods_receive_the_event_name_and_the_instance(drain: Callable[[], None]) -> None:
    """Create, update and delete call the matching methods as ``(event_name, instance)``."""
    calls: list[tuple[str, str, object]] = []
    make_recording_observer(calls)
    example = Example.objects.create(name="first")
    drain()
    assert calls == [
        ("creating", f"{EXAMPLE}::creating", example),
        ("saving", f"{EXAMPLE}::saving", example),
        ("created", f"{EXAMPLE}::created", example),
        ("saved", f"{EXAMPLE}::saved", example),
    ]
    calls.clear()
    example.name = "renamed"
    example.save()
    drain()
    assert [(method, name) for method, name, _ in calls] == [
        ("updating", f"{EXAMPLE}::updating"),
        ("saving", f"{EXAMPLE}::saving"),
        ("updated", f"{EXAMPLE}::updated"),
        ("saved", f"{EXAMPLE}::saved"),
    ]
    calls.clear()
    example.delete()
    drain()
    assert [(method, name) for method, name, _ in calls] == [
        ("deleting", f"{EXAMPLE}::deleting"),
        ("deleted", f"{EXAMPLE}::deleted"),
    ]
    assert all(instance is example for _, _, instance in calls)


def test_no_handler_runs_in_the_stack_of_save(drain: Callable[[], None]) -> None:
    """``save()`` only queues the events: the methods run when the queue is drained."""
    calls: list[tuple[str, str, object]] = []
    make_recording_observer(calls)
    Example.objects.create(name="queued")
    assert calls == []
    assert Dispatcher.pending_count() == 4
    drain()
    assert len(calls) == 4


def test_event_names_follow_get_path_from_class() -> None:
    """Model events are named ``events::db::<GetPathFromClass(Model)>::<action>``."""
    assert model_event_name(Example, "created") == f"events::db::{GetPathFromClass(Example)}::created"
    assert model_event_name(Example, "created") == f"{EXAMPLE}::created"


def test_unknown_action_in_an_event_name_is_refused() -> None:
    """Asking for the name of an action that does not exist fails, listing the actions."""
    with pytest.raises(ValueError, match=r"unknown model action 'create'; expected one of creating, created"):
        model_event_name(Example, "create")  # type: ignore[arg-type]


def test_events_of_the_observer_class_lists_every_name() -> None:
    """``Observer.events`` maps each action to its event name."""
    calls: list[tuple[str, str, object]] = []
    observer = make_recording_observer(calls)
    assert observer.events["deleted"] == f"{EXAMPLE}::deleted"
    assert set(observer.events) == {
        "creating",
        "created",
        "updating",
        "updated",
        "saving",
        "saved",
        "deleting",
        "deleted",
        "bulk_created",
        "bulk_updated",
        "queryset_updated",
        "m2m_added",
        "m2m_removed",
        "m2m_cleared",
    }


def test_uuid_primary_key_is_created_not_updated(drain: Callable[[], None], received: list[tuple[str, object]]) -> None:
    """A UUID primary key is set before the first save, yet the save is a create (``_state.adding``)."""
    RegisterSignalsFor(UUIDExample)
    item = UUIDExample(name="uuid")
    assert item.pk is not None
    item.save()
    drain()
    assert [name.rsplit("::", 1)[1] for name, _ in received] == ["creating", "saving", "created", "saved"]
    received.clear()
    item.save()
    drain()
    assert [name.rsplit("::", 1)[1] for name, _ in received] == ["updating", "saving", "updated", "saved"]


def test_an_instance_loaded_from_the_database_is_updated(drain: Callable[[], None]) -> None:
    """An instance fetched with a query is not adding: saving it dispatches updating and updated."""
    calls: list[tuple[str, str, object]] = []
    Example.objects.create(name="stored")
    make_recording_observer(calls)
    loaded = Example.objects.get(name="stored")
    loaded.save()
    drain()
    assert [method for method, _, _ in calls] == ["updating", "saving", "updated", "saved"]


def test_only_defined_methods_are_registered(drain: Callable[[], None], received: list[tuple[str, object]]) -> None:
    """An Observer with one method gets one handler, but the model dispatches every event."""
    created: list[Example] = []

    class CreatedOnly(Observer[Example]):
        observes = Example

        def created(self, event_name: str, instance: Example) -> None:
            created.append(instance)

    assert [r.pattern for r in CreatedOnly.registrations] == [f"{EXAMPLE}::created"]
    example = Example.objects.create(name="one")
    drain()
    assert created == [example]
    assert len(received) == 4


def test_methods_are_looked_up_at_each_call(drain: Callable[[], None], monkeypatch: pytest.MonkeyPatch) -> None:
    """Patching a method after the class was defined changes what is called."""
    calls: list[str] = []

    class Patchable(Observer[Example]):
        observes = Example

        def created(self, event_name: str, instance: Example) -> None:
            calls.append("original")

    monkeypatch.setattr(Patchable, "created", lambda self, name, instance: calls.append("patched"))
    Example.objects.create(name="patched")
    drain()
    assert calls == ["patched"]


def test_priority_orders_the_observer_among_other_handlers(drain: Callable[[], None]) -> None:
    """An Observer with a higher priority runs before a listener of the same event."""
    order: list[str] = []

    class Late(EventListener):
        listensFor = [f"{EXAMPLE}::created"]

        def handle(self, event: str, instance: Example) -> None:
            order.append("listener")

    class Early(Observer[Example]):
        observes = Example
        priority = 10

        def created(self, event_name: str, instance: Example) -> None:
            order.append("observer")

    try:
        Example.objects.create(name="ordered")
        drain()
    finally:
        Late.unregister()
    assert order == ["observer", "listener"]


def test_observer_on_its_own_dispatcher(drain: Callable[[], None]) -> None:
    """``dispatcher = other`` registers the methods there and makes the model dispatch there."""
    other = EventDispatcher()
    calls: list[str] = []

    class OnOther(Observer[Example]):
        observes = Example
        dispatcher = other

        def created(self, event_name: str, instance: Example) -> None:
            calls.append(event_name)

    Example.objects.create(name="elsewhere")
    assert Dispatcher.pending_count() == 0
    other.ClearQueue(timeout=10)
    assert calls == [f"{EXAMPLE}::created"]


def test_abstract_observer_base_is_not_registered(drain: Callable[[], None]) -> None:
    """A base with ``abstract = True`` needs no model; its subclasses inherit its methods."""
    calls: list[str] = []

    class Auditing(Observer[Example]):
        abstract = True

        def created(self, event_name: str, instance: Example) -> None:
            calls.append(f"{type(self).__name__}:{instance.name}")

    class ExampleAudit(Auditing):
        observes = Example

    assert Auditing.registrations == ()
    Example.objects.create(name="audited")
    drain()
    assert calls == ["ExampleAudit:audited"]


def test_unregister_stops_the_methods_and_the_model_events(received: list[tuple[str, object]]) -> None:
    """After ``unregister()`` the methods are not called, and the model's signals are disconnected."""
    calls: list[tuple[str, str, object]] = []
    observer = make_recording_observer(calls)
    assert "save_base" in vars(Example)
    assert "_do_insert" in vars(Example)
    assert signals.pre_save.has_listeners(Example)
    observer.unregister()
    assert "save_base" not in vars(Example)
    assert "_do_insert" not in vars(Example)
    assert not signals.pre_save.has_listeners(Example)
    Example.objects.create(name="silent")
    Dispatcher.ClearQueue(timeout=10)
    assert calls == []
    assert received == []


# -- saves watched without post_save -------------------------------------------------------------


def test_a_save_of_an_observed_model_sends_no_post_save_to_the_package() -> None:
    """Without inline hooks, the model's wrapped ``save_base`` dispatches its events: Django's
    ``post_save`` has no receiver of this package for it, so a save does not pay its dispatch."""
    make_recording_observer([])
    ours = [key for key, _ in signals.post_save.receivers if str(key[0]).startswith("django_event_system:")]
    assert ours == []
    assert not signals.post_save.has_listeners(Example)


def test_created_is_whether_the_save_inserted_the_row(drain: Callable[[], None]) -> None:
    """``created`` is what Django's ``post_save`` says, not ``_state.adding``: a new instance given
    the key of an existing row updates it, and a loaded instance whose row is gone inserts one."""
    calls: list[tuple[str, str, object]] = []
    make_recording_observer(calls)
    existing = Example.objects.create(name="first")
    drain()
    calls.clear()
    replacement = Example(pk=existing.pk, name="replaced")
    assert replacement._state.adding
    replacement.save()
    drain()
    assert [method for method, _, _ in calls] == ["creating", "saving", "updated", "saved"]
    calls.clear()
    Example.objects.filter(pk=existing.pk).delete()
    drain()
    calls.clear()
    assert not existing._state.adding
    existing.save()  # no row to update: Django inserts it
    drain()
    assert [method for method, _, _ in calls] == ["updating", "saving", "created", "saved"]


def test_a_post_save_receiver_that_saves_again_gets_both_saves_right(drain: Callable[[], None]) -> None:
    """A ``post_save`` receiver that saves the instance again (a common pattern) makes an update
    inside the create: the inner save is ``updated``, the outer one still ``created``."""
    calls: list[tuple[str, str, object]] = []
    make_recording_observer(calls)

    def add_suffix(sender: type[Example], instance: Example, created: bool, **kwargs: object) -> None:
        if created:
            instance.name += "!"
            instance.save(update_fields=["name"])

    signals.post_save.connect(add_suffix, sender=Example, weak=False)
    try:
        example = Example.objects.create(name="nested")
    finally:
        signals.post_save.disconnect(add_suffix, sender=Example)
    drain()
    assert example.name == "nested!"
    # The inner save's events come first: they are dispatched while the outer save is still
    # running its post_save receivers.
    assert [method for method, _, _ in calls] == [
        "creating",
        "saving",
        "updating",
        "saving",
        "updated",
        "saved",
        "created",
        "saved",
    ]


def test_a_models_own_save_base_is_wrapped_and_given_back(drain: Callable[[], None]) -> None:
    """A model's own ``save_base`` (with an argument of its own) is what the wrapper calls, and
    what it puts back when the model is no longer observed."""
    audits: list[bool] = []

    def save_base(self: Example, *args: Any, audit: bool = False, **kwargs: Any) -> None:
        audits.append(audit)
        Model.save_base(self, *args, **kwargs)

    setattr(Example, "save_base", save_base)  # noqa: B010 - an override with an argument of its own
    try:
        calls: list[tuple[str, str, object]] = []
        observer = make_recording_observer(calls)
        assert vars(Example)["save_base"] is not save_base
        example = Example(name="audited")
        example.save_base(audit=True)  # type: ignore[call-arg]
        drain()
        assert audits == [True]
        assert [method for method, _, _ in calls] == ["creating", "saving", "created", "saved"]
        observer.unregister()
        assert vars(Example)["save_base"] is save_base
    finally:
        del Example.save_base


def test_instances_of_a_subclass_are_not_the_parent_models_saves(drain: Callable[[], None]) -> None:
    """A proxy's instances inherit the wrapped ``save_base``, but not its events: as with
    ``post_save``, whose sender is the proxy, the proxy has its own binding."""
    calls: list[tuple[str, str, object]] = []
    make_recording_observer(calls)
    proxy = ProxyExample.objects.create(name="proxied")
    proxy.name = "again"
    proxy.save()
    drain()
    assert calls == []
    assert "_event_system_inserts" not in vars(proxy)


def test_inline_hooks_move_the_saves_to_post_save_and_back(drain: Callable[[], None]) -> None:
    """A model with inline hooks watches its saves with ``post_save`` (the hooks run there); when
    the hooks go, the wrapped ``save_base`` comes back; each save is dispatched once either way."""
    calls: list[tuple[str, str, object]] = []
    make_recording_observer(calls)

    class Hooks(Observer[Example]):
        observes = Example

        @on("created", inline=True)
        def mark(self, event_name: str, instance: Example) -> None:
            calls.append(("inline", event_name, instance))

    assert "save_base" not in vars(Example)
    assert signals.post_save.has_listeners(Example)
    Example.objects.create(name="with hooks")
    drain()
    assert [method for method, _, _ in calls] == ["inline", "creating", "saving", "created", "saved"]
    Hooks.unregister()
    calls.clear()
    assert "save_base" in vars(Example)
    assert not signals.post_save.has_listeners(Example)
    Example.objects.create(name="without")
    drain()
    assert [method for method, _, _ in calls] == ["creating", "saving", "created", "saved"]


def test_a_save_that_reaches_post_save_after_the_hooks_went_is_dispatched(drain: Callable[[], None]) -> None:
    """A save whose ``post_save`` comes while the last inline hooks go, before the model's
    ``save_base`` is wrapped again, still dispatches its events, once, and runs no hook."""
    calls: list[tuple[str, str, object]] = []
    make_recording_observer(calls)
    example = Example(name="caught")
    example.save_base(raw=True)  # the row, without events
    binding = _models.bind(Example)
    assert not binding.inline
    binding._post_save(Example, example, created=False, update_fields=None)
    drain()
    assert [(method, name) for method, name, _ in calls] == [
        ("updated", model_event_name(Example, "updated")),
        ("saved", model_event_name(Example, "saved")),
    ]


# -- registering once ---------------------------------------------------------------------

OBSERVER_MODULE = textwrap.dedent(
    """
    from django_event_system import Observer
    from tests.django.testapp.models import Example

    calls = []

    class TwiceObserver(Observer[Example]):
        observes = Example

        def created(self, event_name, instance):
            calls.append(instance.name)
    """
)


def _import_source(module_name: str) -> types.ModuleType:
    module = types.ModuleType(module_name)
    sys.modules[module_name] = module
    exec(compile(OBSERVER_MODULE, f"<{module_name}>", "exec"), module.__dict__)
    return module


def test_module_executed_twice_registers_once(drain: Callable[[], None]) -> None:
    """Defining the same Observer again (a reload) replaces it: each event reaches one method."""
    try:
        first = _import_source("tests.django.testapp.observers_reloaded")
        second = _import_source("tests.django.testapp.observers_reloaded")
        Example.objects.create(name="once")
        drain()
    finally:
        sys.modules.pop("tests.django.testapp.observers_reloaded", None)
    assert first.calls == []
    assert second.calls == ["once"]
    assert len(Dispatcher.registry.registrations_for(f"{EXAMPLE}::created")) == 1


def test_module_imported_under_two_names_registers_once_and_warns(
    drain: Callable[[], None], caplog: pytest.LogCaptureFixture
) -> None:
    """One observers module imported under two names registers once and logs a warning naming both."""
    try:
        with caplog.at_level(logging.WARNING, logger="django_event_system"):
            first = _import_source("tests.django.testapp.observers_a")
            second = _import_source("testapp.observers_a")
        Example.objects.create(name="twice")
        drain()
    finally:
        sys.modules.pop("tests.django.testapp.observers_a", None)
        sys.modules.pop("testapp.observers_a", None)
    assert first.calls + second.calls == ["twice"]
    [record] = caplog.records
    assert record.getMessage() == (
        "observer testapp.observers_a.TwiceObserver replaces tests.django.testapp.observers_a.TwiceObserver "
        "(same name, same model testapp.Example): is one module imported under two names?"
    )


# -- bad definitions --------------------------------------------------------------------


def test_missing_observes_is_improperly_configured() -> None:
    """Without ``observes`` the class is refused, by name."""
    with pytest.raises(
        ImproperlyConfigured,
        match=r"^tests\.django\.test_observer\.test_missing_observes_is_improperly_configured\.<locals>\.NoModel "
        r"must set observes = <a model class>; set abstract = True",
    ):

        class NoModel(Observer[Example]):
            def created(self, event_name: str, instance: Example) -> None: ...


BAD = r"^tests\.django\.test_observer\.Bad\.observes must be a concrete model class: "


@pytest.mark.parametrize(
    ("observes", "message"),
    [
        (
            "testapp.Example",
            BAD + r"'testapp.Example' is not a Django model class",
        ),
        (
            Example(name="an instance"),
            BAD + r"<Example: an instance> is not a",
        ),
        (
            AbstractThing,
            BAD + r"AbstractThing is an abstract model",
        ),
        (
            Dispatcher,
            BAD + r"<EventDispatcher .*> is not a Django model class",
        ),
    ],
    ids=["string", "instance", "abstract", "other-object"],
)
def test_observes_that_is_not_a_concrete_model_is_improperly_configured(observes: object, message: str) -> None:
    """``observes`` must be a concrete model class; the error names the Observer and the value."""
    with pytest.raises(ImproperlyConfigured, match=message):
        type("Bad", (Observer,), {"observes": observes, "__module__": __name__})


def test_observes_must_match_the_declared_model() -> None:
    """``Observer[Example]`` that observes another model is refused."""
    with pytest.raises(
        ImproperlyConfigured, match=r"\.<locals>\.Mismatch is declared Observer\[Example\] but observes Place$"
    ):

        class Mismatch(Observer[Example]):
            observes = Place  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"after_commit": "yes"}, r"^tests\.django\.test_observer\.Opt\.after_commit must be True or False, not 'yes'"),
        ({"track_changes": 1}, r"^tests\.django\.test_observer\.Opt\.track_changes must be True or False, not 1"),
        ({"priority": "high"}, r"^tests\.django\.test_observer\.Opt\.priority must be an int, not 'high'"),
        (
            {"dispatcher": "Dispatcher"},
            r"^tests\.django\.test_observer\.Opt\.dispatcher must be an EventDispatcher, not 'Dispatcher'",
        ),
    ],
)
def test_bad_class_options_are_improperly_configured(attributes: dict[str, object], message: str) -> None:
    """Each class option is checked when the class is defined."""
    with pytest.raises(ImproperlyConfigured, match=message):
        type("Opt", (Observer,), {"observes": Example, "__module__": __name__, **attributes})


def test_misspelt_methods_are_collected() -> None:
    """Methods named like an action but not one (``create``, ``updatd``) are noted with the action they resemble."""

    class Sloppy(Observer[Example]):
        observes = Example

        def create(self, event_name: str, instance: Example) -> None: ...

        def updatd(self, event_name: str, instance: Example) -> None: ...

        def send_mail(self, instance: Example) -> None: ...

        def _deleted_helper(self) -> None: ...

    assert dict(Sloppy.suspicious_methods) == {"create": "created", "updatd": "updated"}


# -- proxies and multi-table inheritance ------------------------------------------------------


def test_proxy_model_dispatches_its_own_events(drain: Callable[[], None], received: list[tuple[str, object]]) -> None:
    """Saving through a proxy dispatches the proxy's events; an Observer of the concrete model does not see it."""
    concrete: list[str] = []
    proxied: list[str] = []

    class ConcreteObserver(Observer[Example]):
        observes = Example

        def created(self, event_name: str, instance: Example) -> None:
            concrete.append(instance.name)

    class ProxyObserver(Observer[ProxyExample]):
        observes = ProxyExample

        def created(self, event_name: str, instance: ProxyExample) -> None:
            proxied.append(instance.name)

    ProxyExample.objects.create(name="via proxy")
    Example.objects.create(name="via concrete")
    drain()
    assert proxied == ["via proxy"]
    assert concrete == ["via concrete"]
    assert ("events::db::tests::django::testapp::models::ProxyExample::created") in [name for name, _ in received]


def test_multi_table_child_dispatches_its_own_save_events(
    drain: Callable[[], None], received: list[tuple[str, object]]
) -> None:
    """Saving a child writes its parent's row without the parent's events; deleting it dispatches both."""
    RegisterSignalsFor(Place)
    RegisterSignalsFor(Restaurant)
    restaurant = Restaurant.objects.create(name="Luigi", serves_pizza=True)
    drain()
    prefix = "events::db::tests::django::testapp::models::"
    assert [name.removeprefix(prefix) for name, _ in received] == [
        "Restaurant::creating",
        "Restaurant::saving",
        "Restaurant::created",
        "Restaurant::saved",
    ]
    received.clear()
    restaurant.delete()
    drain()
    names = [name.removeprefix(prefix) for name, _ in received]
    assert sorted(names) == ["Place::deleted", "Place::deleting", "Restaurant::deleted", "Restaurant::deleting"]
    [place] = [instance for name, instance in received if name.endswith("Place::deleted")]
    assert type(place) is Place
    assert place.pk == restaurant.pk


def test_raw_saves_dispatch_nothing(drain: Callable[[], None], received: list[tuple[str, object]]) -> None:
    """Rows written as they are (``loaddata``, ``raw=True``) dispatch no event."""
    RegisterSignalsFor(Example)
    Example(pk=41, name="fixture").save_base(raw=True)
    drain()
    assert received == []
    assert Example.objects.filter(pk=41).exists()


def test_the_instance_is_typed_by_the_observer_parameter() -> None:
    """``Observer[Example]`` types the instance parameter and ``changes()`` (checked by mypy)."""

    class Typed(Observer[Example]):
        observes = Example

        def updated(self, event_name: str, instance: Example) -> None:
            assert_type(instance, Example)
            assert_type(self.changes(instance), ModelChanges[Example])

    assert_type(Typed.observes, type[Example])
    assert Typed.observes is Example


def test_observer_methods_may_be_coroutines() -> None:
    """An ``async def`` Observer method is awaited off the caller's thread, with the instance."""
    import asyncio
    import threading

    calls: list[tuple[str, str, int]] = []

    class AsyncObserver(Observer[Example]):
        observes = Example

        async def created(self, event_name: str, instance: Example) -> None:
            await asyncio.sleep(0.01)
            calls.append(("created", instance.name, threading.get_ident()))

        def saved(self, event_name: str, instance: Example) -> None:
            calls.append(("saved", instance.name, threading.get_ident()))

    try:
        Example.objects.create(name="async")
        Dispatcher.ClearQueue(timeout=10)
    finally:
        AsyncObserver.unregister()
    assert sorted((action, name) for action, name, _ in calls) == [("created", "async"), ("saved", "async")]
    [(_, _, awaited_in)] = [call for call in calls if call[0] == "created"]
    assert awaited_in != threading.get_ident()  # awaited on the runner's loop


def test_an_async_generator_observer_method_is_refused() -> None:
    """An Observer method that is an async generator fails when the class is defined."""
    from collections.abc import AsyncIterator

    from django_event_system import InvalidHandlerError

    with pytest.raises(InvalidHandlerError, match=r"Producing\.created is an async generator function; "):

        class Producing(Observer[Example]):
            observes = Example

            async def created(self, event_name: str, instance: Example) -> AsyncIterator[int]:
                yield 1
