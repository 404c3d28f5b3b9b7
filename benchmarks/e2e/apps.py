"""The benchmark's app: connects the ``signal`` variant's receiver."""

from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_save

from . import current_variant


class E2EConfig(AppConfig):
    """The app of the end-to-end benchmark (label ``e2e``)."""

    name = "benchmarks.e2e"
    label = "e2e"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        if current_variant() in ("observer", "bounded"):
            from .views import watch_the_queue

            watch_the_queue()
        if current_variant() == "signal":
            from .handler import on_post_save
            from .models import Row

            post_save.connect(on_post_save, sender=Row, dispatch_uid="e2e:slow_io")
