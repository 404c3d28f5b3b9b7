"""``manage.py events``: what listens to what, and the outbox.

- ``events list [--json]``: every pattern with its handlers, the models that dispatch model events,
  the signals mapped to events;
- ``events match NAME``: the handlers that NAME reaches, in the order they run;
- ``events relay [--once] [--interval SECONDS]``: publish the outbox's committed rows;
- ``events outbox``: how many rows are pending, failing and sent;
- ``events make event|listener|observer|subscriber NAME --app APP``: write a typed stub into the
  app's ``events``, ``listeners`` or ``observers`` module (see ``_generators``).

The JSON of ``list --json`` (``"version": 1``; keys are only ever added)::

    {
      "version": 1,
      "handlers": [{"pattern": str, "handler": str, "priority": int, "once": bool, "weak": bool,
                    "after_commit": bool, "queued": bool, "outbox": bool, "inline": bool}, ...],
      "models": [{"model": str, "events": str, "observers": [str, ...], "track_changes": bool}, ...],
      "signals": [{"signal": str, "event": str, "sender": str | null}, ...],
      "subscribers": [{"subscriber": str, "handlers": [{"method": str, "pattern": str}, ...]}, ...]
    }

An Observer's inline hooks (``@on("creating", inline=True)``) are listed with the handlers of
their event, marked ``inline`` (``"inline": true``), before the others: they run first, in the
stack of the code that saves.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
from collections import defaultdict
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ..core import Dispatcher, QueuedHandler, Registration, current_transport, describe_handler
from ..core.integration import subscribers
from ._generators import KINDS, generate
from ._inline import InlineHook
from ._models import bindings
from ._observer import observers
from ._outbox import Relay, outbox_stats
from ._queued import queued_settings
from ._signals import describe_signal, mappings
from ._transactions import MODEL_EVENT_PREFIX, wants_after_commit

JSON_VERSION = 1


def _flags(registration: Registration) -> dict[str, Any]:
    handler = registration.handler
    return {
        "priority": registration.priority,
        "once": registration.once,
        "weak": registration.weak,
        "after_commit": registration.after_commit or wants_after_commit(handler),
        "queued": isinstance(handler, QueuedHandler),
        "outbox": isinstance(handler, QueuedHandler) and handler.uses_outbox,
    }


def _inline_flags(hook: InlineHook) -> dict[str, Any]:
    return {
        "priority": hook.priority,
        "once": False,
        "weak": False,
        "after_commit": False,
        "queued": False,
        "outbox": False,
        "inline": True,
    }


def _inline_hooks() -> dict[str, list[InlineHook]]:
    """The inline hooks of the Observers on the global Dispatcher, by the pattern of their event."""
    by_pattern: dict[str, list[InlineHook]] = defaultdict(list)
    for binding in bindings():
        for hooks in binding.inline.values():
            for hook in hooks:
                if hook.dispatcher is Dispatcher:
                    by_pattern[re.escape(hook.event)].append(hook)
    return by_pattern


def _subscribers() -> list[Any]:
    """The EventSubscribers of the global Dispatcher (the one the listing shows)."""
    return [subscriber for subscriber in subscribers() if subscriber.dispatcher is Dispatcher]


def _method_of(registration: Registration) -> str:
    """The subscriber method a registration calls."""
    handler: object = registration.handler
    if isinstance(handler, QueuedHandler):
        handler = handler.target
    return str(getattr(handler, "method", describe_handler(handler)))


def _options(registration: Registration | InlineHook) -> str:
    flags = _inline_flags(registration) if isinstance(registration, InlineHook) else _flags(registration)
    words = [f"priority={flags.pop('priority')}", *(name for name, on in flags.items() if on)]
    return "  ".join(words)


def _described(registration: Registration | InlineHook) -> str:
    if isinstance(registration, InlineHook):
        return describe_handler(registration)
    return describe_handler(registration.handler)


def _age(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


@contextmanager
def _stop_on_signals() -> Generator[list[int], None, None]:
    """SIGTERM and SIGINT ask to stop (the list gets the signal); the previous handlers come back after."""
    received: list[int] = []

    def ask_to_stop(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = {signum: signal.signal(signum, ask_to_stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class EventsCommand(BaseCommand):
    """``manage.py events``: ``list [--json]``, ``match NAME``, ``relay [--once] [--interval SECONDS]``,
    ``outbox`` and ``make KIND NAME --app APP``.

    Django finds it as ``django_event_system.management.commands.events.Command``; the module
    docstring above gives the shape of ``list --json``.
    """

    help = "List the event handlers, show which handlers a name reaches, relay the outbox or count its rows."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        subcommands = parser.add_subparsers(dest="subcommand", metavar="{list,match,relay,outbox,make}")
        subcommands.required = True
        listing = subcommands.add_parser("list", help="every pattern with its handlers, the model events and signals")
        listing.add_argument("--json", action="store_true", help="print the listing as JSON (see the command's doc)")
        match = subcommands.add_parser("match", help="the handlers that an event name reaches, in the order they run")
        match.add_argument("name", help="an event name, e.g. events::db::shop::models::Order::created")
        relay = subcommands.add_parser(
            "relay", help="publish the outbox's committed rows until SIGTERM or SIGINT (or once, with --once)"
        )
        relay.add_argument("--once", action="store_true", help="publish the rows pending now, then exit")
        relay.add_argument(
            "--interval", type=float, default=0.5, help="seconds between two looks when nothing is due (0.5)"
        )
        subcommands.add_parser("outbox", help="how many outbox rows are pending, failing and sent")
        make = subcommands.add_parser(
            "make", help="write a typed stub of an event, listener, observer or subscriber into an app"
        )
        make.add_argument("kind", help=f"what to make: {', '.join(KINDS)}")
        make.add_argument("name", help="the class's name, e.g. OrderPlaced")
        make.add_argument(
            "--app", required=True, help="the app's label: the stub goes into its events, listeners or observers module"
        )
        make.add_argument("--model", help="an observer's model: a model of the app, or app_label.Model")
        make.add_argument(
            "--event",
            help="the Event class a listener or subscriber handles (in the app's events module, or a dotted path)",
        )
        make.add_argument("--actions", help="an observer's actions, separated by commas (created,updated,deleted)")

    def handle(self, *args: Any, **options: Any) -> None:
        subcommand = options["subcommand"]
        if subcommand == "match":
            self._match(options["name"])
        elif subcommand == "relay":
            self._relay(once=options["once"], interval=options["interval"])
        elif subcommand == "outbox":
            self._outbox()
        elif subcommand == "make":
            self._make(options)
        elif options["json"]:
            self.stdout.write(json.dumps(self._listing(), indent=2))
        else:
            self._list()

    # -- list and match ----------------------------------------------------------------------

    def _by_pattern(self) -> dict[str, list[Registration | InlineHook]]:
        """The handlers by pattern; under each, the inline hooks first (they run first)."""
        by_pattern: dict[str, list[Registration | InlineHook]] = defaultdict(list)
        for pattern, hooks in _inline_hooks().items():
            by_pattern[pattern].extend(hooks)
        for registration in Dispatcher.registry:
            by_pattern[registration.pattern].append(registration)
        return dict(sorted(by_pattern.items()))

    def _observed_by(self) -> dict[Any, list[str]]:
        by_model: dict[Any, list[str]] = defaultdict(list)
        for observer in observers():
            model = observer.observes  # pyright: ignore[reportGeneralTypeIssues] - set on the class
            by_model[model].append(f"{observer.__module__}:{observer.__qualname__}")
        return by_model

    def _listing(self) -> dict[str, Any]:
        by_model = self._observed_by()
        return {
            "version": JSON_VERSION,
            "handlers": [
                {"pattern": pattern, "handler": describe_handler(hook), **_inline_flags(hook)}
                if isinstance(hook, InlineHook)
                else {
                    "pattern": pattern,
                    "handler": describe_handler(hook.handler),
                    **_flags(hook),
                    "inline": False,
                }
                for pattern, registrations in self._by_pattern().items()
                for hook in registrations
            ],
            "models": [
                {
                    "model": binding.model._meta.label,
                    "events": binding.names["created"].rsplit("::", 1)[0] + "::<action>",
                    "observers": by_model.get(binding.model, []),
                    "track_changes": binding.track_changes,
                }
                for binding in bindings()
            ],
            "signals": [
                {
                    "signal": describe_signal(mapping.signal),
                    "event": mapping.target,
                    "sender": None if mapping.sender is None else repr(mapping.sender),
                }
                for mapping in mappings()
            ],
            "subscribers": [
                {
                    "subscriber": f"{subscriber.__module__}:{subscriber.__qualname__}",
                    "handlers": [{"method": _method_of(r), "pattern": r.pattern} for r in subscriber.registrations],
                }
                for subscriber in _subscribers()
            ],
        }

    def _list(self) -> None:
        handlers: list[str] = []
        for pattern, registrations in self._by_pattern().items():
            handlers.append(f"  {pattern}")
            handlers.extend(
                f"      {_described(registration)}  {_options(registration)}" for registration in registrations
            )
        by_model = self._observed_by()
        models: list[str] = []
        for binding in bindings():
            prefix = binding.names["created"].rsplit("::", 1)[0]
            observed_by = ", ".join(by_model.get(binding.model, [])) or "RegisterSignalsFor"
            tracked = "  track_changes" if binding.track_changes else ""
            models.append(f"  {binding.model._meta.label}  {prefix}::<action>  ({observed_by}){tracked}")
        signals = [
            f"  {describe_signal(mapping.signal)} -> {mapping.target}"
            + ("" if mapping.sender is None else f"  sender={mapping.sender!r}")
            for mapping in mappings()
        ]
        inline = sum(len(hooks) for hooks in _inline_hooks().values())
        counted = f"{len(Dispatcher.registry)}" + (f", and {inline} inline" if inline else "")
        self._section(f"Handlers ({counted}), by pattern:", handlers)
        self.stdout.write("")
        self._section(f"Models that dispatch {MODEL_EVENT_PREFIX}<model>::<action>:", models)
        self.stdout.write("")
        self._section("Signals mapped to events:", signals)
        self.stdout.write("")
        self._section(
            "Subscribers:",
            [
                f"  {subscriber.__module__}:{subscriber.__qualname__}  "
                + ", ".join(f"{_method_of(r)} <- {r.pattern}" for r in subscriber.registrations)
                for subscriber in _subscribers()
            ],
        )

    def _section(self, heading: str, lines: list[str]) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(heading))
        for line in lines or ["  (none)"]:
            self.stdout.write(line)

    def _match(self, name: str) -> None:
        if not name:
            raise CommandError(f"give an event name, e.g. {MODEL_EVENT_PREFIX}shop::models::Order::created")
        hooks = [hook for pattern, found in _inline_hooks().items() if re.fullmatch(pattern, name) for hook in found]
        registrations: list[Registration | InlineHook] = [*hooks, *Dispatcher.registry.registrations_for(name)]
        if not registrations:
            self.stdout.write(f"No handler receives {name!r}.")
            return
        count = len(registrations)
        self.stdout.write(f"{name!r} reaches {count} handler{'s' if count > 1 else ''}, in this order:")
        for position, registration in enumerate(registrations, 1):
            pattern = re.escape(registration.event) if isinstance(registration, InlineHook) else registration.pattern
            self.stdout.write(
                f"  {position}. {_described(registration)}  (pattern {pattern!r}, {_options(registration)})"
            )

    # -- generators ------------------------------------------------------------------------------

    def _make(self, options: dict[str, Any]) -> None:
        made = generate(
            options["kind"],
            options["name"],
            app_label=options["app"],
            model=options["model"],
            event=options["event"],
            actions=options["actions"],
        )
        where = "created" if made.created else "added to"
        try:
            shown = made.path.relative_to(Path.cwd())
        except ValueError:
            shown = made.path
        self.stdout.write(f"{made.name}: {where} {shown} ({made.module})")

    # -- the outbox --------------------------------------------------------------------------

    def _relay(self, *, once: bool, interval: float) -> None:
        if not interval > 0:
            raise CommandError(f"--interval must be a positive number of seconds, not {interval!r}")
        transport = current_transport()
        if transport is None:
            raise CommandError(
                "no transport is configured to publish the outbox: set DJANGO_EVENT_SYSTEM['QUEUED']['TRANSPORT']"
            )
        relay = Relay.from_settings(transport, queued_settings())
        sharing = (
            "batches are locked (SKIP LOCKED): relays may run side by side"
            if relay.locks_rows
            else "this database cannot skip locked rows: run one relay"
        )
        self.stdout.write(f"Relaying the outbox of database {relay.using!r} through {transport!r}; {sharing}.")
        with _stop_on_signals() as received:
            result = relay.run(once=once, interval=interval, should_stop=lambda: bool(received))
        stopped = f" (stopped by {signal.Signals(received[0]).name})" if received else ""
        self.stdout.write(f"Published {result.published} message(s); {result.failed} publish(es) failed{stopped}.")
        if once and result.failed:
            raise CommandError(
                f"the relay could not publish ({result.errors[-1]}); the rows are tried again after their backoff"
            )

    def _outbox(self) -> None:
        options = queued_settings()
        stats = outbox_stats(options["DATABASE"])
        now = timezone.now()
        write = self.stdout.write
        write(self.style.MIGRATE_HEADING(f"Outbox of database {options['DATABASE']!r}:"))
        oldest = ""
        if stats.oldest_pending is not None:
            oldest = f", the oldest written {_age((now - stats.oldest_pending).total_seconds())} ago"
        write(f"  pending  {stats.pending}{oldest}")
        write(f"  failing  {stats.failing}")
        write(f"  sent     {stats.sent} (kept {_age(options['OUTBOX_KEEP_SENT'])})")
        if stats.failures:
            write(self.style.MIGRATE_HEADING("Failing rows:"))
        for row_id, event_name, handler, attempts, next_try, error in stats.failures:
            wait = max((next_try - now).total_seconds(), 0.0)
            write(f"  #{row_id}  {event_name} -> {handler}  attempts={attempts}  next try in {_age(wait)}  {error}")
