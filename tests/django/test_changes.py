"""Tests for change tracking: what an update changed, for observed models only."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db.models import Model, signals

import django
from django_event_system import FieldChange, ModelChanges, Observer, RegisterSignalsFor, get_changes

from .testapp.models import Example, Place, Rebuilt, Restaurant, Shouting, Stamped, Unobserved

pytestmark = pytest.mark.django_db


def observe_updates(seen: list[ModelChanges[Example]]) -> type[Observer[Example]]:
    """An Observer that records the changes its ``updating`` and ``updated`` methods see."""

    class ChangesObserver(Observer[Example]):
        observes = Example

        def updated(self, event_name: str, instance: Example) -> None:
            seen.append(self.changes(instance))

    return ChangesObserver


def test_updated_sees_the_changed_fields_with_old_and_new_values(drain: Callable[[], None]) -> None:
    """Only the fields that changed are listed, each as ``FieldChange(old, new)``."""
    seen: list[ModelChanges[Example]] = []
    observe_updates(seen)
    example = Example.objects.create(name="parcel", status="draft")
    loaded = Example.objects.get(pk=example.pk)
    loaded.status = "shipped"
    loaded.save()
    drain()
    [changes] = seen
    assert dict(changes) == {"status": FieldChange("draft", "shipped")}
    assert changes["status"].old == "draft"
    assert "name" not in changes
    assert changes.previous("status") == "draft"
    assert changes.previous("name", "unchanged") == "unchanged"
    assert repr(changes) == "<ModelChanges status: 'draft' -> 'shipped'>"


def test_updating_sees_the_same_changes(drain: Callable[[], None]) -> None:
    """``updating`` handlers see the changes too (they are computed before the write)."""
    seen: list[set[str]] = []

    class BeforeWrite(Observer[Example]):
        observes = Example

        def updating(self, event_name: str, instance: Example) -> None:
            seen.append(set(self.changes(instance)))

    example = Example.objects.create(name="before")
    example.name = "after"
    example.notes = "noted"
    example.save()
    drain()
    assert seen == [{"name", "notes"}]


def test_changes_are_relative_to_the_previous_save(drain: Callable[[], None]) -> None:
    """After a save the snapshot is refreshed: the next update lists only what changed since."""
    seen: list[ModelChanges[Example]] = []
    observe_updates(seen)
    example = Example.objects.create(name="v1")
    example.name = "v2"
    example.save()
    drain()
    example.status = "final"
    example.save()
    drain()
    assert [dict(changes) for changes in seen] == [
        {"name": FieldChange("v1", "v2")},
        {"status": FieldChange("draft", "final")},
    ]


def test_update_fields_limits_the_changes_and_the_snapshot(drain: Callable[[], None]) -> None:
    """With ``update_fields`` only those fields count; the others stay pending for a later save."""
    seen: list[ModelChanges[Example]] = []
    observe_updates(seen)
    example = Example.objects.create(name="limited")
    example.name = "renamed"
    example.status = "done"
    example.save(update_fields=["status"])
    drain()
    example.save()
    drain()
    assert [dict(changes) for changes in seen] == [
        {"status": FieldChange("draft", "done")},
        {"name": FieldChange("limited", "renamed")},
    ]


def test_container_changed_in_place_is_detected(drain: Callable[[], None]) -> None:
    """A JSON value mutated in place is compared with a copy, so the change shows."""
    seen: list[ModelChanges[Example]] = []
    observe_updates(seen)
    example = Example.objects.create(name="json", data={"tags": ["a"]})
    example.data["tags"].append("b")
    example.save()
    drain()
    assert dict(seen[0]) == {"data": FieldChange({"tags": ["a"]}, {"tags": ["a", "b"]})}


def test_foreign_key_changes_hold_ids(drain: Callable[[], None]) -> None:
    """A foreign key is listed under the field name, with the ids."""
    seen: list[ModelChanges[Example]] = []
    observe_updates(seen)
    first, second = Place.objects.create(name="A"), Place.objects.create(name="B")
    example = Example.objects.create(name="fk", place=first)
    example.place = second
    example.save()
    drain()
    assert dict(seen[0]) == {"place": FieldChange(first.pk, second.pk)}


def test_deferred_fields_are_not_listed(drain: Callable[[], None]) -> None:
    """A field deferred at load time has no known old value and is left out."""
    seen: list[ModelChanges[Example]] = []
    observe_updates(seen)
    Example.objects.create(name="partial")
    loaded = Example.objects.only("name").get(name="partial")
    loaded.name = "complete"
    loaded.status = "changed too"
    loaded.save()
    drain()
    assert set(seen[0]) == {"name"}


def test_a_deferred_field_loaded_on_access_is_listed(drain: Callable[[], None]) -> None:
    """Reading a deferred field loads it through ``refresh_from_db``: from then on its changes count."""
    seen: list[ModelChanges[Example]] = []
    observe_updates(seen)
    Example.objects.create(name="lazy", status="draft")
    loaded = Example.objects.only("name").get(name="lazy")
    assert loaded.status == "draft"  # loads the deferred field
    loaded.status = "sent"
    loaded.save()
    drain()
    assert dict(seen[0]) == {"status": FieldChange("draft", "sent")}


def test_refresh_from_db_takes_a_new_snapshot(drain: Callable[[], None]) -> None:
    """A row changed elsewhere and reloaded with ``refresh_from_db`` is not a change of this save."""
    seen: list[ModelChanges[Example]] = []
    observe_updates(seen)
    example = Example.objects.create(name="stale", status="draft")
    Example.objects.filter(pk=example.pk).update(status="paid")
    example.refresh_from_db()
    example.name = "fresh"
    example.save()
    drain()
    assert dict(seen[0]) == {"name": FieldChange("stale", "fresh")}


def test_refresh_from_db_of_some_fields_refreshes_only_theirs(drain: Callable[[], None]) -> None:
    """``refresh_from_db(fields=[...])`` re-snapshots those fields; edits to the others still count."""
    seen: list[ModelChanges[Example]] = []
    observe_updates(seen)
    example = Example.objects.create(name="partly", status="draft")
    Example.objects.filter(pk=example.pk).update(status="paid")
    example.name = "edited"
    example.refresh_from_db(fields=["status"])
    example.save()
    drain()
    assert dict(seen[0]) == {"name": FieldChange("partly", "edited")}


def test_refresh_from_db_is_wrapped_only_while_tracked() -> None:
    """Tracking wraps the model's ``refresh_from_db``; the last Observer out restores Django's."""
    assert "refresh_from_db" not in vars(Example)

    class Tracking(Observer[Example]):
        observes = Example

        def updated(self, event_name: str, instance: Example) -> None: ...

    assert "refresh_from_db" in vars(Example)
    assert "refresh_from_db" not in vars(Unobserved)
    Tracking.unregister()
    assert "refresh_from_db" not in vars(Example)


def test_a_new_instance_has_no_changes(drain: Callable[[], None]) -> None:
    """Creating and created handlers see empty changes."""
    seen: list[ModelChanges[Example]] = []

    class OnCreate(Observer[Example]):
        observes = Example

        def created(self, event_name: str, instance: Example) -> None:
            seen.append(self.changes(instance))

    Example.objects.create(name="new")
    drain()
    assert len(seen[0]) == 0


def test_unchanged_field_lookup_names_the_changed_ones(drain: Callable[[], None]) -> None:
    """Asking for a field that did not change raises a KeyError listing those that did."""
    seen: list[ModelChanges[Example]] = []
    observe_updates(seen)
    example = Example.objects.create(name="k")
    example.status = "s"
    example.save()
    drain()
    with pytest.raises(KeyError, match=r"field 'name' did not change \(changed: \['status'\]\)"):
        seen[0]["name"]


def test_register_signals_for_tracks_changes_for_listeners(drain: Callable[[], None]) -> None:
    """A model mapped with ``RegisterSignalsFor`` is tracked, so any handler can call ``get_changes``."""
    RegisterSignalsFor(Example)
    seen: list[set[str]] = []
    from django_event_system import Dispatcher

    with Dispatcher.RegisterHandler(
        r"events::db::.*::Example::updated", lambda name, instance: seen.append(set(get_changes(instance)))
    ):
        example = Example.objects.create(name="tracked")
        example.status = "moved"
        example.save()
        drain()
    assert seen == [{"status"}]


def test_unobserved_models_pay_nothing() -> None:
    """A model no one observes keeps Django's ``from_db`` and its loaded rows carry no snapshot."""
    Unobserved.objects.create(name="free")
    assert "from_db" not in vars(Unobserved)
    assert "_event_system_snapshot" not in Unobserved.objects.get().__dict__
    RegisterSignalsFor(Example)
    Example.objects.create(name="loaded")
    assert "from_db" in vars(Example)
    assert "from_db" not in vars(Unobserved)
    assert "_event_system_snapshot" in Example.objects.get().__dict__
    assert "_event_system_snapshot" not in Unobserved.objects.get().__dict__


def test_instances_made_in_code_pay_nothing() -> None:
    """Tracking connects no ``post_init`` receiver: an instance made in code carries no snapshot
    until its first save takes one."""
    RegisterSignalsFor(Example)
    assert not signals.post_init.has_listeners(Example)
    example = Example(name="new")
    assert "_event_system_snapshot" not in example.__dict__
    example.save()
    assert "_event_system_snapshot" in example.__dict__


def test_from_db_is_wrapped_only_while_tracked() -> None:
    """Tracking wraps the model's ``from_db``; the last Observer out restores Django's."""

    class Tracking(Observer[Example]):
        observes = Example

        def updated(self, event_name: str, instance: Example) -> None: ...

    assert "from_db" in vars(Example)
    Tracking.unregister()
    assert "from_db" not in vars(Example)
    assert Example.from_db.__func__ is Model.from_db.__func__  # type: ignore[attr-defined]


def test_a_model_s_own_from_db_builds_the_rows_of_a_tracked_model(drain: Callable[[], None]) -> None:
    """The wrapper calls the model's own ``from_db`` with what Django passes (Django 6.1's
    ``fetch_mode``, nothing on 5.2), and the rows it builds are snapshotted: an in-place change of a
    JSON value loaded from the row counts."""
    seen: list[ModelChanges[Rebuilt]] = []

    class RebuiltChanges(Observer[Rebuilt]):
        observes = Rebuilt

        def updated(self, event_name: str, instance: Rebuilt) -> None:
            seen.append(self.changes(instance))

    Rebuilt.objects.create(name="row", data={"tags": ["a"]})
    loaded = Rebuilt.objects.get()
    assert loaded.built_with == (["fetch_mode"] if django.VERSION >= (6, 1) else [])
    loaded.data["tags"].append("b")
    loaded.save()
    drain()
    assert [dict(changes) for changes in seen] == [{"data": FieldChange({"tags": ["a"]}, {"tags": ["a", "b"]})}]
    RebuiltChanges.unregister()
    assert vars(Rebuilt)["from_db"].__func__.__qualname__ == "Rebuilt.from_db"


def test_get_changes_of_an_untracked_model_says_how_to_track_it() -> None:
    """``get_changes`` on an unobserved model raises a LookupError that names the fix."""
    with pytest.raises(
        LookupError,
        match=r"the changes of Unobserved instances are not tracked: observe the model with an Observer or "
        r"RegisterSignalsFor\(Unobserved\)",
    ):
        get_changes(Unobserved(name="x"))


def test_track_changes_false_takes_no_snapshot() -> None:
    """An Observer with ``track_changes = False`` wraps nothing and connects no ``post_init`` receiver."""

    class Untracked(Observer[Example]):
        observes = Example
        track_changes = False

        def updated(self, event_name: str, instance: Example) -> None: ...

    assert not signals.post_init.has_listeners(Example)
    assert "from_db" not in vars(Example)
    with pytest.raises(LookupError, match=r"the changes of Example instances are not tracked"):
        get_changes(Example(name="x"))


def test_a_child_of_an_observed_model_is_snapshotted_once_per_row(drain: Callable[[], None]) -> None:
    """With a model and its multi-table child both observed, each loaded row is snapshotted once,
    and the changes of each are right; rows of the unobserved parent's subclass are not snapshotted."""
    seen: list[tuple[str, set[str]]] = []

    class PlaceChanges(Observer[Place]):
        observes = Place

        def updated(self, event_name: str, instance: Place) -> None:
            seen.append(("place", set(self.changes(instance))))

    Restaurant.objects.create(name="Chez", serves_pizza=False)
    assert "_event_system_snapshot" not in Restaurant.objects.get().__dict__

    class RestaurantChanges(Observer[Restaurant]):
        observes = Restaurant

        def updated(self, event_name: str, instance: Restaurant) -> None:
            seen.append(("restaurant", set(self.changes(instance))))

    # Restaurant's rows are built by Django's from_db, not through Place's wrapper as well.
    builds = Restaurant.from_db.__func__.__event_system_builds__  # type: ignore[attr-defined]
    assert builds is Model.from_db.__func__  # type: ignore[attr-defined]
    restaurant = Restaurant.objects.get()
    place = Place.objects.get()
    restaurant.serves_pizza = True
    restaurant.save()
    place.name = "Chez Nous"
    place.save()
    drain()
    assert seen == [("restaurant", {"serves_pizza"}), ("place", {"name"})]


def test_changes_hold_the_values_the_save_wrote(drain: Callable[[], None]) -> None:
    """A field set by the save itself (``auto_now``) is listed with the value written, and the
    next save compares with that value."""
    seen: list[ModelChanges[Stamped]] = []

    class StampObserver(Observer[Stamped]):
        observes = Stamped

        def updated(self, event_name: str, instance: Stamped) -> None:
            seen.append(self.changes(instance))

    stamped = Stamped.objects.create(name="first")
    created_at = stamped.touched
    stamped.name = "second"
    stamped.save()
    drain()
    assert set(seen[0]) == {"name", "touched"}
    assert seen[0]["touched"] == FieldChange(created_at, stamped.touched)
    stamped.save(update_fields=["name"])  # auto_now fields are written only when listed
    drain()
    assert dict(seen[1]) == {}


def test_a_field_attribute_that_converts_its_value_is_read_back(drain: Callable[[], None]) -> None:
    """Where a field's attribute converts the value a row is built with, the snapshot holds the
    converted value the instance keeps, so an unchanged field is not reported as changed."""
    seen: list[ModelChanges[Shouting]] = []

    class ShoutingObserver(Observer[Shouting]):
        observes = Shouting

        def updated(self, event_name: str, instance: Shouting) -> None:
            seen.append(self.changes(instance))

    Shouting.objects.create(word="hello")
    shouting = Shouting.objects.get()
    assert shouting.word == "hello!!"
    shouting.count = 1
    shouting.save()
    drain()
    assert dict(seen[0]) == {"count": FieldChange(0, 1)}
