"""Models of the Tasks framework tests: orders, and what the queued handlers did with them."""

from __future__ import annotations

from django.db import models


class Order(models.Model):
    reference = models.CharField(max_length=50)


class Receipt(models.Model):
    """One row per call of a queued handler (``kind`` says which), written by the worker."""

    kind = models.CharField(max_length=20)
    reference = models.CharField(max_length=50)
    event_id = models.CharField(max_length=64)
    attempt = models.IntegerField(default=0)
