"""The shop's models."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.db import models


class Order(models.Model):
    """An order placed by a customer."""

    # The fields' types, spelt out for a type checker without django-stubs' mypy plugin (pyright).
    customer: models.CharField[str, str] = models.CharField(max_length=100)
    item: models.CharField[str, str] = models.CharField(max_length=100)
    quantity: models.PositiveIntegerField[int, int] = models.PositiveIntegerField(default=1)
    total: models.DecimalField[Decimal, Decimal] = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0.00")
    )
    status: models.CharField[str, str] = models.CharField(max_length=20, default="placed")
    confirmation_sent: models.BooleanField[bool, bool] = models.BooleanField(default=False)

    objects: ClassVar[models.Manager[Order]] = models.Manager()

    def __str__(self) -> str:
        return f"order #{self.pk} ({self.quantity} x {self.item})"
