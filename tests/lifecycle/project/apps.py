"""The lifecycle project as an app, so that its listeners, observers and command are found."""

from __future__ import annotations

from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    name = "tests.lifecycle.project"
    label = "lifecycle"
