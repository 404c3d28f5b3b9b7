"""The outbox against Celery's own: writing a message with the transaction, and relaying it.

Run from the repository root, with PostgreSQL and Redis on 127.0.0.1::

    .venv/bin/python -m benchmarks.outbox                       # 5 rounds of 2,000 events each way
    .venv/bin/python -m benchmarks.outbox --events 500 --rounds 1

It sets Django up on a PostgreSQL database of its own (created, then dropped) and a Celery app
on Redis database 13 (flushed), with no worker: what is timed ends at the broker. In rounds that
alternate the two sides of each pair, per event:

``write``, each event in a ``transaction.atomic()`` block of its own, timed through its commit:

- ``outbox``: ``OrderPlaced.Dispatch(...)`` of an Event whose queued listener uses the outbox
  (its row is inserted in the transaction), then ``ClearQueue()`` once per round, where the
  listener has nothing left to send;
- ``delay_on_commit``: ``record.delay_on_commit(payload)``, Celery's own, which publishes the
  task when the transaction commits.

Both again with a row of the application's written in the same transaction (an ``INSERT`` into
a table of one column), as when a model save causes the event: ``+ row``; and that row alone,
to tell what each side adds to it.

``relay``: N rows pending in the outbox, published by ``Relay.run(once=True)`` (batches of
``OUTBOX_BATCH``, 100: a locked ``SELECT``, the publishes, an ``UPDATE``, the commit), against a
loop of ``apply_async`` of the same task with the same bodies.

Each figure is the best round. Goals: the write at most 1.5x ``delay_on_commit()``; the relay at
least 0.5x the loop's throughput.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import redis
from django.conf import settings

import django
from benchmarks._orders import OrderPlaced, payload

BROKER = os.environ.get("DES_BENCH_BROKER", "redis://127.0.0.1:6379/13")
QUEUE = "des-bench-outbox"
DATABASE = f"des_bench_outbox_{uuid.uuid4().hex[:8]}"
ADMIN_DSN = "host=127.0.0.1 user=postgres dbname=test connect_timeout=5"


def configure() -> None:
    settings.configure(
        SECRET_KEY="benchmarks-only",
        USE_TZ=True,
        INSTALLED_APPS=["django.contrib.contenttypes", "django_event_system"],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": DATABASE,
                "USER": "postgres",
                "HOST": "127.0.0.1",
                "PORT": "5432",
            }
        },
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        DJANGO_EVENT_SYSTEM={"MODE": "async"},
    )
    django.setup()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="events per round and side")
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{DATABASE}"')
    try:
        configure()
        run(options.events, options.rounds)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def run(events: int, rounds: int) -> None:
    from celery import Celery
    from django.core.management import call_command
    from django.db import connection, transaction

    from django_event_system.core import EventDispatcher, Message, Queued, configure_transport
    from django_event_system.django._outbox import Relay
    from django_event_system.models import OutboxMessage
    from django_event_system.transports.celery import CeleryTransport

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_order (n integer NOT NULL)")
    broker = redis.Redis.from_url(BROKER)
    broker.flushdb()
    # The task class of a Django project (Celery's Django fix-up picks it from DJANGO_SETTINGS_MODULE).
    app = Celery(
        "des-bench-outbox", broker=BROKER, set_as_current=False, task_cls="celery.contrib.django.task:DjangoTask"
    )
    app.conf.update(task_default_queue=QUEUE, task_ignore_result=True, broker_connection_retry_on_startup=True)
    transport = CeleryTransport(app)
    configure_transport(transport)

    @app.task(name="bench.record")
    def record(data: dict[str, Any]) -> None:
        """The plain task (never run: there is no worker)."""

    # DjangoTask's method, which the type stubs do not know.
    delay_on_commit: Callable[..., object] = record.delay_on_commit  # type: ignore[attr-defined]
    bus = EventDispatcher()

    OrderPlaced.dispatcher = bus

    def count_order(event: OrderPlaced) -> None:
        """The outbox listener (never run: there is no worker)."""

    bus.listen(OrderPlaced, queued=Queued(outbox=True, key="bench.count_order"))(count_order)

    def save_row(n: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_order (n) VALUES (%s)", [n])

    def each_in_a_transaction(send: Callable[[int], object], *, row: bool) -> Callable[[], float]:
        """Time ``events`` transactions, each with the application's row (if ``row``) and ``send(n)``."""

        def measure() -> float:
            start = time.perf_counter()
            for n in range(events):
                with transaction.atomic():
                    if row:
                        save_row(n)
                    send(n)
            bus.ClearQueue()  # what the outbox listener still does in-process: nothing to send
            return time.perf_counter() - start

        return measure

    def outbox(n: int) -> None:
        OrderPlaced.Dispatch(**payload(n))

    def on_commit(n: int) -> None:
        delay_on_commit(payload(n))

    def nothing(n: int) -> None:
        pass

    def fill() -> list[Message]:
        OutboxMessage.objects.all().delete()
        with transaction.atomic():
            for n in range(events):
                OrderPlaced.Dispatch(**payload(n))
        bus.ClearQueue()
        return [Message(row.body, row.event_id, row.event_name, row.handler) for row in OutboxMessage.objects.all()]

    def relay() -> float:
        fill()
        start = time.perf_counter()
        published = Relay(transport).run(once=True).published
        elapsed = time.perf_counter() - start
        assert published == events, f"the relay published {published} of {events}"
        return elapsed

    def loop() -> float:
        bodies = [message.body for message in fill()]
        start = time.perf_counter()
        for body in bodies:
            record.apply_async((body,))
        return time.perf_counter() - start

    pairs: dict[str, tuple[Callable[[], float], ...]] = {
        "write": (each_in_a_transaction(outbox, row=False), each_in_a_transaction(on_commit, row=False)),
        "write + row": (
            each_in_a_transaction(outbox, row=True),
            each_in_a_transaction(on_commit, row=True),
            each_in_a_transaction(nothing, row=True),
        ),
        "relay": (relay, loop),
    }
    best: dict[str, list[float]] = {name: [float("inf")] * len(pair) for name, pair in pairs.items()}
    for measure_pair in pairs.values():  # warm up: connections open, code paths loaded
        for measure in measure_pair:
            measure()
        broker.flushdb()
    for number in range(1, rounds + 1):
        for name, measure_pair in pairs.items():
            for side, measure in enumerate(measure_pair):
                best[name][side] = min(best[name][side], measure())
                broker.flushdb()
        print(f"round {number} done", flush=True)
    report(events, rounds, best)


def report(events: int, rounds: int, best: dict[str, list[float]]) -> None:
    import celery

    def per_event(seconds: float) -> str:
        return f"{seconds / events * 1e6:7.1f} µs/event"

    print(
        f"{events} events per round and side, best of {rounds} rounds; Celery {celery.__version__}, PostgreSQL, Redis"
    )
    for name in ("write", "write + row"):
        outbox, on_commit = best[name][:2]
        print(
            f"{name:12} outbox {per_event(outbox)}   delay_on_commit {per_event(on_commit)}   "
            f"ratio {outbox / on_commit:.2f}x (goal <= 1.5x)"
        )
    alone = best["write + row"][2]
    print(
        f"{'row alone':12} {per_event(alone)}: the outbox adds {per_event(best['write + row'][0] - alone)}, "
        f"delay_on_commit {per_event(best['write + row'][1] - alone)}"
    )
    relay, loop = best["relay"]
    print(
        f"{'relay':12} relay  {events / relay:7.0f} msg/s      apply_async loop {events / loop:7.0f} msg/s   "
        f"ratio {loop / relay:.2f}x of the loop's throughput (goal >= 0.5x)"
    )


if __name__ == "__main__":
    main()
