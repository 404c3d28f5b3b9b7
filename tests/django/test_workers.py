"""Tests for the drains that the app connects in task queues' workers (Celery, the Tasks framework)."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from celery.signals import task_postrun, worker_process_shutdown, worker_shutdown
from django.apps import apps
from django.conf import settings
from django.test import override_settings

from django_event_system import Dispatcher
from django_event_system.django._workers import drain_after_task
from tests.scripts import run_python

if TYPE_CHECKING:
    from django.tasks import task
    from django.tasks.signals import task_finished
else:
    try:
        from django.tasks import task
        from django.tasks.signals import task_finished
    except ImportError:  # Django 5.2: the backport
        from django_tasks import task
        from django_tasks.signals import task_finished

ROOT = Path(__file__).resolve().parents[2]
TASKS_DRAIN = "django_event_system:tasks_drain"
BUILT_IN_TASKS = find_spec("django.tasks") is not None


@pytest.fixture(autouse=True)
def _tasks_framework_installed() -> Iterator[None]:
    """On Django 5.2 the Tasks framework is the backport, whose drain the app connects once it is an installed app."""
    if BUILT_IN_TASKS:
        yield
        return
    with override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, "django_tasks"]):
        yield


@task()
def dispatch_in_a_task(name: str) -> None:
    Dispatcher.Dispatch(name)


class WorkerBackend:
    """Stands for a backend whose worker runs the tasks in a process of its own."""


def run_in_a_worker(name: str) -> str:
    """Run the task that dispatches ``name``, and end it as a worker does: ``task_finished``; its id."""
    result = dispatch_in_a_task.enqueue(name)  # the ImmediateBackend: run here, and not drained
    task_finished.send(sender=WorkerBackend, task_result=result)
    return result.id


def test_ready_connects_the_drains_of_both_task_queues_once() -> None:
    """The Tasks framework's drain and Celery's are connected once, however often ready() runs."""
    apps.get_app_config("django_event_system").ready()
    assert task_finished.disconnect(dispatch_uid=TASKS_DRAIN) is True
    assert task_finished.disconnect(dispatch_uid=TASKS_DRAIN) is False
    task_finished.connect(drain_after_task, dispatch_uid=TASKS_DRAIN)
    for signal in (task_postrun, worker_process_shutdown, worker_shutdown):
        ours = [key for key, _ in signal.receivers if str(key[0]).startswith("django_event_system:")]
        assert len(ours) == 1, signal


def test_the_events_of_a_tasks_task_are_handled_when_it_finishes() -> None:
    """``task_finished`` in a worker drains the queue of the thread that ran the task."""
    handled: list[str] = []
    with Dispatcher.RegisterHandler("workers_tests::shipped", lambda name: handled.append(name)):
        run_in_a_worker("workers_tests::shipped")
        assert handled == ["workers_tests::shipped"]


def test_a_failing_drain_after_a_tasks_task_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A handler's error under the "raise" policy is logged with the task; nothing is raised."""

    def fail(name: str) -> None:
        raise RuntimeError("no stock")

    Dispatcher.error_policy = "raise"
    with Dispatcher.RegisterHandler("workers_tests::failing", fail):
        task_id = run_in_a_worker("workers_tests::failing")
    assert (
        f"handlers failed while the event queue drained after the task "
        f"'tests.django.test_workers.dispatch_in_a_task' (id {task_id})"
    ) in caplog.text
    assert "no stock" in caplog.text


def test_a_task_of_the_immediate_backend_leaves_its_events_to_the_caller() -> None:
    """The ImmediateBackend runs the task inside ``enqueue()``: the caller's code drains, as for any code."""
    handled: list[str] = []
    with Dispatcher.RegisterHandler("workers_tests::inline", lambda name: handled.append(name)):
        dispatch_in_a_task.enqueue("workers_tests::inline")
        assert (handled, Dispatcher.pending_count()) == ([], 1)
        Dispatcher.ClearQueue()
        assert handled == ["workers_tests::inline"]


WITHOUT_CELERY = textwrap.dedent(
    """
    import sys

    sys.modules["celery"] = None  # as if Celery were not installed: find_spec() finds nothing
    import django

    django.setup()
    loaded = sorted(name for name, module in sys.modules.items() if module and "celery" in name)
    assert loaded == [], loaded
    try:
        from django.tasks.signals import task_finished
    except ImportError:
        # Django 5.2: the backport is not an installed app here, so the app did not import it
        # (it pulls in django-stubs-ext, whose lazy admin site breaks gevent's patching).
        assert "django_tasks" not in sys.modules
        print("ok")
    else:
        assert task_finished.disconnect(dispatch_uid="django_event_system:tasks_drain")
        print("ok")
    """
)


def test_a_project_without_celery_imports_nothing_of_it() -> None:
    """Without Celery, ready() imports no Celery module; it connects the Tasks drain where the framework is in use."""
    result = run_python(
        "-W", "error", "-c", WITHOUT_CELERY, cwd=ROOT, env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    )
    assert result.stdout.strip() == "ok", result.stderr
