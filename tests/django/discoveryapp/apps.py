"""The app configuration of the 1.0 README: ``ready()`` imports the observers itself."""

from __future__ import annotations

from django.apps import AppConfig


class DiscoveryAppConfig(AppConfig):
    name = "tests.django.discoveryapp"
    label = "discoveryapp"

    def ready(self) -> None:
        import tests.django.discoveryapp.observers  # noqa: F401 - the 1.0 way; autodiscovery must not double it
