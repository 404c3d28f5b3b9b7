"""Tests for ``EventManager`` and ``EventQuerySet``: bulk writes dispatch one model event per call.

The tests that touch the database run on SQLite and on the real PostgreSQL server (skipped where
it does not answer).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, TypeVar, cast

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, models, transaction
from django.test.utils import CaptureQueriesContext

from django_event_system import (
    BulkCreated,
    BulkUpdated,
    EventDispatcher,
    EventManager,
    EventManagerMixin,
    EventQuerySet,
    Observer,
    QuerysetUpdated,
)
from django_event_system.core import Outcome, RejectedMessageError, SerializationError
from django_event_system.django import model_event_name
from django_event_system.django._checks import check_observers
from django_event_system.django._payloads import WritePayloadCodec
from django_event_system.testing import fake_transport, record_events

from .databases import DATABASES
from .testapp.models import BulkItem, Example, Place, Shelf

BULK_ITEM = "events::db::tests::django::testapp::models::BulkItem"


Calls = list[tuple[str, str, Any]]


def bulk_observer(calls: Calls, *, after_commit: bool = False) -> type[Observer[BulkItem]]:
    """An Observer of BulkItem that records ``(method, event name, payload)`` for the bulk actions."""
    committed = after_commit

    class BulkObserver(Observer[BulkItem]):
        observes = BulkItem
        after_commit = committed

        def bulk_created(self, event_name: str, created: BulkCreated[BulkItem]) -> None:
            calls.append(("bulk_created", event_name, created))

        def bulk_updated(self, event_name: str, updated: BulkUpdated[BulkItem]) -> None:
            calls.append(("bulk_updated", event_name, updated))

        def queryset_updated(self, event_name: str, updated: QuerysetUpdated[BulkItem]) -> None:
            calls.append(("queryset_updated", event_name, updated))

        def deleted(self, event_name: str, item: BulkItem) -> None:
            calls.append(("deleted", event_name, item))

    return BulkObserver


def items(count: int, prefix: str = "item") -> list[BulkItem]:
    return [BulkItem(name=f"{prefix} {n}", count=n) for n in range(count)]


# -- bulk_create ----------------------------------------------------------------------------


@pytest.mark.parametrize("alias", DATABASES)
def test_bulk_create_dispatches_one_event_with_the_objects(alias: str, drain: Callable[[], None]) -> None:
    """One ``bulk_created`` per call, with the objects written, their primary keys known."""
    calls: Calls = []
    bulk_observer(calls)
    written = BulkItem.objects.using(alias).bulk_create(items(3))
    drain()
    [(method, name, created)] = calls
    assert (method, name) == ("bulk_created", f"{BULK_ITEM}::bulk_created")
    assert isinstance(created, BulkCreated)
    assert created.model is BulkItem
    assert created.objects == tuple(written)
    assert created.objects[0] is written[0]
    assert created.pks_known is True
    assert created.pks == tuple(BulkItem.objects.using(alias).order_by("pk").values_list("pk", flat=True))
    assert repr(created) == "<BulkCreated 3 testapp.BulkItem objects, pks known>"


@pytest.mark.parametrize("alias", DATABASES)
def test_ignore_conflicts_says_the_primary_keys_are_not_known(alias: str, drain: Callable[[], None]) -> None:
    """With ``ignore_conflicts=True`` the event says that the keys are unknown, and ``pks`` says why."""
    calls: Calls = []
    bulk_observer(calls)
    BulkItem.objects.using(alias).bulk_create(items(1))
    BulkItem.objects.using(alias).bulk_create(items(2), ignore_conflicts=True)
    drain()
    created = calls[-1][2]
    assert created.pks_known is False
    assert len(created.objects) == 2
    with pytest.raises(ValueError, match=r"the primary keys of these 2 testapp\.BulkItem rows are not known"):
        _ = created.pks
    assert repr(created) == "<BulkCreated 2 testapp.BulkItem objects, pks not known>"


@pytest.mark.django_db
def test_bulk_create_of_nothing_dispatches_nothing(drain: Callable[[], None]) -> None:
    """An empty ``bulk_create()`` writes no row, and dispatches no event."""
    calls: Calls = []
    bulk_observer(calls)
    assert BulkItem.objects.bulk_create([]) == []
    drain()
    assert calls == []


@pytest.mark.django_db
def test_a_plain_manager_dispatches_nothing(drain: Callable[[], None]) -> None:
    """Only the event manager dispatches: another manager of the model is Django's."""
    calls: Calls = []
    bulk_observer(calls)
    BulkItem.plain.bulk_create(items(2))
    BulkItem.plain.update(count=5)
    drain()
    assert calls == []


@pytest.mark.django_db
def test_an_unobserved_model_with_an_event_manager_dispatches_nothing(drain: Callable[[], None]) -> None:
    """An event manager on a model that nobody observes writes as Django does, and dispatches nothing."""
    with record_events() as recorder:
        BulkItem.objects.bulk_create(items(2))
        assert BulkItem.objects.update(count=1) == 2
        drain()
    assert recorder.events == []
    assert BulkItem.objects.filter(count=1).count() == 2


# -- bulk_update ----------------------------------------------------------------------------


@pytest.mark.parametrize("alias", DATABASES)
def test_bulk_update_dispatches_one_event_with_the_fields(alias: str, drain: Callable[[], None]) -> None:
    """One ``bulk_updated`` per call, however many batches, with the objects and the fields' names;
    the updates Django runs for it dispatch no ``queryset_updated``."""
    place = Place.objects.using(alias).create(name="shop")
    written = BulkItem.objects.using(alias).bulk_create(items(5))
    calls: Calls = []
    bulk_observer(calls)
    for item in written:
        item.count += 10
        item.place = place
    assert BulkItem.objects.using(alias).bulk_update(written, ["count", "place_id"], batch_size=2) == 5
    drain()
    [(method, name, updated)] = calls
    assert (method, name) == ("bulk_updated", f"{BULK_ITEM}::bulk_updated")
    assert isinstance(updated, BulkUpdated)
    assert updated.objects == tuple(written)
    assert updated.fields == ("count", "place")
    assert updated.pks == tuple(item.pk for item in written)
    assert repr(updated) == "<BulkUpdated 5 testapp.BulkItem objects, fields ['count', 'place']>"


# -- QuerySet.update() ----------------------------------------------------------------------


@pytest.mark.parametrize("alias", DATABASES)
def test_update_dispatches_the_primary_keys_of_the_rows_matched(alias: str, drain: Callable[[], None]) -> None:
    """``update()`` dispatches ``queryset_updated`` with the keys of the rows it changed and the fields."""
    written = BulkItem.objects.using(alias).bulk_create(items(4))
    calls: Calls = []
    bulk_observer(calls)
    assert BulkItem.objects.using(alias).filter(count__gte=2).update(count=0, name=models.F("name")) == 2
    drain()
    [(method, name, updated)] = calls
    assert (method, name) == ("queryset_updated", f"{BULK_ITEM}::queryset_updated")
    assert isinstance(updated, QuerysetUpdated)
    assert sorted(updated.pks) == sorted(item.pk for item in written[2:])
    assert updated.fields == ("count", "name")
    assert repr(updated) == "<QuerysetUpdated 2 testapp.BulkItem rows, fields ['count', 'name']>"


@pytest.mark.parametrize("alias", DATABASES)
def test_update_reads_the_keys_in_the_transaction_of_the_update(alias: str) -> None:
    """The keys are read by one query just before the update, inside one transaction with it."""
    BulkItem.objects.using(alias).bulk_create(items(2))
    bulk_observer([])
    with CaptureQueriesContext(connections[alias]) as queries:
        BulkItem.objects.using(alias).update(count=3)
    statements = [query["sql"].split()[0].upper().strip('"') for query in queries.captured_queries]
    select, update = statements.index("SELECT"), statements.index("UPDATE")
    assert select < update
    if alias == "postgres" or "BEGIN" in statements:  # SQLite's autocommit BEGIN is not always logged
        assert statements.index("BEGIN") < select


@pytest.mark.django_db
def test_update_without_handlers_reads_no_keys(django_assert_num_queries: Any) -> None:
    """When no handler can receive ``queryset_updated``, ``update()`` is Django's single query."""

    class CreatedOnly(Observer[BulkItem]):
        observes = BulkItem

        def bulk_created(self, event_name: str, created: BulkCreated[BulkItem]) -> None: ...

    BulkItem.objects.bulk_create(items(2))
    with django_assert_num_queries(1):
        BulkItem.objects.update(count=3)
    bulk_observer([])
    with django_assert_num_queries(2):
        BulkItem.objects.update(count=4)


@pytest.mark.django_db
def test_update_matching_no_row_dispatches_nothing(drain: Callable[[], None]) -> None:
    """An ``update()`` that matches no row dispatches no event."""
    calls: Calls = []
    bulk_observer(calls)
    assert BulkItem.objects.filter(name="nobody").update(count=1) == 0
    drain()
    assert calls == []


@pytest.mark.django_db
def test_update_of_a_sliced_queryset_is_refused_as_django_refuses_it(drain: Callable[[], None]) -> None:
    """Django's own errors reach the caller, and nothing is dispatched."""
    calls: Calls = []
    bulk_observer(calls)
    BulkItem.objects.bulk_create(items(2))
    drain()
    calls.clear()
    with pytest.raises(TypeError, match="Cannot update a query once a slice has been taken"):
        BulkItem.objects.all()[:1].update(count=1)
    drain()
    assert calls == []


@pytest.mark.django_db
def test_delete_keeps_the_signals_of_each_row(drain: Callable[[], None]) -> None:
    """``QuerySet.delete()`` is Django's: one ``deleted`` per row, no bulk event."""
    BulkItem.objects.bulk_create(items(2))
    calls: Calls = []
    bulk_observer(calls)
    BulkItem.objects.all().delete()
    drain()
    assert sorted((method, item.name) for method, _, item in calls) == [("deleted", "item 0"), ("deleted", "item 1")]


@pytest.mark.django_db
def test_a_queryset_of_the_application_dispatches_through_its_own_methods(drain: Callable[[], None]) -> None:
    """A queryset derived from EventQuerySet, as its manager (``as_manager()``), keeps its methods and dispatches."""
    received: list[tuple[str, Any]] = []

    class ShelfObserver(Observer[Shelf]):
        observes = Shelf

        def queryset_updated(self, event_name: str, updated: QuerysetUpdated[Shelf]) -> None:
            received.append((event_name, updated))

    full = Shelf.objects.create(name="full", count=3)
    empty = Shelf.objects.create(name="empty")
    Shelf.objects.empty().update(count=1)
    drain()
    [(name, updated)] = received
    assert name == model_event_name(Shelf, "queryset_updated")
    assert updated.pks == (empty.pk,)
    assert full.pk not in updated.pks


# -- managers of the application -------------------------------------------------------------


class CountingManager(EventManagerMixin[BulkItem], models.Manager[BulkItem]):
    """A manager of the application's, with the mixin first."""

    def positive(self) -> EventQuerySet[BulkItem]:
        return cast("EventQuerySet[BulkItem]", self.get_queryset().filter(count__gt=0))


class PlainQuerySet(models.QuerySet[BulkItem]):
    """A queryset that does not derive from EventQuerySet."""


ManagerT = TypeVar("ManagerT", bound="models.Manager[Any]")


def attached(manager: ManagerT) -> ManagerT:
    """The manager, working on BulkItem (as if declared on it)."""
    manager.model = BulkItem
    return manager


@pytest.mark.django_db
def test_the_mixin_makes_a_manager_of_the_application_dispatch(drain: Callable[[], None]) -> None:
    """``EventManagerMixin`` first among a manager's bases: its querysets are EventQuerySets."""
    calls: Calls = []
    bulk_observer(calls)
    manager = attached(CountingManager())
    manager.bulk_create(items(2))
    assert isinstance(manager.positive(), EventQuerySet)
    manager.positive().update(count=7)
    drain()
    assert [method for method, _, _ in calls] == ["bulk_created", "queryset_updated"]
    assert len(calls[1][2].pks) == 1


def test_the_mixin_refuses_a_queryset_class_that_dispatches_nothing() -> None:
    """A manager with the mixin whose queryset class is not an EventQuerySet says how to fix it."""
    manager_class = CountingManager.from_queryset(PlainQuerySet)
    manager = attached(manager_class())
    with pytest.raises(
        ImproperlyConfigured,
        match=r"CountingManagerFromPlainQuerySet uses EventManagerMixin, but its querysets are "
        r"tests\.django\.test_bulk\.PlainQuerySet, which does not derive from EventQuerySet: write "
        r"class PlainQuerySet\(EventQuerySet, \.\.\.\)",
    ):
        manager.get_queryset()


def test_an_event_manager_on_an_abstract_model_is_inherited() -> None:
    """An abstract model may declare the event manager (for its subclasses): defining it is no error."""

    class Stamped(models.Model):
        objects: EventManager[Any] = EventManager()

        class Meta:
            abstract = True
            app_label = "testapp"

    assert isinstance(Stamped._meta.managers[0], EventManager)


def test_event_manager_from_queryset_uses_the_given_queryset() -> None:
    """``EventManager.from_queryset(...)`` builds that queryset class."""

    class Mine(EventQuerySet[BulkItem]):
        pass

    manager = attached(EventManager.from_queryset(Mine)())
    assert type(manager.get_queryset()) is Mine


# -- after the commit --------------------------------------------------------------------


@pytest.mark.parametrize("alias", DATABASES)
def test_after_commit_observers_get_bulk_events_once_committed(alias: str, drain: Callable[[], None]) -> None:
    """An after-commit Observer's bulk methods wait for the commit; a rollback drops their events."""
    calls: Calls = []
    bulk_observer(calls, after_commit=True)
    with transaction.atomic(using=alias):
        written = BulkItem.objects.using(alias).bulk_create(items(2))
        BulkItem.objects.using(alias).bulk_update(written, ["count"])
        BulkItem.objects.using(alias).update(count=9)
        drain()
        assert calls == []
    drain()
    assert [method for method, _, _ in calls] == ["bulk_created", "bulk_updated", "queryset_updated"]
    calls.clear()
    with pytest.raises(RuntimeError, match="rolled back"):
        write_and_roll_back(alias)
    drain()
    assert calls == []


def write_and_roll_back(alias: str) -> None:
    with transaction.atomic(using=alias):
        BulkItem.objects.using(alias).bulk_create(items(2, "lost"))
        BulkItem.objects.using(alias).update(count=1)
        raise RuntimeError("rolled back")


# -- queued Observers -----------------------------------------------------------------------

queued_calls: Calls = []
# Queued handlers install a dispatch check on their dispatcher for good: they get one of their own.
queued_bus = EventDispatcher()


def queued_observer(**methods: Callable[..., None]) -> type[Observer[BulkItem]]:
    """A queued Observer of BulkItem, named as if at module level (workers find it by name)."""
    namespace: dict[str, Any] = {"observes": BulkItem, "queued": True, "dispatcher": queued_bus, **methods}
    namespace.update(__module__=__name__, __qualname__="QueuedBulkObserver")
    return types.new_class("QueuedBulkObserver", (Observer[BulkItem],), {}, lambda ns: ns.update(namespace))


def on_bulk_created(self: Observer[BulkItem], event_name: str, created: BulkCreated[BulkItem], /) -> None:
    queued_calls.append(("bulk_created", event_name, created))


def on_queryset_updated(self: Observer[BulkItem], event_name: str, updated: QuerysetUpdated[BulkItem], /) -> None:
    queued_calls.append(("queryset_updated", event_name, updated))


def on_bulk_updated(self: Observer[BulkItem], event_name: str, updated: BulkUpdated[BulkItem], /) -> None:
    queued_calls.append(("bulk_updated", event_name, updated))


@pytest.mark.parametrize("alias", DATABASES)
def test_a_queued_observer_gets_the_rows_loaded_again(alias: str) -> None:
    """A queued Observer's bulk methods run from messages sent after the commit, on the rows loaded again."""
    queued_calls.clear()
    queued_observer(bulk_created=on_bulk_created, bulk_updated=on_bulk_updated, queryset_updated=on_queryset_updated)
    with fake_transport() as queued, holding_on(alias):
        with transaction.atomic(using=alias):
            written = BulkItem.objects.using(alias).bulk_create(items(2))
            BulkItem.objects.using(alias).bulk_update(written, ["name"])
            BulkItem.objects.using(alias).filter(pk=written[0].pk).update(count=5)
            assert queued.messages == []
        assert [message.handler for message in queued.messages] == [
            f"{__name__}:QueuedBulkObserver.bulk_created",
            f"{__name__}:QueuedBulkObserver.bulk_updated",
            f"{__name__}:QueuedBulkObserver.queryset_updated",
        ]
        if alias == "default":  # the worker loads the rows from the database it is configured with
            results = queued.run()
            assert [result.outcome for result in results] == [Outcome.DONE] * 3
            created, updated, changed = (payload for _, _, payload in queued_calls)
            assert [item.name for item in created.objects] == ["item 0", "item 1"]
            assert created.objects[0] is not written[0]
            assert created.pks == tuple(item.pk for item in written)
            assert updated.fields == ("name",)
            assert changed.pks == (written[0].pk,)
            assert changed.fields == ("count",)


@pytest.mark.django_db(transaction=True)
def test_a_queued_observer_cannot_get_objects_without_primary_keys() -> None:
    """Objects whose keys are not known cannot be loaded again by a worker: the dispatch says so."""
    queued_observer(bulk_created=on_bulk_created)
    BulkItem.objects.bulk_create(items(1))
    with (
        fake_transport(),
        pytest.raises(SerializationError, match=r"the bulk_created event of testapp\.BulkItem has objects without"),
    ):
        BulkItem.objects.bulk_create(items(2), ignore_conflicts=True)


def holding_on(alias: str) -> Any:
    from django.test import override_settings

    return override_settings(DJANGO_EVENT_SYSTEM={"QUEUED": {"DATABASE": alias}})


# -- the system check ----------------------------------------------------------------------


def test_the_check_warns_when_the_default_manager_dispatches_no_bulk_event() -> None:
    """W002: an Observer of bulk writes on a model whose default manager is Django's."""

    class ExampleBulk(Observer[Example]):
        observes = Example

        def bulk_created(self, event_name: str, created: BulkCreated[Example]) -> None: ...

        def queryset_updated(self, event_name: str, updated: QuerysetUpdated[Example]) -> None: ...

    [warning] = [w for w in check_observers() if w.id == "django_event_system.W002"]
    assert warning.msg == (
        "tests.django.test_bulk.test_the_check_warns_when_the_default_manager_dispatches_no_bulk_event.<locals>."
        "ExampleBulk defines bulk_created(), queryset_updated(), but the default manager of testapp.Example "
        "(Example.objects, a Manager) dispatches no bulk write events, so they are never called for its "
        "bulk_create(), bulk_update() or update()."
    )
    assert "objects = EventManager()" in str(warning.hint)
    assert warning.obj is ExampleBulk


def test_the_check_is_quiet_for_event_managers_and_other_actions() -> None:
    """No W002 for a model with an event manager, nor for an Observer without bulk actions."""
    bulk_observer([])

    class ShelfObserver(Observer[Shelf]):
        observes = Shelf

        def bulk_created(self, event_name: str, created: BulkCreated[Shelf]) -> None: ...

    class ExampleCreated(Observer[Example]):
        observes = Example

        def created(self, event_name: str, example: Example) -> None: ...

    assert [w for w in check_observers() if w.id == "django_event_system.W002"] == []


@pytest.mark.parametrize("alias", DATABASES)
def test_update_of_a_queryset_selected_for_update_locks_what_it_lists(alias: str, drain: Callable[[], None]) -> None:
    """``select_for_update()`` reads the keys with the lock, inside the update's transaction."""
    written = BulkItem.objects.using(alias).bulk_create(items(2))
    calls: Calls = []
    bulk_observer(calls)
    with CaptureQueriesContext(connections[alias]) as queries:
        BulkItem.objects.using(alias).select_for_update().filter(pk=written[1].pk).update(count=8)
    drain()
    assert calls[0][2].pks == (written[1].pk,)
    if connections[alias].features.has_select_for_update:
        [select] = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT")]
        assert select.endswith("FOR UPDATE")


@pytest.mark.django_db
def test_a_reverse_foreign_key_removes_through_the_default_manager(drain: Callable[[], None]) -> None:
    """A reverse foreign key's ``remove()`` is an ``update()`` of the default manager; its ``add()`` uses
    the base manager, which dispatches nothing."""
    place = Place.objects.create(name="shop")
    first, second = BulkItem.objects.bulk_create(items(2))
    calls: Calls = []
    bulk_observer(calls)
    place.bulkitem_set.add(first, second)
    place.bulkitem_set.remove(first)
    drain()
    [(method, _, updated)] = calls
    assert (method, updated.pks, updated.fields) == ("queryset_updated", (first.pk,), ("place",))


# -- what a worker refuses ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (["created"], r"malformed bulk write payload \['created'\]"),
        ({"kind": "deleted", "model": ["testapp", "bulkitem"]}, r"malformed bulk write payload"),
        ({"kind": "created", "model": ["testapp", "bulkitem"]}, r"malformed bulk write payload"),
        (
            {"kind": "created", "model": ["testapp", "nothing"], "pks": []},
            r"the model testapp\.nothing is not installed",
        ),
        ({"kind": "created", "model": "testapp.bulkitem", "pks": []}, r"malformed model label 'testapp\.bulkitem'"),
        ({"kind": "created", "model": ["testapp", "bulkitem"], "pks": 3}, r"malformed primary keys 3"),
        ({"kind": "created", "model": ["testapp", "bulkitem"], "pks": [999]}, r"rows with pks \[999\] no longer exist"),
        (
            {"kind": "updated", "model": ["testapp", "bulkitem"], "pks": [], "fields": [1]},
            r"malformed field names \[1\]",
        ),
    ],
)
@pytest.mark.django_db
def test_the_codec_refuses_what_it_did_not_write(data: Any, message: str) -> None:
    """A message whose payload is malformed, names an unknown model or a row that is gone is refused."""
    with pytest.raises(RejectedMessageError, match=message):
        WritePayloadCodec().decode(data)


@pytest.mark.django_db
def test_the_codec_gives_back_what_it_wrote() -> None:
    """Encoded and decoded, a payload is equal to the one dispatched, its rows loaded again."""
    written = tuple(BulkItem.objects.bulk_create(items(2)))
    codec = WritePayloadCodec()
    for payload in (
        BulkCreated(BulkItem, written, True),
        BulkUpdated(BulkItem, written, ("count",)),
        QuerysetUpdated(BulkItem, (written[0].pk,), ("name",)),
    ):
        assert codec.can_encode(payload)
        assert codec.decode(codec.encode(payload)) == payload
    assert not codec.can_encode(written[0])


@pytest.mark.parametrize("alias", DATABASES)
def test_bulk_writes_refresh_the_change_snapshots(alias: str, drain: Callable[[], None]) -> None:
    """Objects written by ``bulk_create()`` and ``bulk_update()`` get a snapshot of what was written,
    so their next ``save()`` reports only what changed since."""
    from django_event_system import FieldChange, get_changes

    seen: list[dict[str, FieldChange]] = []

    class Changes(Observer[BulkItem]):
        observes = BulkItem

        def updated(self, event_name: str, instance: BulkItem) -> None:
            seen.append(dict(get_changes(instance)))

    try:
        (item,) = BulkItem.objects.using(alias).bulk_create([BulkItem(name="bulk", count=1)])
        if item.pk is None:  # a database that returns no keys
            pytest.skip("the database returned no primary key")
        item.count = 2
        item.save(using=alias)
        drain()  # a handler sees the changes of the latest save of its instance: one at a time
        item.count = 3
        BulkItem.objects.using(alias).bulk_update([item], ["count"])
        item.name = "renamed"
        item.save(using=alias)
        drain()
    finally:
        Changes.unregister()
    assert seen == [{"count": FieldChange(1, 2)}, {"name": FieldChange("bulk", "renamed")}]
