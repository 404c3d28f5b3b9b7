"""Queued handlers under Django: models by reference, messages held until commit, settings."""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.test import override_settings

from django_event_system.core import (
    Event,
    EventDispatcher,
    InMemoryTransport,
    Outcome,
    RejectedMessageError,
    SerializationError,
    current_transport,
    queued_handler,
    using_transport,
)
from django_event_system.core.queued._serialization import decode_value, encode_value
from django_event_system.django import Observer, model_event_name
from django_event_system.django._queued import queued_settings
from django_event_system.transports.celery import CeleryTransport
from tests.django.testapp.models import Example, UUIDExample
from tests.helpers import registrations_cancelled

received: list[tuple[Any, ...]] = []
bus = EventDispatcher()


class ExampleSaved(Event):
    Name = "django_queued::example_saved"
    dispatcher = bus
    example: Example
    note: str


def on_saved(event: ExampleSaved) -> None:
    received.append(("saved", event.example, event.note))


def on_named(name: str, *args: Any) -> None:
    received.append(("named", name, args))


def on_model_created(name: str, instance: Example) -> None:
    received.append(("created", instance))


memory_for_settings = InMemoryTransport()


@pytest.fixture
def transport() -> Iterator[InMemoryTransport]:
    """An in-memory transport and queued handlers on a dispatcher of the test's own."""
    received.clear()
    memory = InMemoryTransport()
    with registrations_cancelled(bus):
        bus.listen(ExampleSaved, queued=True)(on_saved)
        bus.RegisterHandler("django_queued::named::.*", on_named, queued=True)
        with using_transport(memory):
            yield memory
    bus.ClearQueue()
    received.clear()


@pytest.mark.django_db
def test_a_model_instance_travels_as_a_reference_and_is_loaded_again() -> None:
    """A saved instance is encoded as [app_label, model_name, pk] and read back from the database."""
    example = Example.objects.create(name="first")
    encoded = encode_value(example)
    assert encoded == {"$model": ["testapp", "example", example.pk]}
    Example.objects.filter(pk=example.pk).update(name="changed since")
    revived = decode_value(json.loads(json.dumps(encoded)))
    assert type(revived) is Example
    assert (revived.pk, revived.name) == (example.pk, "changed since")


@pytest.mark.django_db
def test_a_uuid_primary_key_travels_as_a_uuid() -> None:
    """The primary key is encoded by type, so a UUID key loads the row again."""
    example = UUIDExample.objects.create(name="u")
    revived = decode_value(json.loads(json.dumps(encode_value(example))))
    assert revived.pk == example.pk


@pytest.mark.django_db
def test_a_row_that_is_gone_is_refused() -> None:
    """If the row was deleted before the worker loads it, the message is refused, naming the row."""
    example = Example.objects.create(name="doomed")
    encoded = encode_value(example)
    pk = example.pk
    example.delete()
    with pytest.raises(RejectedMessageError, match=f"the testapp.Example row with pk {pk} no longer exists"):
        decode_value(encoded)


def test_an_unsaved_instance_cannot_be_queued() -> None:
    """An instance without a primary key cannot travel by reference."""
    with pytest.raises(SerializationError, match=r"the testapp\.Example instance has no primary key yet"):
        encode_value(Example(name="unsaved"))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (["auth", "nosuchmodel", 1], "the model auth.nosuchmodel is not installed here"),
        (["auth", "user"], r"malformed model reference \['auth', 'user'\]"),
        ("auth.user:1", "malformed model reference 'auth.user:1'"),
    ],
)
def test_forged_model_references_are_refused(data: object, match: str) -> None:
    """A reference to a model that is not installed, or a malformed one, is refused."""
    with pytest.raises(RejectedMessageError, match=match):
        decode_value({"$model": data})


@pytest.mark.django_db(transaction=True)
def test_messages_wait_for_the_commit(transport: InMemoryTransport) -> None:
    """Inside a transaction nothing is sent, even once handled in-process; the commit sends it."""
    with transaction.atomic():
        example = Example.objects.create(name="committed")
        event = ExampleSaved.Dispatch(example, "hello")
        bus.Dispatch("django_queued::named::x", 1)
        bus.ClearQueue()
        assert transport.sent == []
    assert [message.event_name for message in transport.sent] == [ExampleSaved.Name, "django_queued::named::x"]
    assert transport.sent[0].event_id == event.event_id
    assert [result.outcome for result in transport.work()] == [Outcome.DONE, Outcome.DONE]
    assert received[0][0] == "saved"
    assert (received[0][1].pk, received[0][2]) == (example.pk, "hello")
    assert received[1] == ("named", "django_queued::named::x", (1,))


@pytest.mark.django_db(transaction=True)
def test_a_rollback_sends_nothing(transport: InMemoryTransport) -> None:
    """Messages of a transaction that rolls back are never sent."""

    def work() -> None:
        with transaction.atomic():
            example = Example.objects.create(name="rolled back")
            ExampleSaved.Dispatch(example, "never")
            bus.Dispatch("django_queued::named::y")
            bus.ClearQueue()
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError, match="abort"):
        work()
    bus.ClearQueue()
    assert transport.sent == []


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_savepoint_drops_only_its_messages(transport: InMemoryTransport) -> None:
    """A nested block that rolls back drops its messages; the outer block's are sent on commit."""

    def inner_block() -> None:
        with transaction.atomic():
            inner = Example.objects.create(name="inner")
            ExampleSaved.Dispatch(inner, "inner")
            bus.ClearQueue()
            raise RuntimeError("inner")

    with transaction.atomic():
        outer = Example.objects.create(name="outer")
        ExampleSaved.Dispatch(outer, "outer")
        with pytest.raises(RuntimeError, match="inner"):
            inner_block()
        bus.ClearQueue()
    assert [json.loads(message.body)["event"]["fields"]["note"] for message in transport.sent] == ["outer"]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_messages_go_at_once(transport: InMemoryTransport) -> None:
    """In autocommit, the message is sent as soon as the queue handles the event."""
    example = Example.objects.create(name="autocommit")
    ExampleSaved.Dispatch(example, "now")
    bus.ClearQueue()
    assert len(transport.sent) == 1


@pytest.mark.django_db(transaction=True)
def test_a_deleted_row_is_refused_in_the_worker_and_logged(
    transport: InMemoryTransport, caplog: pytest.LogCaptureFixture
) -> None:
    """The row deleted before the worker runs: refused, logged with the event id, handler not called."""
    example = Example.objects.create(name="short-lived")
    event = ExampleSaved.Dispatch(example, "late")
    bus.ClearQueue()
    pk = example.pk
    example.delete()
    assert [result.outcome for result in transport.work()] == [Outcome.REJECTED]
    assert received == []
    assert f"id {event.event_id}): the testapp.Example row with pk {pk} no longer exists" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_model_events_reach_queued_handlers_after_commit_only(transport: InMemoryTransport) -> None:
    """A queued handler of a model's created event gets it after commit, and never after a rollback."""

    class ExampleObserver(Observer[Example]):
        observes = Example
        dispatcher = bus
        seen: ClassVar[list[str]] = []

        def created(self, event_name: str, instance: Example, /) -> None:
            self.seen.append(instance.name)

    created = model_event_name(Example, "created")
    registration = bus.RegisterHandler(created, on_model_created, queued=True)
    try:
        with transaction.atomic():
            Example.objects.create(name="kept")
            bus.ClearQueue()
            assert ExampleObserver.seen == ["kept"], "in-process observers are not held back"
            assert transport.sent == []
        bus.ClearQueue()
        assert len(transport.sent) == 1
        with pytest.raises(RuntimeError, match="abort"):
            create_and_roll_back("dropped")
        bus.ClearQueue()
        assert len(transport.sent) == 1
        transport.work()
        assert [(tag, instance.name) for tag, instance in received] == [("created", "kept")]
    finally:
        registration.cancel()
        ExampleObserver.unregister()


def create_and_roll_back(name: str) -> None:
    with transaction.atomic():
        Example.objects.create(name=name)
        raise RuntimeError("abort")


def test_the_transport_is_chosen_by_a_setting() -> None:
    """TRANSPORT names a Transport by dotted path; "celery" builds one on the named app."""
    # using_transport restores the transport that the settings replace.
    with using_transport(None):
        with override_settings(
            DJANGO_EVENT_SYSTEM={"QUEUED": {"TRANSPORT": "tests.distributed.test_django_queued.memory_for_settings"}}
        ):
            assert current_transport() is memory_for_settings
        with override_settings(
            DJANGO_EVENT_SYSTEM={
                "QUEUED": {"TRANSPORT": "celery", "CELERY_APP": "tests.distributed.celery_app.app", "QUEUE": "q"}
            }
        ):
            transport = current_transport()
            assert isinstance(transport, CeleryTransport)
            assert (transport.app.main, transport.queue) == ("des-settings", "q")


def test_without_a_transport_setting_the_configured_transport_stays() -> None:
    """A transport configured in code is not replaced when the setting names none."""
    mine = InMemoryTransport()
    with using_transport(mine), override_settings(DJANGO_EVENT_SYSTEM={"QUEUED": {"AFTER_COMMIT": True}}):
        assert current_transport() is mine


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ([], r"\['QUEUED'\] must be a dict, not \[\]"),
        ({"TRANSPORT": "rabbit"}, r"\['TRANSPORT'\] must be 'celery', 'tasks', None or a dotted path, not 'rabbit'"),
        ({"TRANSPORTS": "celery"}, r"has unknown keys \['TRANSPORTS'\]"),
        ({"AFTER_COMMIT": "yes"}, r"\['AFTER_COMMIT'\] must be True or False, not 'yes'"),
        ({"QUEUE": 3}, r"\['QUEUE'\] must be a str or None, not 3"),
        ({"DATABASE": None}, r"\['DATABASE'\] must be a str, not None"),
        ({"ON_ENQUEUE_ERROR": "log"}, r"\['ON_ENQUEUE_ERROR'\] must be 'raise', a callable or its dotted path"),
    ],
)
def test_invalid_queued_settings_are_reported(value: object, match: str) -> None:
    """A bad QUEUED setting raises ImproperlyConfigured where read and fails the system check E020."""
    with override_settings(DJANGO_EVENT_SYSTEM={"QUEUED": value}):
        with pytest.raises(ImproperlyConfigured, match=match):
            queued_settings()
        ids = [message.id for message in checks.run_checks() if message.id]
    assert "django_event_system.E020" in ids


def test_a_queued_handler_counts_as_after_commit_while_messages_are_held() -> None:
    """The adapter's after-commit split treats queued handlers as after-commit handlers."""
    registration = bus.RegisterHandler("django_queued::flag", on_named, queued=True)
    try:
        stub = queued_handler("tests.distributed.test_django_queued:on_named")
        assert stub is not None
        assert stub.after_commit is True
    finally:
        registration.cancel()


def test_a_tasks_transport_needs_a_backend_that_tasks_defines() -> None:
    """An alias missing from the TASKS setting fails when the transport is built, naming it."""
    from django_event_system.transports.tasks import TasksTransport

    with pytest.raises(Exception, match="nope"):
        TasksTransport(backend="nope")
    assert TasksTransport().backend == "default"


observed: list[tuple[str, Example]] = []


def make_observer(name: str, **namespace: Any) -> type[Observer[Example]]:
    """Define a queued Observer of Example, named as if at module level (workers find it by name)."""
    namespace = {"observes": Example, "dispatcher": bus, "queued": True, **namespace}
    namespace.update(__module__=__name__, __qualname__=name)
    observer: type[Observer[Example]] = types.new_class(name, (Observer[Example],), {}, lambda ns: ns.update(namespace))
    return observer


def record_created(self: Observer[Example], event_name: str, instance: Example, /) -> None:
    observed.append((event_name, instance))


def record_deleted(self: Observer[Example], event_name: str, instance: Example, /) -> None:
    observed.append((event_name, instance))


@pytest.mark.django_db(transaction=True)
def test_a_queued_observer_runs_in_the_worker_after_commit(transport: InMemoryTransport) -> None:
    """A queued Observer's created() is sent once the transaction commits and runs on the loaded row."""
    observed.clear()
    observer = make_observer("QueuedExampleObserver", created=record_created)
    try:
        with transaction.atomic():
            example = Example.objects.create(name="observed")
            bus.ClearQueue()
            assert transport.sent == []
        bus.ClearQueue()
        assert [message.handler for message in transport.sent] == [f"{__name__}:QueuedExampleObserver.created"]
        assert observed == []
        transport.work()
        ((name, instance),) = observed
        assert (name, instance.pk, instance is example) == (model_event_name(Example, "created"), example.pk, False)
    finally:
        observer.unregister()
        observed.clear()


@pytest.mark.parametrize(
    ("namespace", "match"),
    [
        ({"deleted": record_deleted}, r"is queued and defines deleted\(\), which a worker cannot handle"),
        ({"created": record_created, "queued": 1}, r"\.queued must be True or False, not 1"),
        ({"created": record_created, "max_retries": -1}, "max_retries must be an int >= 0, not -1"),
    ],
)
def test_invalid_queued_observers_are_refused_when_defined(namespace: dict[str, Any], match: str) -> None:
    """A queued Observer that handles what a worker cannot, or has bad options, fails at definition."""
    with pytest.raises(ImproperlyConfigured, match=match):
        make_observer("BadQueuedObserver", **namespace)
    assert not [registration for registration in bus.registry if "BadQueuedObserver" in repr(registration)]


def test_a_queued_observer_defined_in_a_function_is_refused() -> None:
    """A queued Observer must have a name that the workers can import."""

    with pytest.raises(ImproperlyConfigured, match="is queued but defined inside a function"):

        class Local(Observer[Example]):
            observes = Example
            dispatcher = bus
            queued = True

            def created(self, event_name: str, instance: Example, /) -> None: ...
