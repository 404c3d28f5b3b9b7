"""Tests for the events panel of django-debug-toolbar, as the toolbar's own tests do it: a request
through the test client with the toolbar's middleware, then the panel rendered by the toolbar's
``render_panel`` view, and its content checked."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from debug_toolbar.settings import PANELS_DEFAULTS
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.test import Client, override_settings

from django_event_system import Dispatcher, Event
from django_event_system.core import Queued
from django_event_system.core.queued import _sending
from django_event_system.debug_toolbar import EventsPanel
from django_event_system.testing import fake_transport
from tests.examples import block

from .toolbarapp import views

TOOLBAR_SETTINGS: dict[str, Any] = {
    "DEBUG": True,
    "INSTALLED_APPS": [
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "django.contrib.sessions",
        "django.contrib.staticfiles",
        "django_event_system",
        "debug_toolbar",
        "tests.django.testapp",
    ],
    "MIDDLEWARE": ["debug_toolbar.middleware.DebugToolbarMiddleware"],
    "ROOT_URLCONF": "tests.django.toolbarapp.urls",
    "TEMPLATES": [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
    # Every panel, as the docs set them: the toolbar's URLs are those of the panels of the
    # first request it serves in the process.
    "DEBUG_TOOLBAR_PANELS": [*PANELS_DEFAULTS, "django_event_system.debug_toolbar.EventsPanel"],
    "DEBUG_TOOLBAR_CONFIG": {
        "SHOW_TOOLBAR_CALLBACK": "tests.django.toolbarapp.show_toolbar",
        "IS_RUNNING_TESTS": False,
        "EVENTS_PANEL_WAIT": 5,
    },
}


class OrderPlaced(Event):
    Name = "shop::order_placed"
    order_id: int


def charge(event: OrderPlaced) -> None:
    """A handler that returns."""


def refuse(event: OrderPlaced) -> None:
    """A handler that raises."""
    raise ValueError(f"card declined for order {event.order_id}")


def stop(event: OrderPlaced) -> None:
    """A handler that stops the event's propagation."""
    event.stop_propagation()


def notify(name: str, *args: object, **kwargs: object) -> None:
    """A handler of a pattern that dispatches another event (a cascade)."""
    Dispatcher.Dispatch("shop::notified", by=name)


def audit(name: str, *args: object, **kwargs: object) -> None:
    """A handler of a pattern."""


@pytest.fixture
def scenario(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[], object]], None]:
    """Set what the page does."""

    def use(run: Callable[[], object]) -> None:
        monkeypatch.setattr(views, "scenario", run)

    return use


@pytest.fixture
def toolbar() -> Iterator[None]:
    with override_settings(**TOOLBAR_SETTINGS):
        yield


@pytest.fixture(autouse=True)
def _no_interceptor_left() -> Iterator[None]:
    """Every test leaves the global dispatcher without interceptors (on its fast path)."""
    yield
    for registration in list(Dispatcher.registry):
        registration.cancel()
    assert Dispatcher.interceptors.chain == ()


def panel_html(client: Client, path: str = "/") -> str:
    """Load ``path``, then the events panel of that request as the toolbar's front end does."""
    page = client.get(path)
    assert page.status_code == 200
    body = page.content.decode()
    found = re.search(r'data-request-id="([0-9a-f]+)"', body)
    assert found, f"the toolbar is not on the page: {body[:500]}"
    assert 'id="djdt-EventsPanel"' in body or "EventsPanel" in body
    response = client.get("/__debug__/render_panel/", {"request_id": found.group(1), "panel_id": "EventsPanel"})
    assert response.status_code == 200, response.content
    content: str = json.loads(response.content)["content"]
    return html.unescape(re.sub(r"\s+", " ", content))


def handler_rows(content: str) -> list[str]:
    """The text of each handler row, in order."""
    rows = re.findall(r'<tr class="djdt-handler djdt-handler-(\w+)[^"]*">(.*?)</tr>', content)
    return [f"{status}: {re.sub(r'<[^>]+>', '', text).strip()}" for status, text in rows]


pytestmark = pytest.mark.usefixtures("toolbar")


def test_each_event_with_its_handlers_in_order_called_or_not_with_errors(
    client: Client, scenario: Callable[[Callable[[], object]], None]
) -> None:
    """Handlers in the order they run: called, raised (with the error), not called after a stop."""
    Dispatcher.listen(OrderPlaced, priority=10)(charge)
    Dispatcher.listen(OrderPlaced, priority=5)(refuse)
    Dispatcher.listen(OrderPlaced, priority=1)(stop)
    Dispatcher.listen(OrderPlaced)(charge)
    scenario(lambda: OrderPlaced.Dispatch(order_id=42))
    content = panel_html(client)
    assert "shop::order_placed" in content
    assert '<span class="djdt-note">OrderPlaced</span>' in content
    assert "order_id=42" in content
    rows = handler_rows(content)
    assert [row.split(":")[0] for row in rows] == ["ok", "failed", "ok", "stopped"]
    assert "ValueError: card declined for order 42" in rows[1]
    assert "raised" in rows[1]
    assert "tests.django.test_debug_toolbar:refuse" in rows[1]
    assert "priority=5" in rows[1]
    assert "not called: propagation stopped" in rows[3]
    assert "Traceback" in content
    assert "1 with a failed handler" in content


def test_cascades_unhandled_events_and_queue_wait(
    client: Client, scenario: Callable[[Callable[[], object]], None]
) -> None:
    """An event dispatched by a handler is the request's too, an event nobody receives is said so,
    and each handled event has a queue wait."""
    Dispatcher.RegisterHandler("shop::order_.*", notify)

    def run() -> None:
        Dispatcher.Dispatch("shop::order_paid", 7, amount=3)
        Dispatcher.Dispatch("shop::nobody_listens")

    scenario(run)
    content = panel_html(client)
    assert "3 events dispatched, 1 handler" in content
    assert "2 that no handler received" in content
    events = re.findall(r'<tr class="djdt-event[^"]*" id="djdt-event-(\d+)">(.*?)</tr>', content)
    by_number = {int(number): text for number, text in events}
    assert "shop::order_paid" in by_number[1]
    assert "7, amount=3" in by_number[1]
    assert "shop::nobody_listens" in by_number[2]
    assert "no handler received it" in by_number[3]
    assert "no handler received it" in by_number[2]
    assert "shop::notified" in by_number[3]
    assert "dispatched by a handler of #1" in by_number[3]
    assert "by='shop::order_paid'" in by_number[3]
    waits = re.findall(r"<td>([0-9.]+)</td> <td>[0-9.]+</td> $", by_number[1])
    assert waits, f"no queue wait in {by_number[1]!r}"
    assert "pending" not in content


@pytest.mark.django_db(transaction=True)
def test_after_commit_handlers_waiting_then_delivered_or_dropped(
    client: Client, scenario: Callable[[Callable[[], object]], None]
) -> None:
    """An after-commit handler is shown held, then called after the commit; dropped on a rollback."""

    class OrderShipped(Event):
        Name = "shop::order_shipped"
        after_commit = True
        order_id: int

    Dispatcher.RegisterHandler("shop::order_.*", audit)
    Dispatcher.RegisterHandler("shop::order_.*", audit_after, after_commit=True)

    def run() -> None:
        with transaction.atomic():
            Dispatcher.Dispatch("shop::order_committed")
        try:
            with transaction.atomic():
                Dispatcher.Dispatch("shop::order_rolled_back")
                raise RuntimeError("rollback")
        except RuntimeError:
            pass
        OrderShipped.Dispatch(order_id=1)  # outside a transaction: at once

    scenario(run)
    try:
        content = panel_html(client)
    finally:
        OrderShipped.after_commit = False  # an after-commit class keeps the dispatcher's commit gate
    rows = handler_rows(content)
    assert rows[0].startswith("ok: 1. tests.django.test_debug_toolbar:audit")
    assert rows[1].startswith("ok: 2. tests.django.test_debug_toolbar:audit_after")
    assert "after_commit" in rows[1]
    assert rows[2].startswith("ok: 1. tests.django.test_debug_toolbar:audit")
    assert rows[3].startswith("dropped: 2.")
    assert "dropped: rolled back" in rows[3]
    assert '<span class="djdt-note">in a transaction: committed</span>' in content
    assert '<span class="djdt-note">in a transaction: rolled back</span>' in content
    assert '<span class="djdt-note">OrderShipped, after_commit</span>' in content


def audit_after(name: str, *args: object, **kwargs: object) -> None:
    """An after-commit handler."""


def queued_audit(name: str, *args: object, **kwargs: object) -> None:
    """A queued handler (runs in a worker)."""


@pytest.fixture
def queued_on_dispatcher() -> Iterator[None]:
    """Let the test register queued handlers on the global Dispatcher; take its dispatch check away after."""
    yield
    check = _sending._DispatchCheck._installed.pop(Dispatcher, None)
    if check is not None:
        Dispatcher.interceptors.remove(check.check)


@pytest.mark.usefixtures("queued_on_dispatcher")
def test_queued_handlers_are_sent_to_the_transport(
    client: Client, scenario: Callable[[Callable[[], object]], None]
) -> None:
    """A queued handler's row says that it is queued and that its message went to the transport."""
    with (
        fake_transport() as transport,
        Dispatcher.RegisterHandler("shop::order_.*", queued_audit, queued=Queued(max_retries=0)),
    ):
        scenario(lambda: Dispatcher.Dispatch("shop::order_queued", order_id=3))
        content = panel_html(client)
        assert len(transport.messages) == 1
    [row] = handler_rows(content)
    assert row.startswith("ok: 1. tests.django.test_debug_toolbar:queued_audit")
    assert "queued" in row
    assert "sent to the transport" in row


def test_events_still_pending_after_the_wait_are_said_so(
    client: Client, scenario: Callable[[Callable[[], object]], None]
) -> None:
    """With no time to wait and a handler that waits on I/O, the panel says what is pending."""
    import gevent.event

    release = gevent.event.Event()

    def slow(name: str) -> None:
        release.wait(10)

    Dispatcher.RegisterHandler("shop::slow", slow)
    scenario(lambda: Dispatcher.Dispatch("shop::slow"))
    config = {**TOOLBAR_SETTINGS["DEBUG_TOOLBAR_CONFIG"], "EVENTS_PANEL_WAIT": 0}
    # Not drained at the request's end either, so that the handler still waits when the panel is rendered.
    with override_settings(DEBUG_TOOLBAR_CONFIG=config, DJANGO_EVENT_SYSTEM={"DRAIN_ON_REQUEST_FINISHED": False}):
        content = panel_html(client)
    release.set()
    Dispatcher.ClearQueue(timeout=10)
    assert "1 still pending" in content
    assert handler_rows(content)[0].startswith("pending: 1.")


def test_the_request_leaves_no_interceptor(client: Client, scenario: Callable[[Callable[[], object]], None]) -> None:
    """Once the panel has its data, the dispatcher is back on its fast path."""
    scenario(lambda: Dispatcher.Dispatch("shop::anything"))
    panel_html(client)
    assert not Dispatcher.interceptors.observed


def test_events_outside_the_request_are_not_shown(
    client: Client, scenario: Callable[[Callable[[], object]], None]
) -> None:
    """Only the request's events: what other code dispatches meanwhile is not the request's."""
    import threading

    def run() -> None:
        Dispatcher.Dispatch("shop::mine")
        worker = threading.Thread(target=lambda: Dispatcher.Dispatch("shop::theirs"))
        worker.start()
        worker.join(10)

    scenario(run)
    content = panel_html(client)
    assert "shop::mine" in content
    assert "shop::theirs" not in content


def test_the_nav_subtitle_counts_events_failures_and_pending() -> None:
    """The toolbar's side bar shows the counts."""

    class Stub(EventsPanel):
        def __init__(self, stats: dict[str, Any]) -> None:
            self._stats = stats

        def get_stats(self) -> dict[str, Any]:
            return self._stats

    assert Stub({}).nav_subtitle == "0 events"
    assert Stub({"events": [{}], "failed": 0}).nav_subtitle == "1 event"
    assert Stub({"events": [{}, {}], "failed": 1, "pending": 2}).nav_subtitle == "2 events, 1 failed, 2 pending"


@pytest.mark.parametrize("value", [-1, "1", True, None])
def test_a_bad_wait_setting_is_refused_with_what_to_do(
    client: Client, scenario: Callable[[Callable[[], object]], None], value: object
) -> None:
    """``EVENTS_PANEL_WAIT`` must be a number of seconds, 0 or more."""
    config = {**TOOLBAR_SETTINGS["DEBUG_TOOLBAR_CONFIG"], "EVENTS_PANEL_WAIT": value}
    with override_settings(DEBUG_TOOLBAR_CONFIG=config), pytest.raises(ImproperlyConfigured) as raised:
        client.get("/")
    assert str(raised.value) == (
        'DEBUG_TOOLBAR_CONFIG["EVENTS_PANEL_WAIT"] must be a number of seconds, 0 or more (how long the '
        f"events panel waits for the request's events to be handled), not {value!r}"
    )
    assert not Dispatcher.interceptors.observed


def test_the_readme_settings_show_the_panel(client: Client, scenario: Callable[[Callable[[], object]], None]) -> None:
    """The docs' settings block, as written, puts the panel in the toolbar."""
    code = block("debug-toolbar-settings")
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    panels = namespace["DEBUG_TOOLBAR_PANELS"]
    assert "django_event_system.debug_toolbar.EventsPanel" in panels
    config = {**TOOLBAR_SETTINGS["DEBUG_TOOLBAR_CONFIG"], **namespace["DEBUG_TOOLBAR_CONFIG"]}
    Dispatcher.RegisterHandler("shop::.*", audit)
    scenario(lambda: Dispatcher.Dispatch("shop::from_the_readme"))
    with override_settings(DEBUG_TOOLBAR_PANELS=panels, DEBUG_TOOLBAR_CONFIG=config):
        content = panel_html(client)
    assert "shop::from_the_readme" in content
    assert handler_rows(content)[0].startswith("ok: 1. tests.django.test_debug_toolbar:audit")
