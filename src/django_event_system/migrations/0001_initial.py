from collections.abc import Sequence
from typing import ClassVar

import django.utils.timezone
from django.db import migrations, models
from django.db.migrations.operations.base import Operation


class Migration(migrations.Migration):
    initial: ClassVar[bool | None] = True

    dependencies: ClassVar[Sequence[tuple[str, str]]] = []

    operations: ClassVar[Sequence[Operation]] = [
        migrations.CreateModel(
            name="OutboxMessage",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("event_id", models.CharField(max_length=64)),
                ("event_name", models.TextField()),
                ("handler", models.CharField(help_text="The queued handler's key, module:qualname.", max_length=255)),
                ("queue", models.CharField(blank=True, max_length=255, null=True)),
                ("body", models.TextField(help_text="The JSON message the worker receives.")),
                (
                    "available_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, help_text="When the relay may publish it (again)."
                    ),
                ),
                ("attempts", models.PositiveIntegerField(default=0, help_text="Publishes that failed so far.")),
                ("last_error", models.TextField(blank=True, default="")),
                ("sent_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "verbose_name": "outbox message",
                "indexes": [
                    models.Index(
                        condition=models.Q(("sent_at__isnull", True)), fields=["id"], name="des_outbox_pending"
                    ),
                    models.Index(fields=["sent_at"], name="des_outbox_sent"),
                ],
            },
        ),
        migrations.CreateModel(
            name="ProcessedMessage",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("event_id", models.CharField(max_length=64)),
                ("handler", models.CharField(max_length=255)),
                ("processed_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
            ],
            options={
                "verbose_name": "processed message",
                "constraints": [models.UniqueConstraint(fields=("event_id", "handler"), name="des_processed_once")],
            },
        ),
    ]
