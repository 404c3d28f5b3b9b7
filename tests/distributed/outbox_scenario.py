"""The web process of the outbox scenarios (run as a subprocess in the project of ``outbox_settings``).

``python -m tests.distributed.outbox_scenario commit PREFIX N`` saves N parcels, each in a
transaction of its own, and exits; ``... commit-and-die PREFIX`` saves a parcel and a letter in
one transaction and SIGKILLs itself as soon as it has committed, before anything else runs.
"""

from __future__ import annotations

import os
import signal
import sys

import django


def commit(prefix: str, count: int) -> None:
    from django.db import transaction

    from tests.distributed.outboxapp.models import Parcel

    for number in range(count):
        with transaction.atomic():
            Parcel.objects.create(reference=f"{prefix}-{number}")


def commit_and_die(prefix: str) -> None:
    from django.db import transaction

    from tests.distributed.outboxapp.models import Letter, Parcel

    with transaction.atomic():
        # The first commit callback: it runs before the library's, which would publish the letter.
        transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))
        Parcel.objects.create(reference=prefix)
        Letter.objects.create(reference=prefix)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.distributed.outbox_settings")
    django.setup()
    if sys.argv[1] == "commit":
        commit(sys.argv[2], int(sys.argv[3]))
    else:
        commit_and_die(sys.argv[2])
