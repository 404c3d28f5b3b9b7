"""Process-wide settings of the core: the defaults of every dispatcher, and the live dispatchers.

The options of one dispatcher are its constructor's; :func:`configure` sets what a dispatcher
that does not choose follows (sync mode). The defaults are named here once: the Django adapter's
settings and the docs refer to these names.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Literal

from ._cascade import DEFAULT_MAX_DEPTH
from ._local_queue import DEFAULT_POOL_SIZE
from ._registry import DEFAULT_CACHE_SIZE

if TYPE_CHECKING:
    from ._bus import LiveBus

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_POOL_SIZE",
    "FullPolicy",
    "add_dispatcher",
    "configure",
    "is_live",
    "is_sync",
    "live_dispatchers",
]

FullPolicy = Literal["block", "raise"]
"""What ``Dispatch`` does when a bounded queue is full: wait for room, or raise ``QueueFullError``."""


class _Defaults:
    sync = False


_defaults = _Defaults()
_live: weakref.WeakSet[LiveBus] = weakref.WeakSet()


def live_dispatchers() -> list[LiveBus]:
    """Every dispatcher that exists now, the global one first if it was created first."""
    return list(_live)


def is_live(obj: object) -> bool:
    """Whether ``obj`` is one of the live dispatchers."""
    try:
        return obj in _live
    except TypeError:  # not weakly referenceable, so not a dispatcher
        return False


def add_dispatcher(dispatcher: LiveBus) -> None:
    """Called by each dispatcher as it is created."""
    _live.add(dispatcher)


def configure(*, sync: bool | None = None) -> None:
    """Set process-wide defaults for every dispatcher that does not set its own.

    :param sync: run handlers inline, in ``Dispatch``, instead of queueing them. Handy in
        tests and management commands.
    """
    if sync is not None:
        if not isinstance(sync, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"sync must be a bool, not {sync!r}")
        _defaults.sync = sync
        for dispatcher in live_dispatchers():
            dispatcher._update_fast_path()  # pyright: ignore[reportPrivateUsage]


def is_sync() -> bool:
    """Whether the process-wide default is sync mode."""
    return _defaults.sync
