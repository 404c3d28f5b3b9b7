"""Settings of the outbox scenarios: the project of ``tasks_settings``, its queued listeners on Celery.

Every queued listener uses the outbox unless it says otherwise; ``DES_OUTBOX_BATCH`` sets the
relay's batch.
"""

from __future__ import annotations

import os

from tests.distributed.tasks_settings import *  # noqa: F403
from tests.distributed.tasks_settings import INSTALLED_APPS as PROJECT_APPS

INSTALLED_APPS = [*PROJECT_APPS, "tests.distributed.outboxapp"]
DJANGO_EVENT_SYSTEM = {
    "MODE": "async",
    "QUEUED": {
        "TRANSPORT": "tests.distributed.outboxapp.transport.counting",
        "OUTBOX": True,
        "OUTBOX_BATCH": int(os.environ.get("DES_OUTBOX_BATCH", "100")),
    },
}
