"""The demo project's settings and URLs."""
