"""Models for the Django adapter tests: none is observed until a test observes it."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, cast

from django.db import models

from django_event_system import EventManager, EventQuerySet


class Place(models.Model):
    """A parent of multi-table inheritance."""

    name = models.CharField(max_length=50)


class Restaurant(Place):
    """A multi-table child of Place."""

    serves_pizza = models.BooleanField(default=False)


class Example(models.Model):
    """The model of the 1.0 README's examples."""

    name = models.CharField(max_length=50)
    status = models.CharField(max_length=20, default="draft")
    data = models.JSONField(default=dict)
    notes = models.TextField(blank=True, default="")
    place = models.ForeignKey(Place, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        # Declared, so that the system checks need not query the database to know JSONField works
        # (Django 6.1 asks SQLite, which pytest-django forbids outside database tests).
        required_db_features = ("supports_json_field",)

    def __str__(self) -> str:
        return self.name


class Post(models.Model):
    """A model whose fields inline hooks fill: a slug, a timestamp."""

    title = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, blank=True, default="")
    status = models.CharField(max_length=20, default="draft")
    status_changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.title


class ProxyExample(Example):
    """A proxy of Example: same table, its own class."""

    class Meta:
        proxy = True


class Stamped(models.Model):
    """A model with a field that its own ``pre_save`` sets (``auto_now``)."""

    name = models.CharField(max_length=50)
    touched = models.DateTimeField(auto_now=True)


class _Exclaim:
    """A data descriptor that converts what it is given (it adds a "!"), so that the value an
    instance keeps is never the one its row was built with."""

    def __init__(self, field: models.Field[Any, Any]) -> None:
        self.field = field

    def __get__(self, instance: models.Model | None, owner: type[models.Model]) -> Any:
        if instance is None:
            return self
        return instance.__dict__[self.field.attname]

    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = f"{value}!" if isinstance(value, str) else value


if TYPE_CHECKING:
    _CharField = models.CharField[str, str]
else:
    _CharField = models.CharField


class ExclaimField(_CharField):
    """A CharField whose attribute adds a "!" to what it is set to."""

    descriptor_class = _Exclaim


class Shouting(models.Model):
    """A model whose field attribute converts the value ``from_db`` builds the instance with."""

    word = ExclaimField(max_length=20)
    count = models.IntegerField(default=0)


class Rebuilt(models.Model):
    """A model with a ``from_db`` of its own, which records what Django passed it."""

    name = models.CharField(max_length=50)
    data = models.JSONField(default=dict)

    class Meta:
        required_db_features = ("supports_json_field",)

    built_with: list[str]
    """The names of the keyword arguments ``from_db`` was given for this row."""

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any, **kwargs: Any) -> Rebuilt:
        instance: Rebuilt = super().from_db(db, field_names, values, **kwargs)
        instance.built_with = sorted(kwargs)
        return instance


class UUIDExample(models.Model):
    """A model whose primary key has a default: ``pk`` is set before the first save."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=50)


class AbstractThing(models.Model):
    """An abstract model, which cannot be observed."""

    name = models.CharField(max_length=50)

    class Meta:
        abstract = True


class Unobserved(models.Model):
    """A model that no test observes."""

    name = models.CharField(max_length=50)


class HandledEvent(models.Model):
    """A row written by a handler, so that another process can see what was handled."""

    name = models.CharField(max_length=200)
    object_id = models.CharField(max_length=64, default="")


# -- bulk writes and many-to-many changes -----------------------------------------------------


class BulkItem(models.Model):
    """A model whose default manager dispatches the events of bulk writes."""

    name = models.CharField(max_length=50, unique=True)
    count = models.IntegerField(default=0)
    place = models.ForeignKey(Place, null=True, blank=True, on_delete=models.SET_NULL)

    objects = EventManager["BulkItem"]()
    plain = models.Manager["BulkItem"]()

    def __str__(self) -> str:
        return self.name


class ShelfQuerySet(EventQuerySet["Shelf"]):
    """A queryset of the application's own, derived from EventQuerySet."""

    def empty(self) -> ShelfQuerySet:
        return cast("ShelfQuerySet", self.filter(count=0))


class Shelf(models.Model):
    """A model whose manager is built from its own EventQuerySet."""

    name = models.CharField(max_length=50)
    count = models.IntegerField(default=0)

    objects = ShelfQuerySet.as_manager()


class Tag(models.Model):
    """The other side of Article's many-to-many relation."""

    name = models.CharField(max_length=50)


class Editor(models.Model):
    """Related to Article through a model of its own."""

    name = models.CharField(max_length=50)


class Article(models.Model):
    """A model with a many-to-many relation and one through a custom intermediate model."""

    title = models.CharField(max_length=50)
    tags = models.ManyToManyField(Tag, related_name="articles")
    editors = models.ManyToManyField(Editor, through="Assignment", related_name="articles")


class Assignment(models.Model):
    """The custom intermediate model between Article and Editor."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE)
    editor = models.ForeignKey(Editor, on_delete=models.CASCADE)
    role = models.CharField(max_length=20, default="author")
