"""Tests for the outbox's models in the admin, and for their migration."""

from __future__ import annotations

import datetime
from io import StringIO
from unittest import mock

import pytest
from django.contrib.admin import AdminSite
from django.core.management import call_command
from django.test import RequestFactory
from django.utils import timezone

from django_event_system.admin import OutboxMessageAdmin, ProcessedMessageAdmin, StateFilter, register
from django_event_system.models import OutboxMessage, ProcessedMessage


@pytest.fixture
def site() -> AdminSite:
    """An admin site of the test's own, with the outbox registered."""
    admin_site = AdminSite(name="outbox-tests")
    register(admin_site)
    return admin_site


def test_the_models_are_registered_read_only(site: AdminSite) -> None:
    """Both models are registered; nothing can be added, every field is read-only, the admin checks pass."""
    outbox = site._registry[OutboxMessage]
    processed = site._registry[ProcessedMessage]
    assert isinstance(outbox, OutboxMessageAdmin)
    assert isinstance(processed, ProcessedMessageAdmin)
    request = RequestFactory().get("/")
    assert not outbox.has_add_permission(request)
    assert not processed.has_add_permission(request)
    assert not processed.has_change_permission(request)
    assert set(outbox.readonly_fields) == {field.name for field in OutboxMessage._meta.fields}
    assert outbox.check() == []
    assert processed.check() == []


@pytest.mark.django_db
def test_the_state_column_and_filter_tell_pending_failing_and_sent_apart(site: AdminSite) -> None:
    """A row is pending, failing (its last publish failed) or sent, in the column and in the filter."""
    pending = OutboxMessage.objects.create(event_id="a", event_name="e", handler="h", body="{}")
    failing = OutboxMessage.objects.create(event_id="b", event_name="e", handler="h", body="{}", attempts=2)
    sent = OutboxMessage.objects.create(event_id="c", event_name="e", handler="h", body="{}", sent_at=timezone.now())
    outbox = site._registry[OutboxMessage]
    assert isinstance(outbox, OutboxMessageAdmin)
    assert [outbox.state(row) for row in (pending, failing, sent)] == ["pending", "failing", "sent"]
    request = RequestFactory().get("/")
    for value, expected in [("pending", [pending, failing]), ("failing", [failing]), ("sent", [sent])]:
        state = StateFilter(request, {"state": [value]}, OutboxMessage, outbox)
        assert list(state.queryset(request, OutboxMessage.objects.order_by("id"))) == expected


@pytest.mark.django_db
def test_the_action_makes_unsent_rows_due_at_once(site: AdminSite) -> None:
    """*Publish at the relay's next batch* moves the next try of unsent rows to now, and leaves sent rows."""
    later = timezone.now() + datetime.timedelta(hours=1)
    failing = OutboxMessage.objects.create(
        event_id="a", event_name="e", handler="h", body="{}", attempts=3, available_at=later
    )
    sent = OutboxMessage.objects.create(
        event_id="b", event_name="e", handler="h", body="{}", available_at=later, sent_at=timezone.now()
    )
    outbox = site._registry[OutboxMessage]
    assert isinstance(outbox, OutboxMessageAdmin)
    with mock.patch.object(outbox, "message_user") as message_user:
        outbox.publish_now(RequestFactory().post("/"), OutboxMessage.objects.all())
    failing.refresh_from_db()
    sent.refresh_from_db()
    assert failing.available_at <= timezone.now() < sent.available_at
    assert message_user.call_args.args[1] == "1 message(s) will be published at the relay's next batch."


@pytest.mark.django_db
def test_the_migration_matches_the_models() -> None:
    """makemigrations finds nothing to add for the app."""
    output = StringIO()
    call_command("makemigrations", "django_event_system", "--check", "--dry-run", stdout=output)
    assert "No changes detected" in output.getvalue()
