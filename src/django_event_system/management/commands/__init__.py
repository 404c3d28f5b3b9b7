"""Management commands of django-event-system: ``manage.py events``."""
