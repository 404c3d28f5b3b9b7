"""Old import paths of modules that moved: each re-exports the new module's names and warns where it went."""

from __future__ import annotations

import warnings


def moved(old: str, new: str) -> None:
    """Warn, where the module ``old`` is imported, that it moved to ``new``.

    .. deprecated:: 2.0
        The old paths will be removed in 3.0.
    """
    warnings.warn(f"{old} moved to {new}; import it from there", DeprecationWarning, stacklevel=3)
