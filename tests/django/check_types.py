"""Type checks for the Django adapter, read by mypy and never imported.

The first part must type-check; each line marked ``# type: ignore[code]`` must be an error, so
that a regression which stops catching it shows up as an unused ignore (``warn_unused_ignores``).
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from typing_extensions import assert_type

from django_event_system import (
    BulkCreated,
    FieldChange,
    M2MChanged,
    ModelChanges,
    Observer,
    QuerysetUpdated,
    RegisterSignalsFor,
    SignalMapping,
    SignalToEvent,
    get_changes,
)
from django_event_system.django import ModelAction

from .testapp.models import Example, Place


class Typed(Observer[Example]):
    observes = Example
    after_commit = True

    def created(self, event_name: str, instance: Example) -> None:
        assert_type(instance, Example)

    def updated(self, event_name: str, example: Example) -> None:
        changes = self.changes(example)
        assert_type(changes, ModelChanges[Example])
        assert_type(changes["status"], FieldChange)


assert_type(Typed.observes, type[Example])
assert_type(RegisterSignalsFor(Example), dict[ModelAction, str])
assert_type(get_changes(Example()), ModelChanges[Example])
assert_type(SignalToEvent(post_save, event="saved", sender=Example), SignalMapping)


class WrongInstanceType(Observer[Example]):
    observes = Example

    def created(self, event_name: str, instance: Place) -> None: ...  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]


class WrongModel(Observer[Example]):
    observes = Place  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]


RegisterSignalsFor("testapp.Example")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
SignalToEvent(post_save, event=42)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
SignalToEvent(post_save, hook="not callable")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
get_changes("not a model")  # type: ignore[type-var]  # pyright: ignore[reportArgumentType]


class TypedBulk(Observer[Example]):
    observes = Example

    def bulk_created(self, event_name: str, created: BulkCreated[Example]) -> None:
        assert_type(created.objects, tuple[Example, ...])
        assert_type(created.pks_known, bool)

    def queryset_updated(self, event_name: str, updated: QuerysetUpdated[Example]) -> None:
        assert_type(updated.fields, tuple[str, ...])

    def m2m_added(self, event_name: str, change: M2MChanged[Example]) -> None:
        assert_type(change.instance, Example)
        assert_type(change.pks, frozenset[Any])


class WrongPayload(Observer[Example]):
    observes = Example

    def bulk_updated(self, event_name: str, updated: BulkCreated[Example]) -> None: ...  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
