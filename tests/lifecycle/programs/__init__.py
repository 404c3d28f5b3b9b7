"""Plain Python programs (no Django) that the lifecycle tests run: ``python -m tests.lifecycle.programs.<name>``."""
