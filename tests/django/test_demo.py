"""The docs' first command: the demo project runs end to end and tells its story in order."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.scripts import run_python

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_runs_and_prints_what_happens_in_order() -> None:
    """The order's response comes before its slow handler finishes; every handler reports; the tools list them."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    result = run_python("examples/demo_project/run_demo.py", cwd=ROOT, env=env, timeout=120)
    lines = result.stdout.splitlines()

    def index(text: str) -> int:
        return next(i for i, line in enumerate(lines) if text in line)

    # The order was answered while its confirmation was still unsent, and the mail came after.
    answered = index('201 {"order": 1, "item": "book", "quantity": 2, "status": "placed", "confirmation_sent": false}')
    assert index("[mail]      sending the confirmation of order #1") > answered
    assert index("[mail]      confirmation of order #1 sent") > answered
    assert index('"status": "placed", "confirmation_sent": true}') > index("confirmation of order #1 sent")
    assert index("[welcome]   alice logged in") < answered
    assert index("[observer]  order #1 (2 x book) created (events::db::shop::models::Order::created)") > answered
    assert index("[audit]     events::db::shop::models::Order::created: order #1 (2 x book)") > answered
    assert index("[ledger]    order #1 (2 x book) committed, total 25.00 EUR") > answered
    assert index("[observer]  order #1 (2 x book) updated: status 'placed' -> 'shipped'") > answered
    assert index(" s  stopped") < index("Handlers (9), by pattern:")
    assert index("shop.observers:OrderLedger.saved  priority=0  after_commit") > index("Handlers (9)")
    assert index("shop.observers:LiveOrders.broadcast_on  priority=0  after_commit") > index("Handlers (9)")
    assert index("django.contrib.auth.signals.user_logged_in -> shop::events::CustomerLoggedIn") > 0
    assert lines[-4].strip() == "1. shop.listeners:SendConfirmation.handle  (pattern 'shop::order::placed', priority=0)"
    assert lines[-1].strip() == (
        "each order appears there as it is placed and shipped, broadcast over a websocket after its commit"
    )
    assert "Traceback" not in result.stdout + result.stderr
