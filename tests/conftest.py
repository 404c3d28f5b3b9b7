"""Suite-wide hooks: tests that need a real server skip without it, and fail without it under CI."""

from __future__ import annotations

import os

import pytest
from django.conf import settings


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip a ``postgres`` test when PostgreSQL does not answer, or fail it when ``CI=true``."""
    if item.get_closest_marker("postgres") is not None and "postgres" not in settings.DATABASES:
        reason = "PostgreSQL does not answer on 127.0.0.1:5432"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}, and CI=true requires it", pytrace=False)
        pytest.skip(reason)
