"""Management commands of django-event-system."""
