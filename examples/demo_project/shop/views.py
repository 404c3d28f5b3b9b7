"""The shop's views. They dispatch and answer at once; the handlers run after the response."""

from __future__ import annotations

import json
from decimal import Decimal

from django.contrib.auth import login
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from .events import OrderPlaced
from .models import Order

PRICES = {"book": Decimal("12.50"), "pen": Decimal("1.90")}


def _order_json(order: Order) -> dict[str, object]:
    return {
        "order": order.pk,
        "item": order.item,
        "quantity": order.quantity,
        "status": order.status,
        "confirmation_sent": order.confirmation_sent,
    }


def log_in(request: HttpRequest) -> JsonResponse:
    """Log the demo customer in: Django sends ``user_logged_in``."""
    user, _ = User.objects.get_or_create(username="alice")
    login(request, user)
    return JsonResponse({"user": user.get_username()})


def place_order(request: HttpRequest) -> JsonResponse:
    """Create an order and dispatch OrderPlaced; answer without waiting for the handlers."""
    data = json.loads(request.body)
    item, quantity = str(data["item"]), int(data["quantity"])
    with transaction.atomic():
        order: Order = Order.objects.create(
            customer="alice", item=item, quantity=quantity, total=PRICES.get(item, Decimal("1.00")) * quantity
        )
    # Dispatched once committed: its handlers run in other greenlets, on their own connections.
    OrderPlaced.Dispatch(order_id=order.pk, customer=order.customer, total=order.total)
    return JsonResponse(_order_json(order), status=201)


def order_detail(request: HttpRequest, order_id: int) -> JsonResponse:
    """An order as it is now."""
    order: Order = Order.objects.get(pk=order_id)
    return JsonResponse(_order_json(order))


def ship_order(request: HttpRequest, order_id: int) -> JsonResponse:
    """Mark an order shipped: its Observer learns which fields changed."""
    order: Order = Order.objects.get(pk=order_id)
    order.status = "shipped"
    order.save()
    return JsonResponse(_order_json(order))


def live_orders(request: HttpRequest) -> HttpResponse:
    """The live orders page: the orders so far, then each one as it is placed and shipped, over the
    websocket (``/ws/events/``, served by ``live.py``)."""
    return render(request, "shop/live.html", {"orders": Order.objects.order_by("pk")})
