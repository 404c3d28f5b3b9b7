"""The models of ``benchmarks.models``, one per way of watching a model; imported once Django is set up.

Each has the same fields (a ``CharField``, an ``IntegerField`` and a ``JSONField``) and its own
table. Every handler, receiver and hook only counts its calls, in :data:`calls`, so that the
benchmark can check that each ran once per save it watches.
"""

from __future__ import annotations

import collections
from typing import Any, ClassVar

from django.db import models
from django.db.models import signals

from django_event_system import Observer

calls: collections.Counter[str] = collections.Counter()
"""Handler calls by variant: ``"observer:created"``, ``"receiver"``, ``"lifecycle:updated"``..."""


class _Fields(models.Model):
    """The fields every variant has; its ``Meta``, inherited, puts them in the benchmark's app.

    Each variant names its table in as many letters as the others: the SQL of a save goes
    through string operations (the SQLite backend's placeholders) that cost by its length, which
    the models' own names would otherwise make differ by some hundreds of instructions a save.
    """

    name = models.CharField(max_length=50)
    count = models.IntegerField(default=0)
    data = models.JSONField(default=dict)

    class Meta:
        abstract = True
        app_label = "bench_models"


class Unobserved(_Fields):
    """Nothing watches it."""

    class Meta(_Fields.Meta):
        db_table = "bench_u"

    objects: ClassVar[models.Manager[Unobserved]] = models.Manager()


class UnobservedAgain(_Fields):
    """Nothing watches it either: the same model as :class:`Unobserved` with a table of its own, whose
    ratio to it is what the run's noise alone makes of two identical variants."""

    class Meta(_Fields.Meta):
        db_table = "bench_a"

    objects: ClassVar[models.Manager[UnobservedAgain]] = models.Manager()


class WithReceiver(_Fields):
    """A ``post_save`` receiver that does nothing but count."""

    class Meta(_Fields.Meta):
        db_table = "bench_r"

    objects: ClassVar[models.Manager[WithReceiver]] = models.Manager()


class WithInitReceiver(_Fields):
    """A ``post_init`` receiver that does nothing but count: what any snapshot taken there pays first."""

    class Meta(_Fields.Meta):
        db_table = "bench_i"

    objects: ClassVar[models.Manager[WithInitReceiver]] = models.Manager()


class Observed(_Fields):
    """Observed by an Observer with ``created`` and ``updated`` (changes tracked, the default)."""

    class Meta(_Fields.Meta):
        db_table = "bench_o"

    objects: ClassVar[models.Manager[Observed]] = models.Manager()


class ObservedUntracked(_Fields):
    """Observed by the same Observer with ``track_changes = False``."""

    class Meta(_Fields.Meta):
        db_table = "bench_t"

    objects: ClassVar[models.Manager[ObservedUntracked]] = models.Manager()


def _count_saves(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    calls["receiver"] += 1


def _count_inits(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    calls["init receiver"] += 1


signals.post_save.connect(_count_saves, sender=WithReceiver, weak=False)
signals.post_init.connect(_count_inits, sender=WithInitReceiver, weak=False)


class ObservedObserver(Observer[Observed]):
    observes = Observed

    def created(self, event_name: str, instance: Observed) -> None:
        calls["observer:created"] += 1

    def updated(self, event_name: str, instance: Observed) -> None:
        calls["observer:updated"] += 1


class UntrackedObserver(Observer[ObservedUntracked]):
    observes = ObservedUntracked
    track_changes = False

    def created(self, event_name: str, instance: ObservedUntracked) -> None:
        calls["untracked:created"] += 1

    def updated(self, event_name: str, instance: ObservedUntracked) -> None:
        calls["untracked:updated"] += 1


def lifecycle_model() -> type[models.Model] | None:
    """The django-lifecycle variant (two hooks), or ``None`` where django-lifecycle is not installed."""
    try:
        from django_lifecycle import AFTER_CREATE, AFTER_UPDATE, LifecycleModelMixin, hook
    except ImportError:
        return None

    class WithLifecycle(LifecycleModelMixin, _Fields):  # type: ignore[misc]
        """django-lifecycle's ``AFTER_CREATE`` and ``AFTER_UPDATE`` hooks, each counting."""

        class Meta(_Fields.Meta):
            db_table = "bench_l"

        @hook(AFTER_CREATE)  # type: ignore[untyped-decorator]
        def count_created(self) -> None:
            calls["lifecycle:created"] += 1

        @hook(AFTER_UPDATE)  # type: ignore[untyped-decorator]
        def count_updated(self) -> None:
            calls["lifecycle:updated"] += 1

    model: type[models.Model] = WithLifecycle
    return model
