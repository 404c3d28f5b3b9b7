"""URLs of the shop."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("live/", views.live_orders),
    path("login/", views.log_in),
    path("orders/", views.place_order),
    path("orders/<int:order_id>/", views.order_detail),
    path("orders/<int:order_id>/ship/", views.ship_order),
]
