"""The end-to-end benchmark: a Django app under load, whose saves trigger a 50 ms handler.

Run it with ``scripts/bench-e2e`` (``--quick`` for a smoke run). This package is a small Django
project of its own: the app (``models``, ``views``, ``urls``, ``apps``, ``observers``), its
``settings``, the server entry point (``serve``, gevent's WSGI server, monkey-patched), a
fallback load client (``load``, used when ``wrk`` is missing) and the driver (``run``), which
serves each variant in turn under a paced and a saturating load, applied from a separate process,
and writes ``e2e_results.md``.

The variant a server runs is chosen by the ``E2E_VARIANT`` environment variable:

``none``      the view saves a row; nothing handles it.
``signal``    a ``post_save`` receiver does the 50 ms of I/O, inside ``save()``, so in the request.
``observer``  this package: an Observer's ``created`` does the same 50 ms, in a worker greenlet.
``bounded``   the same Observer, with ``MAX_PENDING`` (``E2E_MAX_PENDING``, 2,000 by default): a
              full queue makes the request wait for room, so memory and the handlers' lag stay
              bounded under a saturating load.
"""

from __future__ import annotations

import os
from typing import Literal

Variant = Literal["none", "signal", "observer", "bounded"]
VARIANTS: tuple[Variant, ...] = ("none", "signal", "observer", "bounded")
VARIANT_ENV = "E2E_VARIANT"


def current_variant() -> Variant:
    """The variant this process serves, from ``E2E_VARIANT``.

    :raises ValueError: the variable is missing or names no variant.
    """
    value = os.environ.get(VARIANT_ENV, "")
    if value not in VARIANTS:
        raise ValueError(f"{VARIANT_ENV} must be one of {', '.join(VARIANTS)}, not {value!r}")
    return value
