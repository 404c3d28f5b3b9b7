"""The ``DJANGO_EVENT_SYSTEM`` setting: defaults in one place, read on every access.

Every option is read from ``django.conf.settings`` when it is used, so ``override_settings``
works. A bad value raises :class:`~django.core.exceptions.ImproperlyConfigured` where it is read,
and the system checks (``manage.py check``) report it with the option's stable id.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ..core import Dispatcher, ErrorPolicy, FullPolicy, configure
from ..core.integration import DEFAULT_MAX_DEPTH, DEFAULT_POOL_SIZE
from ._queued import check_queued_setting, install_queued

__all__ = ["OPTIONS", "SETTING_NAME", "EventSystemSettings", "apply_settings", "conf"]

logger = logging.getLogger("django_event_system.django")

SETTING_NAME = "DJANGO_EVENT_SYSTEM"

Mode = Literal["async", "sync"]
Drain = Literal["auto"] | bool


def _is_bool(value: object) -> str | None:
    return None if isinstance(value, bool) else f"must be True or False, not {value!r}"


def _is_positive_int(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return None
    return f"must be a positive int, not {value!r}"


def _check_mode(value: object) -> str | None:
    return None if value in ("async", "sync") else f"must be 'async' or 'sync', not {value!r}"


def _check_error_policy(value: object) -> str | None:
    if value in ("log", "raise") or (callable(value) and not isinstance(value, str)):
        return None
    if isinstance(value, str) and "." in value:
        try:
            policy = import_string(value)
        except ImportError as exc:
            return f"names {value!r}, which cannot be imported ({exc})"
        return None if callable(policy) else f"names {value!r}, which is not callable"
    return f"must be 'log', 'raise', a callable or the dotted path of one, not {value!r}"


def _check_modules(value: object) -> str | None:
    if isinstance(value, (list, tuple)) and all(
        isinstance(item, str) and item.isidentifier() for item in cast("Sequence[object]", value)
    ):
        return None
    return f"must be a list of module names (like ['observers', 'listeners']), not {value!r}"


def _check_drain(value: object) -> str | None:
    return None if value == "auto" or isinstance(value, bool) else f"must be 'auto', True or False, not {value!r}"


def _check_timeout(value: object) -> str | None:
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0):
        return None
    return f"must be None or a positive number of seconds, not {value!r}"


def _check_max_pending(value: object) -> str | None:
    if value is None or _is_positive_int(value) is None:
        return None
    return f"must be None or a positive int, not {value!r}"


def _check_on_full(value: object) -> str | None:
    return None if value in ("block", "raise") else f"must be 'block' or 'raise', not {value!r}"


@dataclass(frozen=True)
class Option:
    """One key of ``DJANGO_EVENT_SYSTEM``: its default, its check id and its validator."""

    key: str
    default: object
    check_id: str
    validate: Callable[[object], str | None]
    hint: str


OPTIONS: Mapping[str, Option] = {
    option.key: option
    for option in (
        Option(
            "MODE",
            "async",
            "django_event_system.E003",
            _check_mode,
            "'async' queues events for delivery greenlets; 'sync' runs handlers inside Dispatch.",
        ),
        Option(
            "POOL_SIZE",
            DEFAULT_POOL_SIZE,
            "django_event_system.E004",
            _is_positive_int,
            "The most events handled at once per thread, e.g. 100.",
        ),
        Option(
            "ERROR_POLICY",
            "log",
            "django_event_system.E005",
            _check_error_policy,
            "Use 'log', 'raise', or the dotted path of a callable that takes a HandlerFailure.",
        ),
        Option(
            "AUTODISCOVER",
            True,
            "django_event_system.E006",
            _is_bool,
            "True imports the AUTODISCOVER_MODULES of every installed app at start-up.",
        ),
        Option(
            "AUTODISCOVER_MODULES",
            ("observers", "listeners"),
            "django_event_system.E007",
            _check_modules,
            "Module names looked up in every installed app, e.g. ['observers', 'listeners'].",
        ),
        Option(
            "DRAIN_ON_REQUEST_FINISHED",
            "auto",
            "django_event_system.E008",
            _check_drain,
            "'auto' drains after each request unless gevent has monkey-patched the process.",
        ),
        Option(
            "DRAIN_TIMEOUT",
            None,
            "django_event_system.E009",
            _check_timeout,
            "Seconds a finished request waits for its events at most; None waits until they are handled.",
        ),
        Option(
            "CLOSE_OLD_CONNECTIONS",
            True,
            "django_event_system.E010",
            _is_bool,
            "True closes the database connections that delivery greenlets opened once they are done.",
        ),
        Option(
            "MAX_DEPTH",
            DEFAULT_MAX_DEPTH,
            "django_event_system.E011",
            _is_positive_int,
            "How deep handlers may dispatch events that dispatch events, e.g. 100.",
        ),
        Option(
            "MAX_PENDING",
            None,
            "django_event_system.E013",
            _check_max_pending,
            "The most events waiting in one thread's queue, e.g. 10000; None sets no bound.",
        ),
        Option(
            "ON_FULL",
            "block",
            "django_event_system.E014",
            _check_on_full,
            "'block' makes Dispatch wait for room in a full queue; 'raise' raises QueueFullError.",
        ),
        Option(
            "QUEUED",
            {},
            "django_event_system.E020",
            check_queued_setting,
            "Queued handlers' transport and options, e.g. {'TRANSPORT': 'celery', 'CELERY_APP': 'proj.celery.app'}.",
        ),
    )
}


class EventSystemSettings:
    """Typed, lazily read access to ``settings.DJANGO_EVENT_SYSTEM``."""

    def raw(self) -> object:
        """The setting as written, or an empty dict when it is absent."""
        return getattr(settings, SETTING_NAME, {})

    def get(self, key: str) -> Any:
        """The value of ``key``, or its default.

        :raises ImproperlyConfigured: the setting is not a dict, or the value is invalid.
        """
        option = OPTIONS[key]
        raw = self.raw()
        if not isinstance(raw, dict):
            raise ImproperlyConfigured(f"{SETTING_NAME} must be a dict, not {raw!r}")
        setting = cast("dict[object, object]", raw)
        if key not in setting:
            return option.default
        value = setting[key]
        error = option.validate(value)
        if error is not None:
            raise ImproperlyConfigured(f"{SETTING_NAME}[{key!r}] {error} ({option.check_id})")
        return value

    @property
    def mode(self) -> Mode:
        """``"async"`` (queue) or ``"sync"`` (handlers run inside ``Dispatch``)."""
        return cast("Mode", self.get("MODE"))

    @property
    def pool_size(self) -> int:
        """The most events handled at once per thread."""
        return cast("int", self.get("POOL_SIZE"))

    @property
    def error_policy(self) -> ErrorPolicy:
        """``"log"``, ``"raise"`` or a callable (a dotted path is imported)."""
        value = self.get("ERROR_POLICY")
        if isinstance(value, str) and value not in ("log", "raise"):
            return cast("ErrorPolicy", import_string(value))
        return cast("ErrorPolicy", value)

    @property
    def autodiscover(self) -> bool:
        """Whether ``AppConfig.ready()`` imports the autodiscovered modules."""
        return cast("bool", self.get("AUTODISCOVER"))

    @property
    def autodiscover_modules(self) -> tuple[str, ...]:
        """The module names looked up in every installed app."""
        return tuple(self.get("AUTODISCOVER_MODULES"))

    @property
    def drain_on_request_finished(self) -> Drain:
        """``"auto"``, ``True`` or ``False``."""
        return cast("Drain", self.get("DRAIN_ON_REQUEST_FINISHED"))

    @property
    def drain_timeout(self) -> float | None:
        """Seconds a finished request waits for its events at most."""
        return cast("float | None", self.get("DRAIN_TIMEOUT"))

    @property
    def close_old_connections(self) -> bool:
        """Whether delivery greenlets close the database connections they leave behind."""
        return cast("bool", self.get("CLOSE_OLD_CONNECTIONS"))

    @property
    def max_depth(self) -> int:
        """How deep a cascade of events dispatched by handlers may go."""
        return cast("int", self.get("MAX_DEPTH"))

    @property
    def max_pending(self) -> int | None:
        """The most events waiting in one thread's queue; ``None``: no bound."""
        return cast("int | None", self.get("MAX_PENDING"))

    @property
    def on_full(self) -> FullPolicy:
        """What ``Dispatch`` does when the queue is full: ``"block"`` or ``"raise"``."""
        return cast("FullPolicy", self.get("ON_FULL"))

    def unknown_keys(self) -> list[tuple[str, str | None]]:
        """The keys that are not options, each with the closest option name (or ``None``)."""
        raw = self.raw()
        if not isinstance(raw, dict):
            return []
        unknown: list[tuple[str, str | None]] = []
        for key in cast("dict[object, object]", raw):
            if key not in OPTIONS:
                close = difflib.get_close_matches(str(key), OPTIONS, n=1)
                unknown.append((str(key), close[0] if close else None))
        return unknown


conf: EventSystemSettings = EventSystemSettings()
"""The settings of django-event-system, read from ``DJANGO_EVENT_SYSTEM`` at each access."""


def apply_settings(*, strict: bool = False) -> None:
    """Configure the global ``Dispatcher`` from the settings (at start-up and when they change).

    An invalid value is logged and left out, so that start-up goes on and ``manage.py check``
    reports it with its id; the other keys are applied. ``QUEUED`` is the exception at start-up
    (``strict``): run half-configured, queued handlers would send their messages nowhere, so an
    invalid key there raises.

    :raises ImproperlyConfigured: ``strict`` and ``QUEUED`` is invalid, with the message of the
        system check ``django_event_system.E020``, or names a transport that cannot be set up.
    """
    for key in ("MODE", "POOL_SIZE", "ERROR_POLICY", "MAX_DEPTH", "MAX_PENDING", "ON_FULL"):
        try:
            if key == "MODE":
                configure(sync=conf.mode == "sync")
            elif key == "POOL_SIZE":
                Dispatcher.pool_size = conf.pool_size
            elif key == "ERROR_POLICY":
                Dispatcher.error_policy = conf.error_policy
            elif key == "MAX_DEPTH":
                Dispatcher.max_depth = conf.max_depth
            elif key == "MAX_PENDING":
                Dispatcher.max_pending = conf.max_pending
            else:
                Dispatcher.on_full = conf.on_full
        except (ImproperlyConfigured, ImportError) as exc:
            logger.warning("%s[%r] was ignored: %s", SETTING_NAME, key, exc)
    if strict:
        install_queued(strict=True)
        return
    try:
        install_queued()
    except (ImproperlyConfigured, ImportError) as exc:
        logger.warning("%s['QUEUED'] was not applied: %s", SETTING_NAME, exc)
