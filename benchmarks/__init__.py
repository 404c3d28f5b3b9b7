"""Benchmarks of django-event-system against its peers; run them all with ``scripts/bench``.

Each measuring module (``ours``, ``peers``, ``seed``) runs in its own interpreter and virtual
environment, takes the sections to measure as arguments and prints its results as JSON;
``benchmarks.run`` runs them, compares the figures and writes ``results.md`` and ``patterns.png``.
"""
