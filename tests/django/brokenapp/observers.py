"""Fails on import: autodiscovery must let the error through."""

from __future__ import annotations

raise ImportError("brokenapp.observers needs a package that is not installed")
