"""Autodiscovered: writes down every ``lifecycle::<id>`` and ``request::<id>`` event handled."""

from __future__ import annotations

from tests.lifecycle.records import listen

listen()
