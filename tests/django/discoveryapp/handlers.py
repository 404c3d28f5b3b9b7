"""Found only when AUTODISCOVER_MODULES names "handlers"."""

from __future__ import annotations

from django_event_system import Dispatcher

heard: list[str] = []


@Dispatcher.listen("custom::.*")
def on_custom(name: str) -> None:
    heard.append(name)
