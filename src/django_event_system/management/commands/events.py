"""``manage.py events list`` and ``manage.py events match NAME``: what listens to what."""

from __future__ import annotations

import argparse
from collections import defaultdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from django_event_system.core import Dispatcher, Registration, describe_handler
from django_event_system.django._models import bindings
from django_event_system.django._observer import observers
from django_event_system.django._signals import describe_signal, mappings
from django_event_system.django._transactions import wants_after_commit


def _options(registration: Registration) -> str:
    options = [f"priority={registration.priority}"]
    if registration.once:
        options.append("once")
    if registration.weak:
        options.append("weak")
    if wants_after_commit(registration.handler):
        options.append("after_commit")
    return "  ".join(options)


class Command(BaseCommand):
    help = "List the registered event handlers, or show which handlers an event name reaches."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        subcommands = parser.add_subparsers(dest="subcommand", metavar="{list,match}")
        subcommands.required = True
        subcommands.add_parser("list", help="every pattern with its handlers, model events and mapped signals")
        match = subcommands.add_parser("match", help="the handlers that an event name reaches, in the order they run")
        match.add_argument("name", help="an event name, e.g. events::db::shop::models::Order::created")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "match":
            self._match(options["name"])
        else:
            self._list()

    def _list(self) -> None:
        by_pattern: dict[str, list[Registration]] = defaultdict(list)
        for registration in Dispatcher.registry:
            by_pattern[registration.pattern].append(registration)
        write = self.stdout.write
        write(self.style.MIGRATE_HEADING(f"Handlers ({len(Dispatcher.registry)}), by pattern:"))
        if not by_pattern:
            write("  (none)")
        for pattern in sorted(by_pattern):
            write(f"  {pattern}")
            for registration in by_pattern[pattern]:
                write(f"      {describe_handler(registration.handler)}  {_options(registration)}")
        write("")
        write(self.style.MIGRATE_HEADING("Models that dispatch events::db::<model>::<action>:"))
        model_bindings = bindings()
        if not model_bindings:
            write("  (none)")
        by_model = defaultdict(list)
        for observer in observers():
            by_model[observer.observes].append(f"{observer.__module__}:{observer.__qualname__}")
        for binding in model_bindings:
            prefix = binding.names["created"].rsplit("::", 1)[0]
            observed_by = ", ".join(by_model.get(binding.model, [])) or "RegisterSignalsFor"
            tracked = "  track_changes" if binding.track_changes else ""
            write(f"  {binding.model._meta.label}  {prefix}::<action>  ({observed_by}){tracked}")
        write("")
        write(self.style.MIGRATE_HEADING("Signals mapped to events:"))
        signal_mappings = mappings()
        if not signal_mappings:
            write("  (none)")
        for mapping in signal_mappings:
            sender = "" if mapping.sender is None else f"  sender={mapping.sender!r}"
            write(f"  {describe_signal(mapping.signal)} -> {mapping.target}{sender}")

    def _match(self, name: str) -> None:
        if not name:
            raise CommandError("give an event name, e.g. events::db::shop::models::Order::created")
        registrations = Dispatcher.registry.registrations_for(name)
        if not registrations:
            self.stdout.write(f"No handler receives {name!r}.")
            return
        count = len(registrations)
        self.stdout.write(f"{name!r} reaches {count} handler{'s' if count > 1 else ''}, in this order:")
        for position, registration in enumerate(registrations, 1):
            self.stdout.write(
                f"  {position}. {describe_handler(registration.handler)}  "
                f"(pattern {registration.pattern!r}, {_options(registration)})"
            )
