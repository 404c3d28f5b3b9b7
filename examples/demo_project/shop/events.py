"""The shop's events: classes with typed payloads."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser

from django_event_system import Event


class OrderPlaced(Event):
    """A customer placed an order: ``OrderPlaced.Dispatch(order_id=..., customer=..., total=...)``."""

    Name = "shop::order::placed"

    order_id: int
    customer: str
    total: Decimal


class CustomerLoggedIn(Event):
    """Built from Django's ``user_logged_in`` signal (see listeners.py), which sends ``user``."""

    user: AbstractBaseUser
