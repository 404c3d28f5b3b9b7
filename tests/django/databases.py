"""The databases a test of the Django adapter runs on, as a ``pytest.mark.parametrize`` list.

``@pytest.mark.parametrize("alias", DATABASES)`` runs a test on SQLite and on the real PostgreSQL
server (skipped where it does not answer, failed under ``CI=true``: see ``tests/conftest.py``),
each in a transactional test, so that commits and rollbacks are real.
"""

from __future__ import annotations

import pytest

__all__ = ["DATABASES"]

DATABASES = [
    pytest.param("default", marks=pytest.mark.django_db(transaction=True), id="sqlite"),
    pytest.param(
        "postgres",
        marks=[pytest.mark.postgres, pytest.mark.django_db(transaction=True, databases=["default", "postgres"])],
        id="postgres",
    ),
]
