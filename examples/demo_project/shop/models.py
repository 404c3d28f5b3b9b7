"""The shop's models."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.db import models


class Order(models.Model):
    """An order placed by a customer."""

    customer = models.CharField(max_length=100)
    item = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField(default=1)
    total = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    status = models.CharField(max_length=20, default="placed")
    confirmation_sent = models.BooleanField(default=False)

    objects: ClassVar[models.Manager[Order]] = models.Manager()

    def __str__(self) -> str:
        return f"order #{self.pk} ({self.quantity} x {self.item})"
