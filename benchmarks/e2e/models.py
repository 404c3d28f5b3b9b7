"""The model the view saves."""

from __future__ import annotations

import time
from typing import ClassVar

from django.db import models


class Row(models.Model):
    """One row per request."""

    note = models.CharField(max_length=100)
    saved_at = models.FloatField(default=time.monotonic)
    """The server's ``time.monotonic()`` when the instance was built, just before its save."""

    objects: ClassVar[models.Manager[Row]] = models.Manager()

    class Meta:
        app_label = "e2e"

    def __str__(self) -> str:
        return f"row #{self.pk}"
