"""Models for the Django adapter tests: none is observed until a test observes it."""

from __future__ import annotations

import uuid

from django.db import models


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


class ProxyExample(Example):
    """A proxy of Example: same table, its own class."""

    class Meta:
        proxy = True


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
