"""Ordinary tasks that save an observed model, for a Celery worker and for the Tasks framework's worker.

Each ``..._after_the_task`` task saves its note after the task itself, in a receiver of the
worker's end-of-task signal connected after the library's: the note's events stay queued until
the worker's process drains before it exits. The receiver then records ``left`` for the test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from celery import shared_task
from celery.signals import task_postrun
from django.dispatch import receiver

from .models import Note, Receipt

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


def save_note(key: str) -> None:
    Note.objects.create(key=key)


def save_late_note(key: str) -> None:
    save_note(key)
    Receipt.objects.create(kind="left", reference=key)


@shared_task(name="tasksapp.save_note")
def celery_save_note(key: str) -> None:
    """Save a note; its Observer's event is handled after the task."""
    save_note(key)


@shared_task(name="tasksapp.save_note_after_the_task")
def celery_save_note_after_the_task(key: str) -> None:
    """Nothing: the receiver below saves the note once the task has ended."""


@task()
def tasks_save_note(key: str) -> None:
    """Save a note; its Observer's event is handled after the task."""
    save_note(key)


@task()
def tasks_save_note_after_the_task(key: str) -> None:
    """Nothing: the receiver below saves the note once the task has ended."""


@task_postrun.connect
def _after_celery_task(sender: Any = None, args: Any = (), **kwargs: Any) -> None:
    if sender.name == celery_save_note_after_the_task.name:
        save_late_note(args[0])


@receiver(task_finished)
def _after_tasks_task(sender: Any, task_result: Any, **kwargs: Any) -> None:
    if task_result.task.module_path == tasks_save_note_after_the_task.module_path:
        save_late_note(task_result.args[0])
