"""System checks: ``manage.py check`` reports bad settings and suspicious classes with stable ids.

========================== =========================================================
``django_event_system.E001`` ``DJANGO_EVENT_SYSTEM`` is not a dict
``django_event_system.E002`` an unknown key in ``DJANGO_EVENT_SYSTEM``
``django_event_system.E003`` ``MODE``
``django_event_system.E004`` ``POOL_SIZE``
``django_event_system.E005`` ``ERROR_POLICY``
``django_event_system.E006`` ``AUTODISCOVER``
``django_event_system.E007`` ``AUTODISCOVER_MODULES``
``django_event_system.E008`` ``DRAIN_ON_REQUEST_FINISHED``
``django_event_system.E009`` ``DRAIN_TIMEOUT``
``django_event_system.E010`` ``CLOSE_OLD_CONNECTIONS``
``django_event_system.E011`` ``MAX_DEPTH``
``django_event_system.E012`` an EventListener whose ``after_commit`` is not a bool
``django_event_system.E013`` ``MAX_PENDING``
``django_event_system.E014`` ``ON_FULL``
``django_event_system.E020`` ``QUEUED``: one error per bad key
``django_event_system.W001`` an Observer method that looks like a misspelt action
``django_event_system.W002`` an Observer of bulk writes whose model's default manager dispatches none
========================== =========================================================
"""

from __future__ import annotations

from typing import Any, cast

from django.core import checks
from django.db.models import Model

from ..core import Dispatcher, EventListener
from ._managers import dispatches_bulk_events
from ._observer import Observer, observers
from ._queued import queued_problems
from ._settings import OPTIONS, SETTING_NAME, conf

__all__ = ["check_listeners", "check_observers", "check_settings"]


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Check every key of ``DJANGO_EVENT_SYSTEM``."""
    raw = conf.raw()
    if not isinstance(raw, dict):
        return [
            checks.Error(
                f"{SETTING_NAME} must be a dict, not {raw!r}.",
                hint=f"Write {SETTING_NAME} = {{'MODE': 'async', ...}}, or remove it to use the defaults.",
                id="django_event_system.E001",
            )
        ]
    setting = cast("dict[object, object]", raw)
    errors: list[checks.CheckMessage] = []
    for key, suggestion in conf.unknown_keys():
        errors.append(
            checks.Error(
                f"{SETTING_NAME} has an unknown key {key!r}.",
                hint=(f"Did you mean {suggestion!r}? " if suggestion else "") + f"Known keys: {', '.join(OPTIONS)}.",
                id="django_event_system.E002",
            )
        )
    for key, option in OPTIONS.items():
        if key not in setting:
            continue
        if key == "QUEUED":
            # One error per bad key, worded as the app's start-up error (see install_queued).
            problems = queued_problems(setting[key])
            errors.extend(checks.Error(f"{problem}.", hint=option.hint, id=option.check_id) for problem in problems)
            continue
        error = option.validate(setting[key])
        if error is not None:
            errors.append(checks.Error(f"{SETTING_NAME}[{key!r}] {error}.", hint=option.hint, id=option.check_id))
    return errors


def check_observers(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Warn about Observer methods whose names look like misspelt actions (``create``, ``updatd``), and
    about Observers of bulk writes that the model's default manager never dispatches."""
    warnings: list[checks.CheckMessage] = []
    for observer in observers():
        for method, action in observer.suspicious_methods:
            warnings.append(
                checks.Warning(
                    f"{observer.__module__}.{observer.__qualname__}.{method}() is not an action, so it is never "
                    f"called for a model event.",
                    hint=f"Did you mean {action}()? Rename the method, or start its name with _ if it is a helper.",
                    obj=observer,
                    id="django_event_system.W001",
                )
            )
        warnings.extend(_bulk_warnings(observer))
    return warnings


_BULK_ACTIONS = ("bulk_created", "bulk_updated", "queryset_updated")


def _bulk_warnings(observer: type[Observer[Any]]) -> list[checks.CheckMessage]:
    """W002: the Observer defines bulk actions, and its model's default manager dispatches none of them.

    Only the default manager can be told: another manager, a queryset built by hand and the base
    manager that Django uses internally are not looked at.
    """
    defined = [action for action in _BULK_ACTIONS if getattr(observer, action) is not getattr(Observer, action)]
    if not defined:
        return []
    model: type[Model] = observer.observes  # pyright: ignore[reportGeneralTypeIssues]
    manager = model._default_manager
    if dispatches_bulk_events(manager) is not False:
        return []
    where = f"{observer.__module__}.{observer.__qualname__}"
    return [
        checks.Warning(
            f"{where} defines {', '.join(f'{action}()' for action in defined)}, but the default manager of "
            f"{model._meta.label} ({model.__qualname__}.{manager.name}, a {type(manager).__qualname__}) dispatches "
            "no bulk write events, so they are never called for its bulk_create(), bulk_update() or update().",
            hint="Give the model objects = EventManager(), or derive its queryset from EventQuerySet "
            "(from django_event_system import EventManager, EventQuerySet).",
            obj=observer,
            id="django_event_system.W002",
        )
    ]


def check_listeners(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Report EventListener classes whose ``after_commit`` is not a bool."""
    errors: list[checks.CheckMessage] = []
    seen: set[type] = set()
    for registration in Dispatcher.registry:
        listener = getattr(registration.handler, "instance", None)
        if not isinstance(listener, EventListener) or type(listener) in seen:
            continue
        seen.add(type(listener))
        value: object = listener.after_commit
        if not isinstance(value, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
            cls = type(listener)
            errors.append(
                checks.Error(
                    f"{cls.__module__}.{cls.__qualname__}.after_commit must be True or False, not {value!r}.",
                    hint="after_commit = True delivers events to the listener only once their transaction commits; "
                    "until it is a bool, the listener gets them at once.",
                    obj=cls,
                    id="django_event_system.E012",
                )
            )
    return errors
