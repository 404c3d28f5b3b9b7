"""Fixtures for the testing-layer tests: a fresh dispatcher per test, and a clean global state after each."""

from __future__ import annotations

from tests.fixtures import clean_global_state as clean_global_state
from tests.fixtures import dispatcher as dispatcher
