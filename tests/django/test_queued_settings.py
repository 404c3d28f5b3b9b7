"""Tests for ``DJANGO_EVENT_SYSTEM["QUEUED"]``: a bad key never drops the good ones, and stops start-up."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_event_system.core import EventDispatcher, InMemoryTransport, current_transport, using_transport
from django_event_system.django._outbox import Relay
from django_event_system.django._queued import queued_settings
from django_event_system.django._settings import apply_settings
from tests.scripts import run_python

REPO = Path(__file__).resolve().parents[2]

memory = InMemoryTransport()
bus = EventDispatcher()


def on_order(name: str, number: int) -> None:
    """A queued handler of the tests."""


def e020_messages() -> list[str]:
    return [message.msg for message in checks.run_checks() if message.id == "django_event_system.E020"]


def test_one_bad_key_keeps_the_transport() -> None:
    """A bad ON_ENQUEUE_ERROR leaves TRANSPORT in force: queued dispatches still reach the transport."""
    registration = bus.RegisterHandler("queued_settings::order", on_order, queued=True)
    try:
        with (
            using_transport(None),
            override_settings(
                DJANGO_EVENT_SYSTEM={
                    "MODE": "sync",
                    "QUEUED": {"TRANSPORT": f"{__name__}.memory", "ON_ENQUEUE_ERROR": "log", "AFTER_COMMIT": False},
                }
            ),
        ):
            assert current_transport() is memory
            sent_before = len(memory.sent)
            bus.Dispatch("queued_settings::order", 7)
            assert len(memory.sent) == sent_before + 1
    finally:
        registration.cancel()


@pytest.mark.parametrize(
    ("queued", "message"),
    [
        (
            {"TRANSPORT": "celery", "ON_ENQUEUE_ERROR": "log"},
            "DJANGO_EVENT_SYSTEM['QUEUED']['ON_ENQUEUE_ERROR'] must be 'raise', a callable or its dotted path, "
            "not 'log'.",
        ),
        ([], "DJANGO_EVENT_SYSTEM['QUEUED'] must be a dict, not []."),
    ],
)
def test_at_start_up_a_bad_block_raises_the_check_message(queued: object, message: str) -> None:
    """What the app applies at start-up raises ImproperlyConfigured with the E020 message of the check."""
    with override_settings(DJANGO_EVENT_SYSTEM={"QUEUED": queued}):
        assert e020_messages() == [message]
        with pytest.raises(ImproperlyConfigured) as raised:
            apply_settings(strict=True)
    assert str(raised.value) == f"{message} (django_event_system.E020)"


def test_a_bad_block_stops_the_process_at_start_up(tmp_path: Path) -> None:
    """django.setup() with a bad QUEUED key fails with the check's message instead of starting half-configured."""
    settings = tmp_path / "bad_queued_settings.py"
    settings.write_text(
        "from tests.settings import *  # noqa: F403\n"
        "DJANGO_EVENT_SYSTEM = {'QUEUED': {'TRANSPORT': 'celery', 'ON_ENQUEUE_ERROR': 'log'}}\n"
    )
    completed = run_python(
        "-c",
        "import django; django.setup()",
        cwd=REPO,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bad_queued_settings",
            "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)]),
        },
        returncode=1,
    )
    assert (
        "django.core.exceptions.ImproperlyConfigured: DJANGO_EVENT_SYSTEM['QUEUED']['ON_ENQUEUE_ERROR'] must be "
        "'raise', a callable or its dotted path, not 'log'. (django_event_system.E020)"
    ) in completed.stderr


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [
        ("OUTBOX", "yes", "must be True or False, not 'yes'"),
        ("OUTBOX_BATCH", 0, "must be an int >= 1, not 0"),
        ("OUTBOX_BATCH", True, "must be an int >= 1, not True"),
        ("OUTBOX_BATCH", 2.5, "must be an int >= 1, not 2.5"),
        ("OUTBOX_KEEP_SENT", 0, "must be a finite number of seconds > 0, not 0"),
        ("OUTBOX_KEEP_SENT", float("inf"), "must be a finite number of seconds > 0, not inf"),
        ("OUTBOX_RETRY_BACKOFF", -1, "must be a finite number of seconds >= 0, not -1"),
        ("OUTBOX_RETRY_BACKOFF_MAX", "5", "must be a finite number of seconds >= 0, not '5'"),
    ],
)
def test_bad_outbox_keys_are_reported_by_the_check(key: str, value: object, error: str) -> None:
    """Each outbox key is checked: E020 names the key and the value, and reading the block refuses it."""
    with override_settings(DJANGO_EVENT_SYSTEM={"QUEUED": {key: value}}):
        assert e020_messages() == [f"DJANGO_EVENT_SYSTEM['QUEUED'][{key!r}] {error}."]
        with pytest.raises(ImproperlyConfigured, match=re.escape(error)):
            queued_settings()


def test_the_outbox_keys_configure_the_relay() -> None:
    """OUTBOX_BATCH, OUTBOX_KEEP_SENT and the backoff keys reach the relay; 0 is a valid backoff."""
    queued = {
        "DATABASE": "default",
        "OUTBOX_BATCH": 7,
        "OUTBOX_KEEP_SENT": 60,
        "OUTBOX_RETRY_BACKOFF": 0,
        "OUTBOX_RETRY_BACKOFF_MAX": 5.5,
    }
    with override_settings(DJANGO_EVENT_SYSTEM={"QUEUED": queued}):
        assert e020_messages() == []
        relay = Relay.from_settings(memory, queued_settings())
    assert (relay.batch, relay.keep_sent, relay.retry_backoff, relay.retry_backoff_max) == (7, 60, 0, 5.5)
