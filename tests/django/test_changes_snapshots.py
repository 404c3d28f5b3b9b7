"""Tests for how change tracking keeps its snapshots: by reference, containers copied, compared when asked.

``test_changes.py`` proves what ``get_changes`` reports; these prove that the cheaper snapshots
report the same whatever happens to the instance between the save and the handler.
"""

from __future__ import annotations

import copy
import decimal
import json
import pickle
from collections.abc import Callable
from typing import Any, cast

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models.fields.json import KeyTransform

from django_event_system import FieldChange, ModelChanges, Observer, get_changes
from django_event_system.django import _changes

from .testapp.models import Example

pytestmark = pytest.mark.django_db


def observe_updates(seen: list[ModelChanges[Example]], *, committed: bool = False) -> None:
    """An Observer of Example whose ``updated`` records the changes it sees (after the commit if ``committed``)."""

    class Recording(Observer[Example]):
        observes = Example
        after_commit = committed

        def updated(self, event_name: str, instance: Example) -> None:
            seen.append(self.changes(instance))


def test_a_handler_sees_the_save_not_what_changed_after_it(drain: Callable[[], None]) -> None:
    """Changes made after the save, in place or not, before the handler runs, are not the save's."""
    seen: list[ModelChanges[Example]] = []
    observe_updates(seen)
    example = Example.objects.create(name="saved", data={"tags": ["a"]})
    example.name = "renamed"
    example.data["tags"].append("b")
    example.save()
    example.name = "renamed again"
    example.data["tags"].append("c")
    example.status = "unsaved"
    drain()
    assert dict(seen[0]) == {
        "name": FieldChange("saved", "renamed"),
        "data": FieldChange({"tags": ["a"]}, {"tags": ["a", "b"]}),
    }


@pytest.mark.django_db(transaction=True)
def test_an_after_commit_handler_sees_the_changes_of_its_save(drain: Callable[[], None]) -> None:
    """Compared when first asked, after the commit, the changes are still those of the save."""
    seen: list[ModelChanges[Example]] = []
    observe_updates(seen, committed=True)
    example = Example.objects.create(name="before", data={"n": 1})
    with transaction.atomic():
        example.data["n"] = 2
        example.save()
        example.data["n"] = 3  # after the save, inside the transaction
        drain()
        assert seen == []
    drain()
    assert dict(seen[0]) == {"data": FieldChange({"n": 1}, {"n": 2})}


def test_changes_are_compared_once_and_kept() -> None:
    """The first ``get_changes`` compares the snapshots; the next ones return the same mapping."""
    observe_updates([])
    example = Example.objects.create(name="once")
    example.name = "twice"
    example.save()
    assert isinstance(example.__dict__[_changes._CHANGES], _changes._PendingChanges)
    first = get_changes(example)
    assert get_changes(example) is first
    assert dict(first) == {"name": FieldChange("once", "twice")}


def test_a_container_marshal_cannot_copy_is_deep_copied(drain: Callable[[], None]) -> None:
    """A JSON value holding a Decimal (saved with DjangoJSONEncoder) is copied all the same."""
    seen: list[ModelChanges[Example]] = []
    observe_updates(seen)
    field = Example._meta.get_field("data")
    assert isinstance(field, models.JSONField)
    encoder = field.encoder
    field.encoder = DjangoJSONEncoder
    try:
        example = Example.objects.create(name="price", data={"price": decimal.Decimal("1.50")})
        example.data["price"] = decimal.Decimal("2.50")
        example.save()
        drain()
    finally:
        field.encoder = encoder
    assert dict(seen[0]) == {
        "data": FieldChange({"price": decimal.Decimal("1.50")}, {"price": decimal.Decimal("2.50")})
    }


def test_only_containers_are_copied_and_scalars_are_kept_by_reference() -> None:
    """The snapshot holds the loaded values themselves, and a copy of the JSON value only."""
    observe_updates([])
    Example.objects.create(name="shared", data={"tags": ["a"]})
    loaded = Example.objects.get(name="shared")
    values = loaded.__dict__[_changes._SNAPSHOT]
    layout = _changes._layout_of(Example)
    assert values[layout.attnames.index("name")] is loaded.name
    assert layout.containers == (layout.attnames.index("data"),)
    copied = loaded.__dict__[_changes._COPIES]  # one field may hold a container: its copy, in no tuple
    assert copied is not loaded.data
    assert layout.value((values, copied), layout.attnames.index("data")) == {"tags": ["a"]}


def test_an_instance_with_no_container_value_keeps_no_copy() -> None:
    """A JSON field holding a string is no container: nothing is copied, and nothing stale is kept."""
    observe_updates([])
    example = Example.objects.create(name="plain", data={"tags": []})
    assert _changes._COPIES in example.__dict__
    example.data = "just text"
    example.save()
    assert _changes._COPIES not in example.__dict__
    example.data = "other text"
    example.save()
    assert dict(get_changes(example)) == {"data": FieldChange("just text", "other text")}


def test_a_pickled_or_copied_instance_keeps_its_snapshot(drain: Callable[[], None]) -> None:
    """An instance that went through pickle (a cache) or ``copy.deepcopy`` reports the same changes,
    its deferred fields still unknown."""
    seen: list[ModelChanges[Example]] = []
    observe_updates(seen)
    Example.objects.create(name="cached", status="draft", data={"n": 1})

    def pickled(instance: Example) -> Example:
        revived: Example = pickle.loads(pickle.dumps(instance))
        return revived

    revivals: tuple[Callable[[Example], Example], ...] = (pickled, copy.deepcopy)
    for revive in revivals:
        loaded = revive(Example.objects.only("name", "data").get(name="cached"))
        loaded.data["n"] += 1
        loaded.status = "not loaded, not listed"
        loaded.save()
        drain()
    assert [set(changes) for changes in seen] == [{"data"}, {"data"}]
    assert [changes["data"].old for changes in seen] == [{"n": 1}, {"n": 2}]


def test_a_snapshot_of_another_shape_counts_as_none(drain: Callable[[], None]) -> None:
    """An instance unpickled with the dict snapshot of an earlier version lists no change, and fails nothing."""
    seen: list[ModelChanges[Example]] = []
    observe_updates(seen)
    example = Example.objects.get(pk=Example.objects.create(name="old").pk)
    old = {"id": example.pk, "name": "old", "status": "draft", "data": {}, "notes": "", "place": None}
    assert len(old) == len(Example._meta.concrete_fields)
    example.__dict__[_changes._SNAPSHOT] = old
    example.name = "new"
    example.save(update_fields=["name"])
    drain()
    assert seen == [ModelChanges()]
    example.name = "newer"
    example.save()
    drain()
    assert dict(seen[1]) == {"name": FieldChange("new", "newer")}


DATABASES = [
    pytest.param("default", id="sqlite"),
    pytest.param("postgres", marks=[pytest.mark.postgres], id="postgres"),
]


@pytest.mark.parametrize("alias", DATABASES)
@pytest.mark.django_db(databases=["default", "postgres"])
def test_a_loaded_json_value_is_frozen_as_the_text_the_database_returned(alias: str, drain: Callable[[], None]) -> None:
    """A JSON value loaded from the database keeps, as its frozen copy, the text it was decoded
    from (no copy made); an in-place change is still reported against it, on each database."""
    seen: list[ModelChanges[Example]] = []
    observe_updates(seen)
    Example.objects.using(alias).create(name="texts", data={"tags": ["a"], "n": 1})
    loaded = Example.objects.using(alias).get(name="texts")
    frozen = loaded.__dict__[_changes._COPIES]
    assert type(frozen) is str
    assert _changes._layout_of(Example).value((loaded.__dict__[_changes._SNAPSHOT], frozen), 3) == {
        "tags": ["a"],
        "n": 1,
    }
    loaded.data["tags"].append("b")
    loaded.save(using=alias)
    drain()
    assert dict(seen[0]) == {"data": FieldChange({"tags": ["a"], "n": 1}, {"tags": ["a", "b"], "n": 1})}


class _Decimals(json.JSONDecoder):
    """A decoder of the field's own: floats as Decimals."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(parse_float=decimal.Decimal, **kwargs)


@pytest.mark.parametrize("decoder", [None, _Decimals])
def test_the_converter_that_keeps_texts_decodes_as_django_s_does(
    decoder: type[json.JSONDecoder] | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wrapped converter of a tracked JSON field returns what ``JSONField.from_db_value``
    returns, for every kind of value a database gives it, with the field's own decoder, and keeps
    the text of what it decoded (only that)."""
    observe_updates([])
    field = Example._meta.get_field("data")
    monkeypatch.setattr(field, "decoder", decoder)
    convert: Any = getattr(field, "from_db_value")  # noqa: B009 - the wrapped converter
    key = KeyTransform("n", "data")
    texts = _changes._texts[cast("models.Field[Any, Any]", field)]
    for value, expression in [
        ('{"n": 1.5, "tags": ["a"]}', None),
        ('"a string"', None),
        ("not JSON", None),
        (None, None),
        (7, key),  # SQLite extracts a key's value in its SQL type
        ("[1, 2]", key),
    ]:
        texts.last = None
        expected = models.JSONField.from_db_value(field, value, expression, None)  # type: ignore[arg-type]
        found = convert(value, expression, None)
        assert found == expected, value
        assert type(found) is type(expected), value
        kept: Any = texts.last
        if value == "not JSON" or type(value) is not str:
            assert kept is None, value
        else:
            assert kept == (found, value)
            assert kept[0] is found


@pytest.mark.django_db
def test_a_text_decoded_for_another_value_is_never_taken_for_the_row_s() -> None:
    """The text kept by the converter is a row's frozen copy only when the value the instance is
    built with is the very one decoded from it: otherwise the value is copied."""
    observe_updates([])
    convert: Any = getattr(Example._meta.get_field("data"), "from_db_value")  # noqa: B009 - the wrapped converter
    convert('{"stale": true}', None, None)  # a decode that no row follows
    fields = [f.attname for f in Example._meta.concrete_fields]
    built = Example.from_db("default", fields, [1, "built", "draft", {"n": 2}, "", None])
    frozen = built.__dict__[_changes._COPIES]
    assert type(frozen) is bytes  # a marshal copy, not the stale text
    assert _changes._layout_of(Example).value((built.__dict__[_changes._SNAPSHOT], frozen), 3) == {"n": 2}
