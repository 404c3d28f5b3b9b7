"""The outbox in the Django admin: its rows to read, and failing ones to try again at once.

``django.contrib.admin`` imports this module when it is installed (its autodiscovery); the
models are registered on the default site only then. :func:`register` registers them on another
site.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .models import OutboxMessage, ProcessedMessage

__all__ = ["OutboxMessageAdmin", "ProcessedMessageAdmin", "register"]

if TYPE_CHECKING:
    _OutboxMessageAdmin = admin.ModelAdmin[OutboxMessage]
    _ProcessedMessageAdmin = admin.ModelAdmin[ProcessedMessage]
else:  # ModelAdmin is generic for the type checker only
    _OutboxMessageAdmin = _ProcessedMessageAdmin = admin.ModelAdmin


class StateFilter(admin.SimpleListFilter):
    """Pending (failing ones included), failing, or sent."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("pending", "pending"), ("failing", "failing"), ("sent", "sent")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> QuerySet[OutboxMessage]:
        conditions = {
            "pending": Q(sent_at__isnull=True),
            "failing": Q(sent_at__isnull=True, attempts__gt=0),
            "sent": Q(sent_at__isnull=False),
        }
        condition = conditions.get(self.value() or "")
        return queryset if condition is None else queryset.filter(condition)


def _fields(model: Any) -> tuple[str, ...]:
    return tuple(field.name for field in model._meta.fields)


class OutboxMessageAdmin(_OutboxMessageAdmin):
    """Rows are written by dispatches and updated by the relay: here they are only read.

    The one action, *Publish at the next batch*, makes failing rows due at once.
    """

    list_display = ("id", "event_name", "handler", "state", "attempts", "created_at", "available_at", "sent_at")
    list_filter = (StateFilter, "handler")
    search_fields = ("event_id", "event_name", "handler")
    readonly_fields = _fields(OutboxMessage)
    ordering = ("-id",)
    actions = ("publish_now",)

    @admin.display(description="state")
    def state(self, row: OutboxMessage) -> str:
        if row.sent_at is not None:
            return "sent"
        return "failing" if row.attempts else "pending"

    @admin.action(description="Publish at the relay's next batch", permissions=["change"])
    def publish_now(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        due = queryset.filter(sent_at__isnull=True).update(available_at=timezone.now())
        self.message_user(request, f"{due} message(s) will be published at the relay's next batch.")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class ProcessedMessageAdmin(_ProcessedMessageAdmin):
    """The worker's records of the outbox messages it ran: read only."""

    list_display = ("event_id", "handler", "processed_at")
    search_fields = ("event_id", "handler")
    readonly_fields = _fields(ProcessedMessage)
    ordering = ("-processed_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def register(site: admin.AdminSite) -> None:
    """Register the outbox's models on ``site``."""
    site.register(OutboxMessage, OutboxMessageAdmin)
    site.register(ProcessedMessage, ProcessedMessageAdmin)


if apps.is_installed("django.contrib.admin"):
    register(admin.site)
