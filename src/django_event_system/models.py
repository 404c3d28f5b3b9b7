"""The outbox's tables: messages written with the data that caused them, and messages handled once.

:class:`OutboxMessage` rows are written when an event reaches an outbox handler, in the
dispatching code's transaction, and published by ``manage.py events relay``.
:class:`ProcessedMessage` rows are written by the worker, in the transaction of the handler it
runs, so that a message delivered twice runs its handler once. Both live in the database named by
``DJANGO_EVENT_SYSTEM["QUEUED"]["DATABASE"]``; the relay deletes them after ``OUTBOX_KEEP_SENT``.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from django.db import models
from django.utils import timezone

__all__ = ["OutboxMessage", "ProcessedMessage"]


class OutboxMessage(models.Model):
    """One queued handler's message, waiting for the relay (``sent_at`` is empty) or sent."""

    # The fields' types are spelt out for the checkers without django-stubs' mypy plugin (pyright).
    id: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    created_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(default=timezone.now)
    event_id: models.CharField[str, str] = models.CharField(max_length=64)
    event_name: models.TextField[str, str] = models.TextField()
    handler: models.CharField[str, str] = models.CharField(
        max_length=255, help_text="The queued handler's key, module:qualname."
    )
    queue: models.CharField[str | None, str | None] = models.CharField(max_length=255, null=True, blank=True)
    body: models.TextField[str, str] = models.TextField(help_text="The JSON message the worker receives.")
    available_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(
        default=timezone.now, help_text="When the relay may publish it (again)."
    )
    attempts: models.PositiveIntegerField[int, int] = models.PositiveIntegerField(
        default=0, help_text="Publishes that failed so far."
    )
    last_error: models.TextField[str, str] = models.TextField(blank=True, default="")
    sent_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(null=True, blank=True)

    objects: models.Manager[OutboxMessage] = models.Manager()

    class Meta:
        verbose_name = "outbox message"
        indexes: ClassVar[list[models.Index]] = [
            # The relay's query: the unsent rows, oldest first, without reading the sent ones kept.
            models.Index(fields=["id"], condition=models.Q(sent_at__isnull=True), name="des_outbox_pending"),
            models.Index(fields=["sent_at"], name="des_outbox_sent"),
        ]

    def __str__(self) -> str:
        return f"{self.event_name} -> {self.handler} ({self.event_id})"


class ProcessedMessage(models.Model):
    """A record that the worker ran ``handler`` for the event ``event_id``, from an outbox message."""

    id: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    event_id: models.CharField[str, str] = models.CharField(max_length=64)
    handler: models.CharField[str, str] = models.CharField(max_length=255)
    processed_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(default=timezone.now, db_index=True)

    objects: models.Manager[ProcessedMessage] = models.Manager()

    class Meta:
        verbose_name = "processed message"
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["event_id", "handler"], name="des_processed_once")
        ]

    def __str__(self) -> str:
        return f"{self.handler} ({self.event_id})"
