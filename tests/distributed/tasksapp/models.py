"""Models of the Tasks framework tests: orders, and what the queued handlers did with them."""

from __future__ import annotations

from django.db import models

# The managers are declared because the type checker reads the suite's settings, where this
# app is not installed.


class Order(models.Model):
    reference = models.CharField(max_length=50)
    objects: models.Manager[Order] = models.Manager()


class Receipt(models.Model):
    """One row per call of a queued handler (``kind`` says which), written by the worker."""

    kind = models.CharField(max_length=20)
    reference = models.CharField(max_length=50)
    event_id = models.CharField(max_length=64)
    attempt = models.IntegerField(default=0)
    objects: models.Manager[Receipt] = models.Manager()


class Note(models.Model):
    """An observed model: tasks save notes, and the Observer records each ``created`` it handles."""

    key = models.CharField(max_length=50)
    objects: models.Manager[Note] = models.Manager()
