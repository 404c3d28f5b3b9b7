"""Models, views and observers used by the Django adapter tests."""
