"""What the Tasks framework tests do inside their Django project (run as a subprocess).

``python -m tests.distributed.tasks_scenario dispatch`` migrates, then dispatches the cases and
prints their event ids as JSON; ``... dispatch-committed`` only a committed and a rolled-back
order; ``... migrate`` only migrates; ``... enqueue-notes KEY...`` enqueues tasks that save notes;
``... report`` prints the tasks and receipts as JSON.
"""

from __future__ import annotations

import json
import os
import sys

import django


def dispatch() -> dict[str, str]:
    from django.core.management import call_command
    from django.db import transaction

    from django_event_system import Dispatcher
    from django_event_system.transports.tasks import handle_queued_event
    from tests.distributed.tasksapp.listeners import Doomed, OrderPlaced
    from tests.distributed.tasksapp.models import Order

    call_command("migrate", verbosity=0)
    ids: dict[str, str] = {}
    with transaction.atomic():
        order = Order.objects.create(reference="committed")
        ids["committed"] = OrderPlaced.Dispatch(order).event_id
        Dispatcher.ClearQueue()
    try:
        with transaction.atomic():
            order = Order.objects.create(reference="rolled-back")
            ids["rolled_back"] = OrderPlaced.Dispatch(order).event_id
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    ids["doomed"] = Doomed.Dispatch("doomed").event_id
    gone = Order.objects.create(reference="gone")
    ids["gone"] = OrderPlaced.Dispatch(gone).event_id
    Dispatcher.ClearQueue()
    gone.delete()
    handle_queued_event.enqueue("{not json", 0)
    forged = {
        "v": 1,
        "handler": "tests.distributed.tasksapp.listeners:write_receipt",
        "name": "tasks_tests::order_placed",
        "id": "forged",
        "ts": 0,
        "event": {"name": "os::system", "id": "forged", "ts": 0, "fields": {}},
        "args": [],
        "kwargs": {},
    }
    handle_queued_event.enqueue(json.dumps(forged), 0)
    return ids


def dispatch_committed() -> dict[str, str]:
    """Just the committed and the rolled-back orders (for the Celery worker)."""
    from django.core.management import call_command
    from django.db import transaction

    from tests.distributed.tasksapp.listeners import OrderPlaced
    from tests.distributed.tasksapp.models import Order

    call_command("migrate", verbosity=0)
    ids: dict[str, str] = {}
    with transaction.atomic():
        ids["committed"] = OrderPlaced.Dispatch(Order.objects.create(reference="committed")).event_id
    try:
        with transaction.atomic():
            ids["rolled_back"] = OrderPlaced.Dispatch(Order.objects.create(reference="rolled-back")).event_id
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    return ids


def migrate() -> dict[str, str]:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return {}


def enqueue_notes() -> dict[str, str]:
    """Enqueue a Tasks task that saves a note per key; a key ``late-...`` is saved after its task."""
    from tests.distributed.tasksapp.tasks import tasks_save_note, tasks_save_note_after_the_task

    migrate()
    for key in sys.argv[2:]:
        (tasks_save_note_after_the_task if key.startswith("late-") else tasks_save_note).enqueue(key)
    return {}


def report() -> dict[str, object]:
    from django_tasks_db.models import DBTaskResult

    from tests.distributed.tasksapp.models import Receipt

    tasks = [
        {"args": task.args_kwargs["args"], "status": task.status, "return_value": task.return_value}
        for task in DBTaskResult.objects.order_by("enqueued_at")
    ]
    receipts = [
        {"kind": r.kind, "reference": r.reference, "event_id": r.event_id, "attempt": r.attempt}
        for r in Receipt.objects.order_by("id")
    ]
    return {"tasks": tasks, "receipts": receipts}


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.distributed.tasks_settings")
    django.setup()
    commands = {
        "dispatch": dispatch,
        "dispatch-committed": dispatch_committed,
        "migrate": migrate,
        "enqueue-notes": enqueue_notes,
        "report": report,
    }
    result = commands[sys.argv[1]]()
    print("RESULT " + json.dumps(result))
