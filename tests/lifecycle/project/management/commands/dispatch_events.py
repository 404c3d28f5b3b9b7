"""``manage.py dispatch_events COUNT``: dispatch COUNT events and return without draining."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tests.lifecycle.records import dispatch


class Command(BaseCommand):
    help = "Dispatch COUNT lifecycle events (command-0 ...) and return; they are handled at exit."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("count", type=int)

    def handle(self, *args: Any, count: int, **options: Any) -> None:
        dispatch(*(f"command-{number}" for number in range(count)))
