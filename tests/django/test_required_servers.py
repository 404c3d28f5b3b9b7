"""Tests for the rule on real servers: skipped with a reason where absent, failed under ``CI=true``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.scripts import run_python

ROOT = Path(__file__).resolve().parents[2]


def run_postgres_tests(**env: str) -> subprocess.CompletedProcess[str]:
    """Run the ``postgres`` tests of one module while PostgreSQL seems absent (a port where nothing listens)."""
    environment = {key: value for key, value in os.environ.items() if key != "CI"}
    environment.update(TEST_POSTGRES_PORT="1", **env)
    command = ("-m", "pytest", "-q", "-rsf", "-p", "no:randomly", "-m", "postgres", "tests/django/test_transactions.py")
    return run_python(*command, cwd=ROOT, env=environment, timeout=120, returncode=None)


@pytest.mark.slow
def test_postgres_tests_skip_with_a_reason_when_the_server_is_absent() -> None:
    """Without the server, each ``postgres`` test is skipped, saying why."""
    result = run_postgres_tests()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PostgreSQL does not answer on 127.0.0.1:5432" in result.stdout
    assert "14 skipped, 19 deselected" in result.stdout


@pytest.mark.slow
def test_postgres_tests_fail_under_ci_when_the_server_is_absent() -> None:
    """Under ``CI=true`` the same tests fail instead (in their setup, so pytest counts errors), with the reason."""
    result = run_postgres_tests(CI="true")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "PostgreSQL does not answer on 127.0.0.1:5432, and CI=true requires it" in result.stdout
    assert "19 deselected, 14 errors" in result.stdout
    assert "skipped" not in result.stdout
