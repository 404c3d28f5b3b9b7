"""Tests for the many-to-many actions: ``m2m_added``, ``m2m_removed`` and ``m2m_cleared``, from either side.

The tests that touch the database run on SQLite and on the real PostgreSQL server (skipped where
it does not answer).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings

from django_event_system import EventDispatcher, M2MChanged, Observer, RegisterSignalsFor
from django_event_system.core import Outcome
from django_event_system.django._many_to_many import watched_through_models
from django_event_system.testing import fake_transport

from .databases import DATABASES
from .testapp.models import Article, Assignment, Editor, Tag

ARTICLE = "events::db::tests::django::testapp::models::Article"
TAG = "events::db::tests::django::testapp::models::Tag"


Calls = list[tuple[str, str, M2MChanged[Any]]]


def article_observer(calls: Calls, *, after_commit: bool = False) -> type[Observer[Article]]:
    """An Observer of Article that records ``(method, event name, change)`` for the many-to-many actions."""
    committed = after_commit

    class ArticleObserver(Observer[Article]):
        observes = Article
        after_commit = committed

        def m2m_added(self, event_name: str, change: M2MChanged[Article]) -> None:
            calls.append(("m2m_added", event_name, change))

        def m2m_removed(self, event_name: str, change: M2MChanged[Article]) -> None:
            calls.append(("m2m_removed", event_name, change))

        def m2m_cleared(self, event_name: str, change: M2MChanged[Article]) -> None:
            calls.append(("m2m_cleared", event_name, change))

    return ArticleObserver


def summary(calls: Calls) -> list[tuple[str, str, list[int], bool]]:
    return [(method, change.relation, sorted(change.pks), change.reverse) for method, _, change in calls]


@pytest.mark.parametrize("alias", DATABASES)
def test_add_remove_and_clear_dispatch_their_actions(alias: str, drain: Callable[[], None]) -> None:
    """Each call on the forward side dispatches one event with the relation, the keys and the side."""
    db = Tag.objects.using(alias)
    red, green, blue = db.create(name="red"), db.create(name="green"), db.create(name="blue")
    article = Article.objects.using(alias).create(title="news")
    calls: Calls = []
    article_observer(calls)
    article.tags.add(red, green)
    article.tags.remove(red)
    article.tags.add(blue)
    article.tags.clear()
    drain()
    assert summary(calls) == [
        ("m2m_added", "tags", sorted([red.pk, green.pk]), False),
        ("m2m_removed", "tags", [red.pk], False),
        ("m2m_added", "tags", [blue.pk], False),
        ("m2m_cleared", "tags", sorted([green.pk, blue.pk]), False),
    ]
    _, name, change = calls[0]
    assert name == f"{ARTICLE}::m2m_added"
    assert change.instance is article
    assert change.model is Tag
    assert change.through is Article.tags.through
    assert repr(change) == f"<M2MChanged testapp.Article {article.pk!r}.tags (forward), 2 testapp.Tag pks>"


@pytest.mark.django_db
def test_set_dispatches_what_it_removes_and_adds(drain: Callable[[], None]) -> None:
    """``set()`` is a removal and an addition: one event for each, none for what stays."""
    red, green, blue = (Tag.objects.create(name=name) for name in ("red", "green", "blue"))
    article = Article.objects.create(title="news")
    article.tags.add(red, green)
    calls: Calls = []
    article_observer(calls)
    article.tags.set([green, blue])
    drain()
    assert summary(calls) == [("m2m_removed", "tags", [red.pk], False), ("m2m_added", "tags", [blue.pk], False)]


@pytest.mark.django_db
def test_a_change_that_changes_nothing_dispatches_nothing(drain: Callable[[], None]) -> None:
    """Adding what is there already, or clearing an empty relation, dispatches no event."""
    red = Tag.objects.create(name="red")
    article = Article.objects.create(title="news")
    article.tags.add(red)
    calls: Calls = []
    article_observer(calls)
    article.tags.add(red)
    article.tags.clear()
    article.tags.clear()
    drain()
    assert summary(calls) == [("m2m_cleared", "tags", [red.pk], False)]


@pytest.mark.parametrize("alias", DATABASES)
def test_from_the_reverse_side_the_event_is_the_other_models(alias: str, drain: Callable[[], None]) -> None:
    """``tag.articles.add(article)`` is the Tag's event (reverse), not the Article's."""
    article_calls: Calls = []
    article_observer(article_calls)
    tag_calls: Calls = []

    class TagObserver(Observer[Tag]):
        observes = Tag

        def m2m_added(self, event_name: str, change: M2MChanged[Tag]) -> None:
            tag_calls.append(("m2m_added", event_name, change))

    first, second = (Article.objects.using(alias).create(title=title) for title in ("first", "second"))
    tag = Tag.objects.using(alias).create(name="red")
    tag.articles.add(first, second)
    drain()
    assert article_calls == []
    assert summary(tag_calls) == [("m2m_added", "articles", sorted([first.pk, second.pk]), True)]
    _, name, change = tag_calls[0]
    assert name == f"{TAG}::m2m_added"
    assert change.instance is tag
    assert change.model is Article
    assert list(first.tags.all()) == [tag]


@pytest.mark.parametrize("alias", DATABASES)
def test_a_custom_intermediate_model_is_followed(alias: str, drain: Callable[[], None]) -> None:
    """A relation through a model of the application's dispatches the same actions, naming that model."""
    calls: Calls = []
    article_observer(calls)
    article = Article.objects.using(alias).create(title="news")
    ann, bob = (Editor.objects.using(alias).create(name=name) for name in ("ann", "bob"))
    article.editors.add(ann, through_defaults={"role": "author"})
    article.editors.add(bob, through_defaults={"role": "reviewer"})
    bob.articles.remove(article)  # the Editor's event: nobody observes Editor
    article.editors.clear()
    drain()
    assert summary(calls) == [
        ("m2m_added", "editors", [ann.pk], False),
        ("m2m_added", "editors", [bob.pk], False),
        ("m2m_cleared", "editors", [ann.pk], False),
    ]
    assert calls[0][2].through is Assignment
    assert Assignment.objects.using(alias).count() == 0


@pytest.mark.parametrize("alias", DATABASES)
def test_after_commit_observers_get_them_once_committed(alias: str, drain: Callable[[], None]) -> None:
    """An after-commit Observer's many-to-many methods wait for the commit; a rollback drops them."""
    calls: Calls = []
    article_observer(calls, after_commit=True)
    article = Article.objects.using(alias).create(title="news")
    red = Tag.objects.using(alias).create(name="red")
    with transaction.atomic(using=alias):
        article.tags.add(red)
        drain()
        assert calls == []
    drain()
    assert summary(calls) == [("m2m_added", "tags", [red.pk], False)]
    calls.clear()
    with pytest.raises(RuntimeError, match="rolled back"):
        clear_and_roll_back(article, alias)
    drain()
    assert calls == []
    assert list(article.tags.all()) == [red]


def clear_and_roll_back(article: Article, alias: str) -> None:
    with transaction.atomic(using=alias):
        article.tags.clear()
        raise RuntimeError("rolled back")


@pytest.mark.django_db
def test_clear_reads_the_keys_only_for_a_handler(django_assert_num_queries: Any) -> None:
    """Without a handler of ``m2m_cleared``, ``clear()`` costs what it costs in Django."""

    class AddedOnly(Observer[Article]):
        observes = Article

        def m2m_added(self, event_name: str, change: M2MChanged[Article]) -> None: ...

    article = Article.objects.create(title="news")
    article.tags.add(Tag.objects.create(name="red"))
    with django_assert_num_queries(1):
        article.tags.clear()
    article_observer([])
    article.tags.add(Tag.objects.create(name="green"))
    with django_assert_num_queries(2):
        article.tags.clear()


@pytest.mark.django_db
def test_the_receiver_follows_the_bindings() -> None:
    """Only the intermediate models of bound models are connected, until their last claimant goes."""
    through = Article.tags.through
    assert through not in watched_through_models()
    observer = article_observer([])
    assert {through, Assignment} <= watched_through_models()
    names = RegisterSignalsFor(Tag)
    assert names["m2m_added"] == f"{TAG}::m2m_added"
    observer.unregister()
    assert through in watched_through_models(), "Tag is still bound"
    assert Assignment not in watched_through_models()


# -- queued Observers -----------------------------------------------------------------------

queued_calls: Calls = []
queued_bus = EventDispatcher()


def on_added(self: Observer[Article], event_name: str, change: M2MChanged[Article], /) -> None:
    queued_calls.append(("m2m_added", event_name, change))


@pytest.mark.django_db(transaction=True)
def test_a_queued_observer_gets_the_change_with_the_instance_loaded_again() -> None:
    """A queued Observer's ``m2m_added`` runs from a message sent after the commit."""
    queued_calls.clear()
    namespace: dict[str, Any] = {"observes": Article, "queued": True, "dispatcher": queued_bus, "m2m_added": on_added}
    namespace.update(__module__=__name__, __qualname__="QueuedArticleObserver")
    types.new_class("QueuedArticleObserver", (Observer[Article],), {}, lambda ns: ns.update(namespace))
    article = Article.objects.create(title="news")
    red = Tag.objects.create(name="red")
    with fake_transport() as queued, override_settings(DJANGO_EVENT_SYSTEM={"QUEUED": {}}):
        with transaction.atomic():
            article.tags.add(red)
            assert queued.messages == []
        [message] = queued.messages
        assert message.handler == f"{__name__}:QueuedArticleObserver.m2m_added"
        assert [result.outcome for result in queued.run()] == [Outcome.DONE]
    [(_, name, change)] = queued_calls
    assert name == f"{ARTICLE}::m2m_added"
    assert change.instance == article
    assert change.instance is not article
    assert (change.relation, change.pks, change.reverse, change.model, change.through) == (
        "tags",
        frozenset({red.pk}),
        False,
        Tag,
        Article.tags.through,
    )
