"""Tests for inline hooks: ``@on(action, inline=True)`` runs an Observer method in the saving code's stack.

The tests that touch the database run on SQLite and on the real PostgreSQL server (skipped where
it does not answer).
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connections, transaction
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.text import slugify

from django_event_system import (
    Event,
    EventSubscriber,
    EventSystemError,
    ListenerDefinitionError,
    Observer,
    WriteRefused,
    on,
    without_events,
)
from django_event_system.django import _inline, _models
from django_event_system.testing import assert_listening, fake, fake_transport, muted, record_events

from .databases import DATABASES
from .testapp.models import BulkItem, Example, Post

POST = "events::db::tests::django::testapp::models::Post"


STAMP = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)


def slug_observer(calls: list[str]) -> type[Observer[Post]]:
    """An Observer that fills the slug before the insert, and records what its other methods see."""

    class SlugObserver(Observer[Post]):
        observes = Post

        @on("creating", inline=True)
        def fill_slug(self, event_name: str, post: Post) -> None:
            calls.append(f"inline {event_name.rsplit('::', 1)[1]} pk={post.pk}")
            post.slug = slugify(post.title)

        def created(self, event_name: str, post: Post) -> None:
            calls.append(f"created {post.slug}")

    return SlugObserver


# -- before the write -----------------------------------------------------------------------


@pytest.mark.parametrize("alias", DATABASES)
def test_a_creating_hook_fills_a_field_before_the_insert(alias: str, drain: Callable[[], None]) -> None:
    """The hook runs inside ``create()``, before the row exists, and the INSERT writes what it set."""
    calls: list[str] = []
    slug_observer(calls)
    with CaptureQueriesContext(connections[alias]) as queries:
        post = Post.objects.using(alias).create(title="Hello World")
    assert calls == ["inline creating pk=None"]  # in the caller's stack, before the insert
    [insert] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert "hello-world" in insert
    assert Post.objects.using(alias).get(pk=post.pk).slug == "hello-world"
    drain()
    assert calls == ["inline creating pk=None", "created hello-world"]


@pytest.mark.parametrize("alias", DATABASES)
def test_an_updating_hook_with_a_condition_stamps_only_when_the_field_changed(
    alias: str, drain: Callable[[], None]
) -> None:
    """``when="status"``: the timestamp is set, and saved, only by the saves that change the status."""
    stamped: list[str] = []

    class StatusObserver(Observer[Post]):
        observes = Post

        @on("updating", inline=True, when="status")
        def stamp(self, event_name: str, post: Post) -> None:
            stamped.append(f"{self.changes(post)['status'].old} -> {post.status}")
            post.status_changed_at = STAMP

    post = Post.objects.using(alias).create(title="a")
    post.title = "b"
    post.save(using=alias)
    assert stamped == []
    assert Post.objects.using(alias).get(pk=post.pk).status_changed_at is None
    post.status = "published"
    post.save(using=alias)
    assert stamped == ["draft -> published"]
    assert Post.objects.using(alias).get(pk=post.pk).status_changed_at == STAMP


@pytest.mark.parametrize("alias", DATABASES)
def test_a_refused_delete_reaches_the_caller_and_keeps_the_row(alias: str, drain: Callable[[], None]) -> None:
    """``WriteRefused`` comes out of ``delete()`` with its message and the hook's name; the row is
    kept, and neither ``deleting`` nor ``deleted`` is dispatched."""
    handled: list[str] = []

    class KeepPublished(Observer[Post]):
        observes = Post

        @on("deleting", inline=True)
        def keep_published(self, event_name: str, post: Post) -> None:
            if post.status == "published":
                raise WriteRefused(f"{post.title!r} is published; unpublish it first")

        def deleting(self, event_name: str, post: Post) -> None:
            handled.append("deleting")

        def deleted(self, event_name: str, post: Post) -> None:
            handled.append("deleted")

    post = Post.objects.using(alias).create(title="kept", status="published")
    with (
        record_events() as events,
        pytest.raises(WriteRefused, match=r"^'kept' is published; unpublish it first$") as info,
    ):
        post.delete(using=alias)
    assert info.value.message == "'kept' is published; unpublish it first"
    assert info.value.hook == f"{__name__}:{KeepPublished.__qualname__}.keep_published"
    assert isinstance(info.value, EventSystemError)
    assert Post.objects.using(alias).filter(pk=post.pk).exists()
    assert [name for name in events.names if name.startswith(POST)] == []
    drain()
    assert handled == []
    post.status = "draft"
    post.save(using=alias)
    post.delete(using=alias)
    drain()
    assert handled == ["deleting", "deleted"]


@pytest.mark.parametrize("alias", DATABASES)
def test_a_refused_delete_inside_atomic_is_caught_in_a_savepoint(alias: str) -> None:
    """Django deletes in ``atomic(savepoint=False)``: a refusal marks the transaction for rollback,
    so code that goes on after catching it wraps the delete in its own ``atomic()``."""

    class NeverDelete(Observer[Post]):
        observes = Post

        @on("deleting", inline=True)
        def refuse(self, event_name: str, post: Post) -> None:
            raise WriteRefused("posts are never deleted")

    post = Post.objects.using(alias).create(title="p")
    with transaction.atomic(using=alias):
        with pytest.raises(WriteRefused), transaction.atomic(using=alias):
            post.delete(using=alias)
        Post.objects.using(alias).create(title="after")  # the outer transaction goes on
    assert sorted(Post.objects.using(alias).values_list("title", flat=True)) == ["after", "p"]


@pytest.mark.parametrize("alias", DATABASES)
def test_a_refused_save_writes_nothing_and_dispatches_no_event_of_it(alias: str, drain: Callable[[], None]) -> None:
    """A ``saving`` hook that raises after a ``creating`` hook ran: every hook runs before the first
    event of the save is dispatched, so neither ``creating`` nor ``saving`` went out; a refused
    save does not break the caller's transaction (it raises before Django writes)."""
    handled: list[str] = []

    class Guarded(Observer[Post]):
        observes = Post

        @on("creating", inline=True)
        def fill(self, event_name: str, post: Post) -> None:
            post.slug = slugify(post.title)

        @on("saving", inline=True)
        def refuse_empty(self, event_name: str, post: Post) -> None:
            if not post.slug:
                raise WriteRefused("a post needs a title")

        def creating(self, event_name: str, post: Post) -> None:
            handled.append("creating")

        def saving(self, event_name: str, post: Post) -> None:
            handled.append("saving")

        def created(self, event_name: str, post: Post) -> None:
            handled.append("created")

    with record_events() as events, transaction.atomic(using=alias):
        with pytest.raises(WriteRefused, match="a post needs a title"):
            Post.objects.using(alias).create(title="")
        Post.objects.using(alias).create(title="ok")
    assert list(Post.objects.using(alias).values_list("slug", flat=True)) == ["ok"]
    assert [name.rsplit("::", 1)[1] for name in events.names if name.startswith(POST)] == [
        "creating",
        "saving",
        "created",
        "saved",
    ]
    drain()
    assert handled == ["creating", "saving", "created"]


@pytest.mark.parametrize("alias", DATABASES)
def test_hooks_run_in_priority_order_before_the_queued_and_async_handlers(
    alias: str, drain: Callable[[], None]
) -> None:
    """Across Observers, higher priority first, then in the order defined; every other handler of
    the event, an ``async def`` one too, runs later, off the caller's stack, and sees what they set."""
    order: list[str] = []

    class First(Observer[Post]):
        observes = Post

        @on("creating", inline=True)
        def low(self, event_name: str, post: Post) -> None:
            order.append("inline low")
            post.slug += "-low"

        @on("saving", inline=True, priority=50)
        def saving_high(self, event_name: str, post: Post) -> None:
            order.append("inline saving")

        async def creating(self, event_name: str, post: Post) -> None:
            order.append(f"async creating {post.slug}")

    class Second(Observer[Post]):
        observes = Post
        priority = 100

        @on("creating", inline=True)
        def high(self, event_name: str, post: Post) -> None:
            order.append("inline high")
            post.slug = "high"

        @on("creating", priority=200)
        def in_the_queue(self, event_name: str, post: Post) -> None:
            order.append(f"creating {post.slug}")

    Post.objects.using(alias).create(title="t")
    assert order == ["inline high", "inline low", "inline saving"]
    drain()
    assert order[3:] == ["creating high-low", "async creating high-low"]
    # The hooks are not registrations of the dispatcher: each class registered its queued handler alone.
    assert len(First.registrations) == 1
    assert len(Second.registrations) == 1


# -- after the write ------------------------------------------------------------------------


@pytest.mark.parametrize("alias", DATABASES)
def test_after_hooks_run_in_the_callers_transaction(alias: str, drain: Callable[[], None]) -> None:
    """A ``created`` hook runs after the insert, in the caller's transaction: raising there rolls
    back the caller's ``atomic()`` block, and the queued ``created`` handler never gets the event."""
    seen: list[tuple[str, bool, bool]] = []
    handled: list[str] = []

    class AfterObserver(Observer[Post]):
        observes = Post

        @on("created", inline=True)
        def check(self, event_name: str, post: Post) -> None:
            exists = Post.objects.using(alias).filter(pk=post.pk).exists()
            seen.append((post.title, exists, connections[alias].in_atomic_block))
            if post.title == "bad":
                raise ValueError("bad title")

        @on("saved", inline=True)
        def after_created(self, event_name: str, post: Post) -> None:
            seen.append(("saved", True, connections[alias].in_atomic_block))

        def created(self, event_name: str, post: Post) -> None:
            handled.append(post.title)

    with transaction.atomic(using=alias):
        Post.objects.using(alias).create(title="good")
        assert seen == [("good", True, True), ("saved", True, True)]
    seen.clear()
    with pytest.raises(ValueError, match="bad title"), transaction.atomic(using=alias):
        Post.objects.using(alias).create(title="bad")
    assert seen == [("bad", True, True)]  # the saved hook did not run either
    assert list(Post.objects.using(alias).values_list("title", flat=True)) == ["good"]
    drain()
    assert handled == ["good"]


@pytest.mark.parametrize("alias", DATABASES)
def test_an_after_hook_that_raises_in_autocommit_leaves_the_row(alias: str, drain: Callable[[], None]) -> None:
    """Outside ``atomic()`` the insert is committed before the hook runs (as with a ``post_save``
    receiver): the error reaches the caller, the row stays, and no event of the save follows."""
    handled: list[str] = []

    class Raising(Observer[Post]):
        observes = Post

        @on("created", inline=True)
        def fail(self, event_name: str, post: Post) -> None:
            raise WriteRefused("too late to refuse")

        def created(self, event_name: str, post: Post) -> None:
            handled.append("created")

    with pytest.raises(WriteRefused, match="too late to refuse"):
        Post.objects.using(alias).create(title="kept")
    assert Post.objects.using(alias).filter(title="kept").exists()
    drain()
    assert handled == []


@pytest.mark.parametrize("alias", DATABASES)
def test_a_deleted_hook_that_raises_undoes_the_delete(alias: str) -> None:
    """``post_delete`` is sent inside Django's delete transaction: a ``deleted`` hook that raises undoes it."""

    class Undo(Observer[Post]):
        observes = Post

        @on("deleted", inline=True)
        def undo(self, event_name: str, post: Post) -> None:
            raise WriteRefused("not today")

    post = Post.objects.using(alias).create(title="p")
    with pytest.raises(WriteRefused):
        post.delete(using=alias)
    assert Post.objects.using(alias).filter(pk=post.pk).exists()


# -- update_fields --------------------------------------------------------------------------


def title_observer() -> type[Observer[Post]]:
    class TitleObserver(Observer[Post]):
        observes = Post

        @on("saving", inline=True)
        def follow_title(self, event_name: str, post: Post) -> None:
            post.slug = slugify(post.title)

        @on("updating", inline=True, when="title")
        def stamp(self, event_name: str, post: Post) -> None:
            post.status_changed_at = STAMP

        def updated(self, event_name: str, post: Post) -> None:
            changed.append(sorted(self.changes(post)))

    changed: list[list[str]] = []
    TitleObserver.changed = changed  # type: ignore[attr-defined]
    return TitleObserver


@pytest.mark.parametrize("alias", DATABASES)
def test_update_fields_writes_what_the_hooks_assigned(alias: str, drain: Callable[[], None]) -> None:
    """``save(update_fields=["title"])`` writes the title and the fields the hooks assigned, not a
    field the caller changed without listing it; the ``updated`` event's changes name them."""
    observer = title_observer()
    post = Post.objects.using(alias).create(title="first")
    drain()
    post.title = "Second Title"
    post.status = "published"  # changed by the caller, not listed: not written
    with CaptureQueriesContext(connections[alias]) as queries:
        post.save(using=alias, update_fields=["title"])
    [update] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert '"slug" =' in update
    assert '"status_changed_at" =' in update
    assert '"status" =' not in update
    row = Post.objects.using(alias).get(pk=post.pk)
    assert (row.title, row.slug, row.status_changed_at, row.status) == ("Second Title", "second-title", STAMP, "draft")
    drain()
    assert observer.changed == [["slug", "status_changed_at", "title"]]  # type: ignore[attr-defined]
    # The snapshot holds what was written: saving again changes nothing but what the caller sets.
    post.save(using=alias, update_fields=["title"])
    drain()
    assert observer.changed[-1] == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("alias", DATABASES)
def test_a_hook_that_sets_a_deferred_field_gets_it_written(alias: str, drain: Callable[[], None]) -> None:
    """A row loaded with ``only()`` saves its loaded fields only; a field the hook sets is added."""
    title_observer()
    Post.objects.using(alias).create(title="first")
    post = Post.objects.using(alias).only("title").get()
    post.title = "Deferred Slug"
    post.save(using=alias)
    assert Post.objects.using(alias).get(pk=post.pk).slug == "deferred-slug"


@pytest.mark.django_db(transaction=True)
def test_a_hook_that_assigns_the_same_value_adds_nothing(drain: Callable[[], None]) -> None:
    """Only the fields whose value the hooks changed are added to ``update_fields``."""
    title_observer()
    post = Post.objects.create(title="same")
    post.status = "published"
    with CaptureQueriesContext(connections["default"]) as queries:
        post.save(update_fields=["status"])
    [update] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert '"slug"' not in update
    assert '"status"' in update


# -- bulk writes ----------------------------------------------------------------------------


@pytest.mark.parametrize("alias", DATABASES)
def test_bulk_writes_run_no_save_hook_and_queryset_delete_runs_the_delete_hooks(
    alias: str, drain: Callable[[], None]
) -> None:
    """``bulk_create``, ``bulk_update`` and ``update()`` send no per-instance signal: no inline hook
    runs. ``QuerySet.delete()`` sends ``pre_delete`` for each row: its hooks run, and a refusal of
    one row keeps every row."""
    calls: list[str] = []

    class BulkHooks(Observer[BulkItem]):
        observes = BulkItem

        @on("saving", inline=True)
        def saving(self, event_name: str, item: BulkItem) -> None:
            calls.append(f"saving {item.name}")

        @on("deleting", inline=True)
        def refuse_counted(self, event_name: str, item: BulkItem) -> None:
            calls.append(f"deleting {item.name}")
            if item.count:
                raise WriteRefused(f"{item.name} still counts {item.count}")

    items = BulkItem.objects.using(alias).bulk_create([BulkItem(name="a"), BulkItem(name="b", count=2)])
    items[0].count = 1
    BulkItem.objects.using(alias).bulk_update(items, ["count"])
    BulkItem.objects.using(alias).filter(name="a").update(count=0)
    assert calls == []
    with pytest.raises(WriteRefused, match="b still counts 2"):
        BulkItem.objects.using(alias).order_by("name").delete()
    assert calls == ["deleting a", "deleting b"]
    assert BulkItem.objects.using(alias).count() == 2


# -- what keeps a hook from running -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_without_events_keeps_the_hooks_of_what_it_names_from_running(drain: Callable[[], None]) -> None:
    """The model, the action, the Observer (and no target) keep its hooks from running; another
    Observer's target does not."""
    calls: list[str] = []
    observer = slug_observer(calls)

    class Other(Observer[Post]):
        observes = Post

        def created(self, event_name: str, post: Post) -> None: ...

    for target in [(Post,), ("creating",), (observer,), ()]:
        with without_events(*target):
            post = Post.objects.create(title="Quiet Title")
        assert post.slug == "", target
    with without_events(Other, "updated"):
        post = Post.objects.create(title="Loud Title")
    assert post.slug == "loud-title"


@pytest.mark.django_db(transaction=True)
def test_the_testing_helpers_cover_the_hooks(drain: Callable[[], None]) -> None:
    """``muted()`` and a ``fake()`` naming the event keep the hook from running; ``fake()`` without
    targets keeps model events, and hooks, running; ``record_events()`` records the events, not the hooks."""
    calls: list[str] = []
    slug_observer(calls)
    with muted():
        assert Post.objects.create(title="Muted").slug == ""
    with fake(f"{POST}::creating"):
        assert Post.objects.create(title="Faked").slug == ""
    with fake():
        assert Post.objects.create(title="Not Faked").slug == "not-faked"
    calls.clear()
    with record_events() as events:
        assert Post.objects.create(title="Recorded").slug == "recorded"
    assert [name.rsplit("::", 1)[1] for name in events.names] == ["creating", "saving", "created", "saved"]
    assert events.events[0].status == "delivered"
    assert calls == ["inline creating pk=None", "created recorded"]


# -- the binding ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_hooks_keep_their_receivers_connected_and_go_with_their_observer(drain: Callable[[], None]) -> None:
    """A hook's receiver stays connected though no handler receives its events; unregistering the
    Observer removes its hooks, and the ``_save_table`` wrapper of before-save hooks."""
    binding = _models.bind(Post)
    assert "_save_table" not in vars(Post)

    class DeleteGuard(Observer[Post]):
        observes = Post

        @on("deleting", inline=True)
        def guard(self, event_name: str, post: Post) -> None:
            raise WriteRefused("kept")

        def created(self, event_name: str, post: Post) -> None: ...

    post = Post.objects.create(title="p")
    post.save()
    assert binding.receivers == {"post_save", "pre_delete"}  # trimmed: pre_save and post_delete serve nothing
    assert "_save_table" not in vars(Post)  # no before-save hook
    with pytest.raises(WriteRefused):
        post.delete()
    calls: list[str] = []
    slug_observer(calls)
    assert "_save_table" in vars(Post)
    Post.objects.create(title="Two")
    assert "pre_save" in binding.receivers
    DeleteGuard.unregister()
    assert set(binding.inline) == {"creating"}
    post.delete()
    assert not Post.objects.filter(pk=post.pk).exists()
    for observer in list(_observers_of(Post)):
        observer.unregister()
    assert binding.inline == {}
    assert "_save_table" not in vars(Post)


def _observers_of(model: type[Model]) -> list[type[Observer[Any]]]:
    from django_event_system.django._observer import observers

    return [observer for observer in observers() if observer.observes is model]  # pyright: ignore[reportGeneralTypeIssues]


@pytest.mark.django_db(transaction=True)
def test_a_model_without_hooks_keeps_its_save_path(drain: Callable[[], None]) -> None:
    """No hook: the binding's ``inline`` is empty (the receivers' one check), and ``_save_table`` is Django's."""

    class Plain(Observer[Example]):
        observes = Example

        def created(self, event_name: str, example: Example) -> None: ...

    assert _models.bind(Example).inline == {}
    assert "_save_table" not in vars(Example)
    Example.objects.create(name="e")


@pytest.mark.django_db(transaction=True)
def test_a_queued_observer_may_have_inline_hooks(drain: Callable[[], None]) -> None:
    """The class's ``queued`` option is for its other methods: the inline ``creating`` hook runs in
    the saving code's stack, and ``created`` is sent to the worker."""
    from . import queued_hooks

    try:
        with fake_transport() as queued:
            assert Post.objects.create(title="Queued Post").slug == "queued-post"
            queued_hooks.bus.ClearQueue(timeout=10)
            [message] = queued.messages
            assert message.handler == f"{queued_hooks.__name__}:QueuedWithHook.created"
            queued.run()
        assert queued_hooks.handled == ["queued-post"]
    finally:
        queued_hooks.QueuedWithHook.unregister()


@pytest.mark.django_db(transaction=True)
def test_a_hook_replaced_by_a_coroutine_function_is_refused(
    drain: Callable[[], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Patched into an ``async def``, a hook's coroutine would never be awaited: refused, with the hook's name."""
    calls: list[str] = []
    observer = slug_observer(calls)

    async def fill_slug(self: object, event_name: str, post: Post) -> None: ...

    monkeypatch.setattr(observer, "fill_slug", fill_slug)
    with pytest.raises(TypeError, match=r"SlugObserver.fill_slug is an inline hook and returned a coroutine"):
        Post.objects.create(title="t")
    assert not Post.objects.exists()


# -- manage.py events -------------------------------------------------------------------------


def test_events_list_and_match_show_the_inline_hooks() -> None:
    """The listing marks the hooks ``inline`` (``"inline": true`` in JSON), under their event, first."""
    calls: list[str] = []
    observer = slug_observer(calls)
    where = f"{__name__}:{observer.__qualname__}"
    out = StringIO()
    call_command("events", "list", stdout=out, no_color=True)
    text = out.getvalue()
    assert f"      {where}.fill_slug  priority=0  inline" in text
    assert re.search(r"^Handlers \(\d+, and 1 inline\), by pattern:$", text, re.MULTILINE)
    out = StringIO()
    call_command("events", "list", "--json", stdout=out, no_color=True)
    entries = [h for h in json.loads(out.getvalue())["handlers"] if h["handler"].startswith(where)]
    assert sorted((h["handler"], h["pattern"], h["inline"]) for h in entries) == [
        (f"{where}.created", re.escape(f"{POST}::created"), False),
        (f"{where}.fill_slug", re.escape(f"{POST}::creating"), True),
    ]
    out = StringIO()
    call_command("events", "match", f"{POST}::creating", stdout=out, no_color=True)
    assert f"  1. {where}.fill_slug  (pattern " in out.getvalue()
    assert "priority=0  inline)" in out.getvalue()


# -- what is refused ----------------------------------------------------------------------------


def test_inline_with_queued_is_refused() -> None:
    with pytest.raises(
        TypeError, match=r"on\('creating', inline=True, queued=True\): an inline hook runs in the stack"
    ):
        on("creating", inline=True, queued=True)


def test_inline_with_after_commit_is_refused() -> None:
    with pytest.raises(
        TypeError, match=r"on\('created', inline=True, after_commit=True\): .* cannot wait for the commit; choose one"
    ):
        on("created", inline=True, after_commit=True)


def test_an_inline_async_def_is_refused() -> None:
    with pytest.raises(
        TypeError, match=r"is an async def, and an inline hook runs in the stack of the code that saves"
    ):

        class AsyncHook(Observer[Post]):
            observes = Post

            @on("creating", inline=True)
            async def fill(self, event_name: str, post: Post) -> None: ...


def test_inline_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match=r"on\(\): inline must be True or False, not 'yes'"):
        on("creating", inline="yes")  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("action", "kind"),
    [("bulk_created", "a bulk write"), ("queryset_updated", "a bulk write"), ("m2m_added", "a many-to-many change")],
)
def test_an_inline_hook_on_a_bulk_or_m2m_action_is_refused(action: str, kind: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=rf"{action!r} is not one \({kind} goes through no such receiver\)"):

        class BulkHook(Observer[BulkItem]):
            observes = BulkItem

            @on(action, inline=True)
            def hook(self, event_name: str, payload: object) -> None: ...


def test_an_inline_subscriber_method_is_refused() -> None:
    with pytest.raises(ListenerDefinitionError, match=r"is inline, which only an Observer's methods can be"):

        class InlineSubscriber(EventSubscriber):
            @on("orders::.*", inline=True)
            def audit(self, name: str, *args: object) -> None: ...


def test_inline_on_an_event_class_is_refused() -> None:
    class Placed(Event):
        Name = "inline::placed"

    with pytest.raises(TypeError, match=r"inline hooks are for the actions of an Observer's model"):
        on(Placed, inline=True)  # type: ignore[call-overload]


@pytest.mark.parametrize("message", [42, "", None])
def test_write_refused_needs_a_message(message: object) -> None:
    with pytest.raises(
        TypeError, match=rf"WriteRefused\(\) takes a message saying why \(a non-empty str\), not {message!r}"
    ):
        WriteRefused(message)  # type: ignore[arg-type]


def test_inline_hooks_are_described() -> None:
    """``describe()`` names the option; the hook's repr names the method and the action."""
    assert on("creating", inline=True, priority=3) is not None
    calls: list[str] = []
    observer = slug_observer(calls)
    [hook] = _models.bind(Post).inline["creating"]
    assert repr(hook) == f"<inline hook {__name__}:{observer.__qualname__}.fill_slug (creating)>"
    assert hook.before
    assert hook.event == f"{POST}::creating"
    assert _inline.INLINE_ACTIONS == _inline.BEFORE_ACTIONS | _inline.AFTER_ACTIONS
    assert timezone.is_aware(STAMP)


def test_assert_listening_finds_an_inline_hook() -> None:
    """``assert_listening`` sees the hooks, which are not in the dispatcher's registry, and lists them when it fails."""
    calls: list[str] = []
    observer = slug_observer(calls)
    assert_listening(f"{POST}::creating", vars(observer)["fill_slug"])
    with pytest.raises(AssertionError) as info:
        assert_listening(f"{POST}::creating", observer.created)
    assert str(info.value) == (
        f"{observer.created.__qualname__} is not registered for {POST + '::creating'!r}; registered for it:\n"
        f"  - {__name__}:{observer.__qualname__}.fill_slug (inline)"
    )
