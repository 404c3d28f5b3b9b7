"""Models of the outbox scenarios: what the web process saves, and what the worker's handlers do."""

from __future__ import annotations

from django.db import models

# The managers are declared because the type checker reads the suite's settings, where this
# app is not installed.


class Parcel(models.Model):
    """Saved by the web process; its queued listener uses the outbox."""

    reference = models.CharField(max_length=50)
    objects: models.Manager[Parcel] = models.Manager()


class Letter(models.Model):
    """Saved by the web process; its queued listener is sent after the commit, without the outbox."""

    reference = models.CharField(max_length=50)
    objects: models.Manager[Letter] = models.Manager()


class Effect(models.Model):
    """One row per run of a queued handler, written by the worker in the handler's transaction.

    No unique constraint: a handler that ran twice shows as two rows.
    """

    kind = models.CharField(max_length=20)
    reference = models.CharField(max_length=50)
    event_id = models.CharField(max_length=64)
    objects: models.Manager[Effect] = models.Manager()
