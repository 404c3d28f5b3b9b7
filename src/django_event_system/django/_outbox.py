"""The outbox: queued messages written in the transaction that caused them, published by a relay.

Without it, a queued handler's message is sent after the commit, from the web process: if the
process dies between the commit and the publish, or the broker is down then, the message is lost
(or left to the enqueue error policy). With ``DJANGO_EVENT_SYSTEM["QUEUED"]["OUTBOX"] = True`` (or
``Queued(outbox=True)``, ``outbox = True`` on a listener):

- at dispatch, in the dispatching code's stack, the message is written as an
  :class:`~django_event_system.models.OutboxMessage` row (:class:`DatabaseOutbox`), in the
  transaction of the data that caused it: nothing is published before the commit, and a rollback
  leaves no row;
- ``manage.py events relay`` (:class:`Relay`) publishes the committed rows through the transport,
  a batch per transaction, retries failed publishes with backoff, and deletes sent rows after
  ``OUTBOX_KEEP_SENT``. Where the database can skip locked rows (PostgreSQL, MySQL 8, Oracle),
  relays lock their batch (``SELECT ... FOR UPDATE SKIP LOCKED``) until it is marked sent, so that
  several share the work and none publishes a row that another holds. Elsewhere (SQLite) there is
  no such lock: run one relay;
- the worker runs the handler once per event and handler (:class:`OncePerEvent`): it records the
  delivery as a :class:`~django_event_system.models.ProcessedMessage` in the transaction of the
  handler's own writes, and a message that comes again (a relay that died after publishing, a
  broker's redelivery) finds the record and is skipped.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, IntegrityError, connections, transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from ..core import Delivery, Message, Transport
from ..core.integration import set_delivery_guard, set_outbox

DEFAULT_OUTBOX_BATCH = 100
"""How many rows the relay publishes per transaction."""

__all__ = [
    "DEFAULT_OUTBOX_BATCH",
    "DatabaseOutbox",
    "OncePerEvent",
    "OutboxStats",
    "Relay",
    "RelayResult",
    "install_outbox",
    "outbox_stats",
]

logger = logging.getLogger("django_event_system.queued")


class DatabaseOutbox:
    """Writes outbox messages as rows of the database ``using``, in its current transaction.

    :param default: whether queued handlers that do not say (``Queued(outbox=None)``) use it.
    """

    def __init__(self, using: str, *, default: bool) -> None:
        self.using = using
        self.default = default

    def write(self, messages: list[Message]) -> None:
        """Insert one row per message. :raises DatabaseError: the insert failed (the caller's transaction too)."""
        from ..models import OutboxMessage

        now = timezone.now()
        OutboxMessage.objects.using(self.using).bulk_create(
            [
                OutboxMessage(
                    created_at=now,
                    available_at=now,
                    event_id=message.event_id,
                    event_name=message.event_name,
                    handler=message.handler,
                    queue=message.queue,
                    body=message.body,
                )
                for message in messages
            ]
        )

    def __repr__(self) -> str:
        return f"<DatabaseOutbox using={self.using!r} default={self.default!r}>"


class OncePerEvent:
    """The delivery guard of outbox messages: runs a handler once per event id and handler key.

    The record and the handler run in one transaction of the database ``using``: the handler's
    writes there and the record commit together, or neither does (the handler failed, and a retry
    runs it again). A concurrent copy of the same message waits on the record's unique index and
    is skipped once the first commits.
    """

    def __init__(self, using: str) -> None:
        self.using = using

    def __call__(self, delivery: Delivery, run: Callable[[], None]) -> bool:
        from ..models import ProcessedMessage

        recorded = False
        try:
            with transaction.atomic(using=self.using):
                ProcessedMessage.objects.using(self.using).create(event_id=delivery.event_id, handler=delivery.handler)
                recorded = True
                run()
        except IntegrityError:
            if recorded:
                raise  # the handler's own
            return False
        return True

    def __repr__(self) -> str:
        return f"<OncePerEvent using={self.using!r}>"


def install_outbox(options: dict[str, Any]) -> None:
    """Install the outbox and the delivery guard of the ``QUEUED`` options (the app does when ready)."""
    set_outbox(DatabaseOutbox(options["DATABASE"], default=options["OUTBOX"]))
    set_delivery_guard(OncePerEvent(options["DATABASE"]))


# -- the relay ----------------------------------------------------------------------------------


@dataclass
class RelayResult:
    """What a relay published: rows sent, and publishes that failed (each row is retried later)."""

    published: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list[str])

    def add(self, other: RelayResult) -> None:
        self.published += other.published
        self.failed += other.failed
        self.errors.extend(other.errors)


class Relay:
    """Publishes the committed rows of the outbox through ``transport``, a batch at a time.

    :param using: the database of the outbox.
    :param batch: the most rows published per batch (one transaction).
    :param retry_backoff: seconds before a row whose publish failed is tried again; each further
        failure doubles it, up to ``retry_backoff_max``.
    :param keep_sent: seconds sent rows, and the worker's records of handled messages, are kept.
    """

    purge_every = 60.0
    """Seconds between two deletions of old rows while the relay runs."""

    def __init__(
        self,
        transport: Transport,
        *,
        using: str = "default",
        batch: int = DEFAULT_OUTBOX_BATCH,
        retry_backoff: float = 1.0,
        retry_backoff_max: float = 300.0,
        keep_sent: float = 7 * 24 * 3600.0,
    ) -> None:
        self.transport = transport
        self.using = using
        self.batch = batch
        self.retry_backoff = retry_backoff
        self.retry_backoff_max = retry_backoff_max
        self.keep_sent = keep_sent

    @classmethod
    def from_settings(cls, transport: Transport, options: Mapping[str, Any]) -> Relay:
        """A relay with the options of ``DJANGO_EVENT_SYSTEM["QUEUED"]``, as ``queued_settings()`` reads them."""
        return cls(
            transport,
            using=options["DATABASE"],
            batch=options["OUTBOX_BATCH"],
            retry_backoff=options["OUTBOX_RETRY_BACKOFF"],
            retry_backoff_max=options["OUTBOX_RETRY_BACKOFF_MAX"],
            keep_sent=options["OUTBOX_KEEP_SENT"],
        )

    @property
    def locks_rows(self) -> bool:
        """Whether batches are locked, so that concurrent relays never publish the same row."""
        return bool(connections[self.using].features.has_select_for_update_skip_locked)

    def publish_batch(self, *, up_to: int | None = None) -> RelayResult:
        """Publish one batch of the rows that are due, oldest first; ``up_to``: no row after that id.

        The rows of a failed publish get their next try after the backoff, and the batch stops
        there: the broker is likely down, and the rest waits for the next batch.
        """
        from ..models import OutboxMessage

        locking = self.locks_rows
        with transaction.atomic(using=self.using) if locking else contextlib.nullcontext():
            due = OutboxMessage.objects.using(self.using).filter(sent_at__isnull=True, available_at__lte=timezone.now())
            if up_to is not None:
                due = due.filter(id__lte=up_to)
            due = due.order_by("id")
            if locking:
                due = due.select_for_update(skip_locked=True)
            # Tuples, not model instances: building them would cost as much as the query.
            rows = due.values_list("id", "body", "event_id", "event_name", "handler", "queue", "attempts")
            return self._publish(list(rows[: self.batch]))

    def _publish(self, rows: list[tuple[int, str, str, str, str, str | None, int]]) -> RelayResult:
        from ..models import OutboxMessage

        result = RelayResult()
        sent: list[int] = []
        enqueue = self.transport.enqueue
        failure: tuple[tuple[int, str, str, str, str, str | None, int], Exception] | None = None
        for row in rows:
            try:
                enqueue(Message(*row[1:6]))
            except Exception as exc:
                failure = (row, exc)
                break
            sent.append(row[0])
        now = timezone.now()
        messages = OutboxMessage.objects.using(self.using)
        if sent:
            messages.filter(pk__in=sent).update(sent_at=now)
            result.published = len(sent)
            logger.debug("the relay published %d outbox message(s)", len(sent))
        if failure is not None:
            (pk, _, event_id, event_name, handler, _, attempts), error = failure
            delay = min(self.retry_backoff * 2 ** min(attempts, 64), self.retry_backoff_max)
            last_error = f"{type(error).__name__}: {error}"
            messages.filter(pk=pk).update(
                attempts=attempts + 1, last_error=last_error, available_at=now + datetime.timedelta(seconds=delay)
            )
            result.failed = 1
            result.errors.append(last_error)
            logger.error(
                "the relay could not publish outbox message %s (event %r, id %s) for the queued handler %s, "
                "try %d; trying again in %.3g s: %s",
                pk,
                event_name,
                event_id,
                handler,
                attempts + 1,
                delay,
                last_error,
            )
        return result

    def purge(self) -> tuple[int, int]:
        """Delete sent rows, and records of handled messages, older than ``keep_sent``; their counts."""
        from ..models import OutboxMessage, ProcessedMessage

        cutoff = timezone.now() - datetime.timedelta(seconds=self.keep_sent)
        sent, _ = OutboxMessage.objects.using(self.using).filter(sent_at__lt=cutoff).delete()
        processed, _ = ProcessedMessage.objects.using(self.using).filter(processed_at__lt=cutoff).delete()
        if sent or processed:
            logger.info("the relay deleted %d sent outbox message(s) and %d record(s) of handled ones", sent, processed)
        return sent, processed

    def run(
        self, *, once: bool = False, interval: float = 0.5, should_stop: Callable[[], bool] = lambda: False
    ) -> RelayResult:
        """Publish batches until ``should_stop()`` (checked between batches) is true.

        :param once: publish the rows that are pending now (not those written meanwhile), then
            return; a failed publish ends it too.
        :param interval: seconds to wait when nothing is due, before looking again.
        """
        from ..models import OutboxMessage

        total = RelayResult()
        up_to: int | None = None
        if once:
            up_to = (
                OutboxMessage.objects.using(self.using)
                .filter(sent_at__isnull=True)
                .order_by("-id")
                .values_list("id", flat=True)
                .first()
            )
            if up_to is None:
                self.purge()
                return total
        next_purge = 0.0
        while not should_stop():
            connections[self.using].close_if_unusable_or_obsolete()
            try:
                if time.monotonic() >= next_purge:
                    self.purge()
                    next_purge = time.monotonic() + self.purge_every
                result = self.publish_batch(up_to=up_to)
            except DatabaseError:
                if once:
                    raise
                logger.exception("the relay could not read or update the outbox; trying again in %.3g s", interval)
                result = RelayResult()
            total.add(result)
            if result.published == self.batch and not result.failed:
                continue  # a full batch: more may be due at once
            if once:
                break
            _sleep(interval, should_stop)
        return total


def _sleep(seconds: float, should_stop: Callable[[], bool]) -> None:
    # Short naps, so that a stop request is seen soon.
    deadline = time.monotonic() + seconds
    while not should_stop():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        time.sleep(min(remaining, 0.05))


# -- what is in it ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxStats:
    """The state of the outbox (``manage.py events outbox``)."""

    pending: int
    """Rows not sent yet, failing ones included."""
    failing: int
    """Pending rows whose last publish failed."""
    sent: int
    """Sent rows still kept."""
    oldest_pending: datetime.datetime | None
    """When the oldest pending row was written."""
    failures: list[tuple[int, str, str, int, datetime.datetime, str]]
    """Up to 10 failing rows: id, event name, handler, attempts, next try, last error."""


def outbox_stats(using: str = "default") -> OutboxStats:
    """Count the rows of the outbox in the database ``using``."""
    from ..models import OutboxMessage

    rows = OutboxMessage.objects.using(using)
    pending = rows.filter(sent_at__isnull=True).aggregate(
        pending=Count("id"), failing=Count("id", filter=Q(attempts__gt=0)), oldest=Min("created_at")
    )
    failures = list(
        rows.filter(sent_at__isnull=True, attempts__gt=0)
        .order_by("id")
        .values_list("id", "event_name", "handler", "attempts", "available_at", "last_error")[:10]
    )
    return OutboxStats(
        pending=pending["pending"],
        failing=pending["failing"],
        sent=rows.filter(sent_at__isnull=False).count(),
        oldest_pending=pending["oldest"],
        failures=failures,
    )
