"""The outbox in the Django admin: its rows to read, and failing ones to try again at once.

``django.contrib.admin`` imports this module when it is installed (its autodiscovery); the
models are registered on the default site only then. :func:`register` registers them on another
site.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from django.apps import apps
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .models import OutboxMessage, ProcessedMessage

__all__ = ["OutboxMessageAdmin", "ProcessedMessageAdmin", "register"]

if TYPE_CHECKING:
    # The option types of django-stubs, which the options below restate (they are invariant).
    from django.contrib.admin.options import (
        _ActionCallable,  # pyright: ignore[reportPrivateUsage]
        _ListDisplayT,  # pyright: ignore[reportPrivateUsage]
        _ListFilterT,  # pyright: ignore[reportPrivateUsage]
    )
    from django.db.models.query import _OrderByFieldName  # pyright: ignore[reportPrivateUsage]
    from django.utils.datastructures import _ListOrTuple  # pyright: ignore[reportPrivateUsage]
    from django_stubs_ext import StrOrPromise

    _OutboxMessageAdmin = admin.ModelAdmin[OutboxMessage]
    _ProcessedMessageAdmin = admin.ModelAdmin[ProcessedMessage]
else:  # ModelAdmin is generic for the type checker only
    _OutboxMessageAdmin = _ProcessedMessageAdmin = admin.ModelAdmin


class StateFilter(admin.SimpleListFilter):
    """Pending (failing ones included), failing, or sent."""

    title: StrOrPromise | None = "state"
    parameter_name: str | None = "state"

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

    list_display: _ListDisplayT[OutboxMessage] = (
        "id",
        "event_name",
        "handler",
        "state",
        "attempts",
        "created_at",
        "available_at",
        "sent_at",
    )
    list_filter: ClassVar[_ListOrTuple[_ListFilterT]] = (StateFilter, "handler")
    search_fields: ClassVar[_ListOrTuple[str]] = ("event_id", "event_name", "handler")
    readonly_fields: ClassVar[_ListOrTuple[str]] = _fields(OutboxMessage)
    ordering: ClassVar[_ListOrTuple[_OrderByFieldName] | None] = ("-id",)
    actions: Sequence[_ActionCallable[admin.ModelAdmin[OutboxMessage], OutboxMessage] | str] | None = ("publish_now",)

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

    list_display: _ListDisplayT[ProcessedMessage] = ("event_id", "handler", "processed_at")
    search_fields: ClassVar[_ListOrTuple[str]] = ("event_id", "handler")
    readonly_fields: ClassVar[_ListOrTuple[str]] = _fields(ProcessedMessage)
    ordering: ClassVar[_ListOrTuple[_OrderByFieldName] | None] = ("-processed_at",)

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
