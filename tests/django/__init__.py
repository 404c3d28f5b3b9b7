"""Tests for the Django adapter."""
