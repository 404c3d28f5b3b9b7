"""A queued Observer with an inline hook: defined at module level, as queued Observers must be.

Imported by the test that uses it (not collected: its name does not start with ``test_``).
"""

from __future__ import annotations

from django.utils.text import slugify

from django_event_system import EventDispatcher, Observer, on

from .testapp.models import Post

handled: list[str] = []

bus = EventDispatcher()
"""A dispatcher of its own: a queued handler leaves the dispatch check on its dispatcher."""


class QueuedWithHook(Observer[Post]):
    """``created`` runs in a worker; the inline ``creating`` hook in the saving code's stack."""

    observes = Post
    queued = True
    dispatcher = bus

    @on("creating", inline=True)
    def fill_slug(self, event_name: str, post: Post) -> None:
        post.slug = slugify(post.title)

    def created(self, event_name: str, post: Post) -> None:
        handled.append(post.slug)
