"""Queued handlers under Django: the transport chosen by a setting, models by reference, after commit.

Settings, in ``DJANGO_EVENT_SYSTEM["QUEUED"]`` (all optional)::

    DJANGO_EVENT_SYSTEM = {
        "QUEUED": {
            "TRANSPORT": "celery",              # "celery", "tasks", or the dotted path of a Transport
                                                # (or of a callable returning one); None (the
                                                # default) keeps what configure_transport() set
            "CELERY_APP": "proj.celery.app",    # for "celery"; default: Celery's current app
            "TASKS_BACKEND": "default",         # for "tasks": the alias in TASKS
            "QUEUE": None,                      # the queue when a handler names none
            "AFTER_COMMIT": True,               # hold messages until the transaction commits
            "DATABASE": "default",              # whose transactions count
            "ON_ENQUEUE_ERROR": "raise",        # or the dotted path of a callable(EnqueueFailure)
            "OUTBOX": False,                    # True: queued handlers write their messages to the
                                                # outbox table, and `manage.py events relay` sends them
            "OUTBOX_BATCH": 100,                # rows the relay publishes per transaction
            "OUTBOX_KEEP_SENT": 604800.0,       # seconds sent rows (and records of handled
                                                # messages) are kept
            "OUTBOX_RETRY_BACKOFF": 1.0,        # seconds before a failed publish is tried again,
            "OUTBOX_RETRY_BACKOFF_MAX": 300.0,  # doubling each time, up to this
        }
    }

A key whose value is invalid is reported by the system check ``django_event_system.E020`` and
stops start-up (the app's ``ready()`` raises ``ImproperlyConfigured`` with the check's message);
when the setting changes later (``override_settings``), the invalid key is logged and left out,
and the valid keys are applied.

Model instances in a payload travel as a reference, ``{"$model": [app_label, model_name, pk]}``,
and the worker loads the row again (through the model's base manager, so a default manager's
filter hides nothing). If the row is gone by then (deleted, or in a transaction that rolled
back), the message is refused: the handler is not called, nothing is retried, ``failed()`` is
not called (there is no event to give it), and an error naming the model, the primary key, the
event id and the handler is logged on ``django_event_system.queued``. A handler that must know
about deleted rows should receive the fields it needs (an Event with the id and the values)
rather than the instance. An instance that has no primary key yet cannot be queued.

After commit: inside ``transaction.atomic()``, the messages of queued handlers are held and
sent only when the outermost transaction commits, and dropped if it rolls back, so a worker
never looks for a row that is not committed yet. Outside a transaction they are sent at once.
The in-process handlers of the same event are not held back.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any, cast

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist
from django.db import connections, transaction
from django.db.models import Model
from django.utils.module_loading import import_string

from ..core import (
    EnqueueErrorPolicy,
    HeldMessages,
    Queued,
    RejectedMessageError,
    SerializationError,
    Transport,
    configure_transport,
    register_value_codec,
    set_hold_provider,
)
from ..core.integration import JSON, MODEL_EVENT_PREFIX, decode_value, encode_value
from ._outbox import DEFAULT_OUTBOX_BATCH, install_outbox
from ._payloads import WritePayloadCodec

__all__ = [
    "QUEUED_CHECK_ID",
    "QUEUED_DEFAULTS",
    "QUEUED_OBSERVER_ACTIONS",
    "ModelReferenceCodec",
    "check_queued_observer",
    "check_queued_setting",
    "install_queued",
    "observer_queue_options",
    "queued_problems",
    "queued_settings",
]

logger = logging.getLogger("django_event_system.queued")

QUEUED_DEFAULTS: dict[str, Any] = {
    "TRANSPORT": None,
    "CELERY_APP": None,
    "TASKS_BACKEND": "default",
    "QUEUE": None,
    "AFTER_COMMIT": True,
    "DATABASE": "default",
    "ON_ENQUEUE_ERROR": "raise",
    "OUTBOX": False,
    "OUTBOX_BATCH": DEFAULT_OUTBOX_BATCH,
    "OUTBOX_KEEP_SENT": 7 * 24 * 3600.0,
    "OUTBOX_RETRY_BACKOFF": 1.0,
    "OUTBOX_RETRY_BACKOFF_MAX": 300.0,
}

QUEUED_CHECK_ID = "django_event_system.E020"

_WHERE = "DJANGO_EVENT_SYSTEM['QUEUED']"

# The model events that the adapter itself holds for after-commit handlers (see _transactions);
# a queued handler counts as one of those, so these names need no hold here.
_COMMIT_SUFFIXES = (
    "::created",
    "::updated",
    "::saved",
    "::deleted",
    "::bulk_created",
    "::bulk_updated",
    "::queryset_updated",
    "::m2m_added",
    "::m2m_removed",
    "::m2m_cleared",
)


def _check_transport(value: object) -> str | None:
    if value is None or isinstance(value, Transport) or value in ("celery", "tasks"):
        return None
    if isinstance(value, str) and "." in value:
        return None
    return f"must be 'celery', 'tasks', None or a dotted path, not {value!r}"


def _is_str_or_none(value: object) -> str | None:
    return None if value is None or isinstance(value, str) else f"must be a str or None, not {value!r}"


def _is_str(value: object) -> str | None:
    return None if isinstance(value, str) else f"must be a str, not {value!r}"


def _is_bool(value: object) -> str | None:
    return None if isinstance(value, bool) else f"must be True or False, not {value!r}"


def _check_policy(value: object) -> str | None:
    if value == "raise" or (callable(value) and not isinstance(value, str)):
        return None
    if isinstance(value, str) and "." in value:
        return None
    return f"must be 'raise', a callable or its dotted path, not {value!r}"


def _is_positive_int(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return None
    return f"must be an int >= 1, not {value!r}"


def _is_seconds(value: object, *, positive: bool) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        too_low = value <= 0 if positive else value < 0
        if not too_low:
            return None
    return f"must be a finite number of seconds {'> 0' if positive else '>= 0'}, not {value!r}"


_QUEUED_CHECKS: dict[str, Callable[[object], str | None]] = {
    "TRANSPORT": _check_transport,
    "CELERY_APP": _is_str_or_none,
    "TASKS_BACKEND": _is_str,
    "QUEUE": _is_str_or_none,
    "AFTER_COMMIT": _is_bool,
    "DATABASE": _is_str,
    "ON_ENQUEUE_ERROR": _check_policy,
    "OUTBOX": _is_bool,
    "OUTBOX_BATCH": _is_positive_int,
    "OUTBOX_KEEP_SENT": lambda value: _is_seconds(value, positive=True),
    "OUTBOX_RETRY_BACKOFF": lambda value: _is_seconds(value, positive=False),
    "OUTBOX_RETRY_BACKOFF_MAX": lambda value: _is_seconds(value, positive=False),
}


def queued_problems(value: object) -> list[str]:
    """What is wrong with a ``QUEUED`` setting: one sentence per bad key (empty when it is valid).

    These are the messages of the system check ``django_event_system.E020``.
    """
    if not isinstance(value, dict):
        return [f"{_WHERE} must be a dict, not {value!r}"]
    setting = cast("dict[object, object]", value)
    problems: list[str] = []
    unknown = sorted(str(key) for key in setting if key not in QUEUED_DEFAULTS)
    if unknown:
        problems.append(f"{_WHERE} has unknown keys {unknown}; the keys are {sorted(QUEUED_DEFAULTS)}")
    for key, check in _QUEUED_CHECKS.items():
        error = check(setting[key]) if key in setting else None
        if error is not None:
            problems.append(f"{_WHERE}[{key!r}] {error}")
    return problems


def check_queued_setting(value: object) -> str | None:
    """What is wrong with a ``QUEUED`` setting, or ``None`` when it is valid."""
    problems = queued_problems(value)
    return "; ".join(problem.removeprefix(_WHERE) for problem in problems) or None


def _raw_queued() -> object:
    raw: object = getattr(settings, "DJANGO_EVENT_SYSTEM", {})
    return cast("dict[object, object]", raw).get("QUEUED", {}) if isinstance(raw, dict) else {}


def queued_settings() -> dict[str, Any]:
    """``DJANGO_EVENT_SYSTEM["QUEUED"]`` over the defaults.

    :raises ImproperlyConfigured: the setting is malformed (see :func:`queued_problems`).
    """
    options, problems = _read_queued()
    if problems:
        raise ImproperlyConfigured(_startup_message(problems))
    return options


def _read_queued() -> tuple[dict[str, Any], list[str]]:
    """The valid keys of ``QUEUED`` over the defaults, and what is wrong with the others."""
    value = _raw_queued()
    problems = queued_problems(value)
    if not isinstance(value, dict):
        return dict(QUEUED_DEFAULTS), problems
    setting = cast("dict[str, object]", value)
    valid = {key: item for key, item in setting.items() if key in _QUEUED_CHECKS and _QUEUED_CHECKS[key](item) is None}
    return {**QUEUED_DEFAULTS, **valid}, problems


def _startup_message(problems: list[str]) -> str:
    return " ".join(f"{problem}." for problem in problems) + f" ({QUEUED_CHECK_ID})"


def _build_transport(options: dict[str, Any]) -> Transport | None:
    choice = options["TRANSPORT"]
    if choice is None or isinstance(choice, Transport):
        return choice
    if choice == "celery":
        from celery import Celery, current_app

        from ..transports.celery import CeleryTransport

        app: object = import_string(options["CELERY_APP"]) if options["CELERY_APP"] else current_app
        if not isinstance(app, Celery):
            app = getattr(app, "_get_current_object", lambda: app)()
        return CeleryTransport(cast("Celery", app), queue=options["QUEUE"])
    if choice == "tasks":
        from ..transports.tasks import TasksTransport

        return TasksTransport(backend=options["TASKS_BACKEND"], queue_name=options["QUEUE"])
    target = import_string(choice)
    transport = target if isinstance(target, Transport) else target()
    if not isinstance(transport, Transport):
        raise ImproperlyConfigured(
            f"DJANGO_EVENT_SYSTEM['QUEUED']['TRANSPORT'] {choice!r} gave {transport!r}, not a Transport"
        )
    return transport


_installed: list[Callable[[], None]] = []


def install_queued(*, strict: bool = False) -> None:
    """Apply ``DJANGO_EVENT_SYSTEM["QUEUED"]``: the transport, the model codec, after-commit, the outbox.

    Called when the app is ready (``strict``) and whenever the setting changes. A key whose value
    is invalid is left out, never the others.

    :param strict: raise when a key is invalid, instead of logging it and applying the others.
    :raises ImproperlyConfigured: ``strict`` and a key is invalid (the message of the system check
        E020); or the transport names what cannot be imported.
    """
    options, problems = _read_queued()
    if problems:
        message = _startup_message(problems)
        if strict:
            raise ImproperlyConfigured(message)
        logger.warning("%s The other keys are applied.", message)
    if not _installed:
        _installed.append(register_value_codec(ModelReferenceCodec()))
        _installed.append(register_value_codec(WritePayloadCodec()))
    configured: object = options["ON_ENQUEUE_ERROR"]
    if isinstance(configured, str) and configured != "raise":
        configured = import_string(configured)
    policy = cast("EnqueueErrorPolicy", configured)
    if options["TRANSPORT"] is not None:
        # Without TRANSPORT, a transport configured in code (configure_transport) stays.
        try:
            transport = _build_transport(options)
        except ImportError as exc:
            raise ImproperlyConfigured(f"DJANGO_EVENT_SYSTEM['QUEUED']['TRANSPORT'] cannot be set up: {exc}") from exc
        configure_transport(transport, on_enqueue_error=policy)
    set_hold_provider(_TransactionHold(options["DATABASE"]) if options["AFTER_COMMIT"] else None)
    install_outbox(options)


class _TransactionHold:
    """The hold provider: inside an atomic block, hold the messages until it commits."""

    def __init__(self, using: str) -> None:
        self.using = using

    def __call__(self, name: str) -> HeldMessages | None:
        if name.startswith(MODEL_EVENT_PREFIX) and name.endswith(_COMMIT_SUFFIXES):
            return None  # the adapter delivers these to queued handlers from on_commit itself
        if not connections[self.using].in_atomic_block:
            return None
        held = HeldMessages()
        # Registered at the current savepoint: a savepoint rolled back drops it, as it drops
        # the rows written under it.
        transaction.on_commit(held.release, using=self.using)
        return held

    def __repr__(self) -> str:
        return f"<hold queued messages until {self.using!r} commits>"


class ModelReferenceCodec:
    """Sends a saved model instance as ``[app_label, model_name, pk]`` and loads it again."""

    tag = "model"

    def can_encode(self, value: object) -> bool:
        """Any model instance."""
        return isinstance(value, Model)

    def encode(self, value: Model) -> JSON:
        """The instance's reference. :raises SerializationError: it has no primary key."""
        if value.pk is None:
            raise SerializationError(
                f"the {value._meta.label} instance has no primary key yet: queued handlers receive "
                "model instances by reference, so dispatch once it is saved"
            )
        return [value._meta.app_label, value._meta.model_name, encode_value(value.pk, f"{value._meta.label}.pk")]

    def decode(self, data: JSON) -> Model:
        """Load the row again. :raises RejectedMessageError: unknown model, or the row is gone."""
        if type(data) is not list or len(data) != 3 or not all(type(part) is str for part in data[:2]):
            raise RejectedMessageError(f"malformed model reference {data!r}")
        app_label, model_name, raw_pk = data
        try:
            model = apps.get_model(cast("str", app_label), cast("str", model_name))
        except LookupError:
            raise RejectedMessageError(f"the model {app_label}.{model_name} is not installed here") from None
        pk = decode_value(raw_pk, 1)
        try:
            return cast("Model", model._base_manager.get(pk=pk))
        except ObjectDoesNotExist:
            raise RejectedMessageError(
                f"the {model._meta.label} row with pk {pk!r} no longer exists (deleted, or never committed)"
            ) from None
        except (ValueError, TypeError) as exc:
            raise RejectedMessageError(f"invalid pk {pk!r} for {model._meta.label}: {exc}") from None


# -- queued Observers ---------------------------------------------------------------------------

QUEUED_OBSERVER_ACTIONS = frozenset(
    {"created", "updated", "saved", "bulk_created", "bulk_updated", "queryset_updated"}
    | {"m2m_added", "m2m_removed", "m2m_cleared"}
)
"""The actions a queued Observer may handle: those whose rows exist, with a primary key, when the
worker loads them (``creating`` has no key yet; after ``deleting`` and ``deleted`` the row is gone).
A ``bulk_created`` event whose primary keys the database did not return cannot be queued."""


def check_queued_observer(cls: Any, actions: list[str]) -> None:
    """Check a queued Observer class's options and actions, before it registers anything.

    :raises ImproperlyConfigured: ``queued`` is not a bool, a retry option is invalid, or the
        class is queued and defines an action whose row a worker could not load.
    """
    where = f"{cls.__module__}.{cls.__qualname__}"
    if cls.queued is not True:
        if cls.queued is not False:
            raise ImproperlyConfigured(f"{where}.queued must be True or False, not {cls.queued!r}")
        return
    if "<locals>" in cls.__qualname__:
        raise ImproperlyConfigured(
            f"{where} is queued but defined inside a function: define it at module level, in a "
            "module that the workers import too, so that they find it by name"
        )
    for action in actions:
        if action not in QUEUED_OBSERVER_ACTIONS:
            raise ImproperlyConfigured(
                f"{where} is queued and defines {action}(), which a worker cannot handle: the row has no "
                f"primary key yet or is gone when the worker loads it. Queued Observers handle "
                f"{', '.join(sorted(QUEUED_OBSERVER_ACTIONS))}; handle {action} in an Observer that is not queued."
            )
    try:
        cls.queued_options()
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"{where}: {exc}") from None


def observer_queue_options(observer: Any, action: str) -> Queued | bool:
    """The ``queued`` option for one action of an Observer instance (``False`` if not queued);
    the class has passed :func:`check_queued_observer`."""
    cls: Any = observer.__class__
    return cls.queued_options(failed=observer.failed, key=f"{cls.__module__}:{cls.__qualname__}.{action}") or False
