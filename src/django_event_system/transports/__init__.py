"""Transports: how the messages of queued handlers reach worker processes.

Each transport is a :class:`~django_event_system.core.Transport` in a module of its own, importing
only the core and its task queue: :mod:`.celery` (Celery workers) and :mod:`.tasks` (Django's
Tasks framework). The Django adapter picks one from ``DJANGO_EVENT_SYSTEM["QUEUED"]["TRANSPORT"]``.
"""
