"""What the events of bulk writes and many-to-many changes carry, and how it travels to a worker.

An Observer's ``bulk_created``, ``bulk_updated``, ``queryset_updated``, ``m2m_added``,
``m2m_removed`` and ``m2m_cleared`` are called as ``method(event_name, payload)``, with one of the
frozen objects below; any handler of the event gets the same object as its first argument.

Queued handlers receive them through :class:`WritePayloadCodec` (registered with the model
codec, see ``_queued``), under the tag ``$dbwrite``: the model by its label, the objects by their
primary keys, loaded again in the worker in one query (through the model's base manager), in the
order they were written. A row that is gone by then makes the worker refuse the message, as for a
single instance. The objects of a ``bulk_create`` whose primary keys the database did not return
cannot be loaded again, so they cannot be queued: the dispatch raises ``SerializationError``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from django.apps import apps
from django.db.models import Model

from ..core import RejectedMessageError, SerializationError
from ..core.integration import JSON, decode_value, encode_value

__all__ = ["BulkCreated", "BulkUpdated", "M2MChanged", "QuerysetUpdated", "WritePayloadCodec"]

ModelT = TypeVar("ModelT", bound=Model)


@dataclass(frozen=True, repr=False)
class BulkCreated(Generic[ModelT]):
    """What one ``bulk_create()`` through an event manager wrote: the ``bulk_created`` action's payload."""

    model: type[ModelT]
    """The model whose manager wrote the rows."""
    objects: tuple[ModelT, ...]
    """The objects passed to ``bulk_create()``, in their order, as it left them."""
    pks_known: bool
    """Whether every object holds the primary key of the row written for it. ``False`` where the
    database returns no keys from a bulk insert (MySQL and MariaDB for most models, SQLite before
    3.35) or with ``ignore_conflicts=True`` (a conflicting row is skipped, so a key set on its
    object names no row this call wrote)."""

    @property
    def pks(self) -> tuple[Any, ...]:
        """The primary keys of the rows written, in the objects' order.

        :raises ValueError: the keys are not known (see :attr:`pks_known`).
        """
        if not self.pks_known:
            raise ValueError(
                f"the primary keys of these {len(self.objects)} {self.model._meta.label} rows are not known: the "
                "database returned none from bulk_create(), or ignore_conflicts=True skipped some rows; read "
                "the objects' other fields, or query the rows again"
            )
        return tuple(obj.pk for obj in self.objects)

    def __repr__(self) -> str:
        known = "pks known" if self.pks_known else "pks not known"
        return f"<BulkCreated {len(self.objects)} {self.model._meta.label} objects, {known}>"


@dataclass(frozen=True, repr=False)
class BulkUpdated(Generic[ModelT]):
    """What one ``bulk_update()`` through an event manager wrote: the ``bulk_updated`` action's payload."""

    model: type[ModelT]
    """The model whose manager wrote the rows."""
    objects: tuple[ModelT, ...]
    """The objects passed to ``bulk_update()``, in their order."""
    fields: tuple[str, ...]
    """The names of the fields written (``place``, not ``place_id``)."""

    @property
    def pks(self) -> tuple[Any, ...]:
        """The primary keys of the objects, in their order."""
        return tuple(obj.pk for obj in self.objects)

    def __repr__(self) -> str:
        return f"<BulkUpdated {len(self.objects)} {self.model._meta.label} objects, fields {list(self.fields)}>"


@dataclass(frozen=True, repr=False)
class QuerysetUpdated(Generic[ModelT]):
    """What one ``QuerySet.update()`` through an event manager wrote: the ``queryset_updated`` action's payload."""

    model: type[ModelT]
    """The model of the queryset."""
    pks: tuple[Any, ...]
    """The primary keys of the rows the queryset matched, read just before the update, in the
    same transaction."""
    fields: tuple[str, ...]
    """The names of the fields written (``place``, not ``place_id``)."""

    def __repr__(self) -> str:
        return f"<QuerysetUpdated {len(self.pks)} {self.model._meta.label} rows, fields {list(self.fields)}>"


@dataclass(frozen=True, repr=False)
class M2MChanged(Generic[ModelT]):
    """A many-to-many change: the payload of ``m2m_added``, ``m2m_removed`` and ``m2m_cleared``.

    The event is the model's of :attr:`instance`, the object whose related manager was used:
    ``article.tags.add(tag)`` is an ``Article`` event (``reverse`` false), ``tag.articles.add(article)``
    a ``Tag`` event (``reverse`` true).
    """

    instance: ModelT
    """The object whose related manager was used."""
    relation: str
    """That manager's name on the instance: the field's name on the model that declares it, the
    accessor's (``related_name``, or ``<model>_set``) on the other side."""
    model: type[Model]
    """The class of the objects added or removed (the other side of the relation)."""
    pks: frozenset[Any]
    """Their primary keys: those added (only the new ones, as Django reports them), those passed to
    ``remove()``, or those that ``clear()`` removed."""
    reverse: bool
    """Whether the change came from the reverse side: the model that does not declare the field."""
    through: type[Model]
    """The intermediate model: the one Django creates, or the ``through=`` model."""

    def __repr__(self) -> str:
        side = "reverse" if self.reverse else "forward"
        return (
            f"<M2MChanged {self.instance._meta.label} {self.instance.pk!r}.{self.relation} ({side}), "
            f"{len(self.pks)} {self.model._meta.label} pks>"
        )


# -- the queued path ----------------------------------------------------------------------------


def _label(model: type[Model]) -> list[JSON]:
    return [model._meta.app_label, model._meta.model_name]


def _model(data: JSON) -> type[Model]:
    if type(data) is not list or len(data) != 2 or not all(type(part) is str for part in data):
        raise RejectedMessageError(f"malformed model label {data!r}")
    app_label, model_name = cast("list[str]", data)
    try:
        return apps.get_model(app_label, model_name)
    except LookupError:
        raise RejectedMessageError(f"the model {app_label}.{model_name} is not installed here") from None


def _pks(model: type[Model], objects: tuple[Model, ...]) -> list[JSON]:
    return [encode_value(obj.pk, f"{model._meta.label}.pk") for obj in objects]


def _load(model: type[Model], raw: JSON) -> tuple[Model, ...]:
    """The rows of ``raw`` (encoded primary keys), in that order, in one query."""
    if type(raw) is not list:
        raise RejectedMessageError(f"malformed primary keys {raw!r}")
    pks = [decode_value(item, 1) for item in raw]
    try:
        found = model._base_manager.in_bulk(pks)
    except (ValueError, TypeError) as exc:
        raise RejectedMessageError(f"invalid pks for {model._meta.label}: {exc}") from None
    missing = [pk for pk in pks if pk not in found]
    if missing:
        raise RejectedMessageError(
            f"the {model._meta.label} rows with pks {missing!r} no longer exist (deleted, or never committed)"
        )
    return tuple(found[pk] for pk in pks)


def _fields(raw: JSON) -> tuple[str, ...]:
    if type(raw) is not list or not all(type(name) is str for name in raw):
        raise RejectedMessageError(f"malformed field names {raw!r}")
    return tuple(cast("list[str]", raw))


def _encode_created(value: BulkCreated[Any]) -> JSON:
    if not value.pks_known:
        raise SerializationError(
            f"the bulk_created event of {value.model._meta.label} has objects without known primary keys (the "
            "database returned none, or ignore_conflicts=True), so a worker could not load them: handle "
            "bulk_created in a handler that is not queued"
        )
    return {"kind": "created", "model": _label(value.model), "pks": _pks(value.model, value.objects)}


def _encode_updated(value: BulkUpdated[Any]) -> JSON:
    return {
        "kind": "updated",
        "model": _label(value.model),
        "pks": _pks(value.model, value.objects),
        "fields": list(value.fields),
    }


def _encode_queryset(value: QuerysetUpdated[Any]) -> JSON:
    return {
        "kind": "queryset",
        "model": _label(value.model),
        "pks": [encode_value(pk, f"{value.model._meta.label}.pk") for pk in value.pks],
        "fields": list(value.fields),
    }


def _encode_m2m(value: M2MChanged[Any]) -> JSON:
    return {
        "kind": "m2m",
        "instance": encode_value(value.instance, "instance"),
        "relation": value.relation,
        "model": _label(value.model),
        "pks": [encode_value(pk, f"{value.model._meta.label}.pk") for pk in value.pks],
        "reverse": value.reverse,
        "through": _label(value.through),
    }


def _decode_created(data: dict[str, JSON]) -> BulkCreated[Any]:
    model = _model(data["model"])
    return BulkCreated(model, _load(model, data["pks"]), True)


def _decode_updated(data: dict[str, JSON]) -> BulkUpdated[Any]:
    model = _model(data["model"])
    return BulkUpdated(model, _load(model, data["pks"]), _fields(data["fields"]))


def _decode_queryset(data: dict[str, JSON]) -> QuerysetUpdated[Any]:
    raw = data["pks"]
    if type(raw) is not list:
        raise RejectedMessageError(f"malformed primary keys {raw!r}")
    return QuerysetUpdated(_model(data["model"]), tuple(decode_value(pk, 1) for pk in raw), _fields(data["fields"]))


def _decode_m2m(data: dict[str, JSON]) -> M2MChanged[Any]:
    instance = decode_value(data["instance"], 1)
    relation, raw, reverse = data["relation"], data["pks"], data["reverse"]
    if (
        not isinstance(instance, Model)
        or type(relation) is not str
        or type(raw) is not list
        or type(reverse) is not bool
    ):
        raise RejectedMessageError(f"malformed many-to-many change {data!r}")
    pks = frozenset(decode_value(pk, 1) for pk in raw)
    return M2MChanged(instance, relation, _model(data["model"]), pks, reverse, _model(data["through"]))


_KEYS: dict[str, frozenset[str]] = {
    "created": frozenset({"kind", "model", "pks"}),
    "updated": frozenset({"kind", "model", "pks", "fields"}),
    "queryset": frozenset({"kind", "model", "pks", "fields"}),
    "m2m": frozenset({"kind", "instance", "relation", "model", "pks", "reverse", "through"}),
}
_ENCODERS: dict[type, Callable[[Any], JSON]] = {
    BulkCreated: _encode_created,
    BulkUpdated: _encode_updated,
    QuerysetUpdated: _encode_queryset,
    M2MChanged: _encode_m2m,
}
_DECODERS: dict[str, Callable[[dict[str, JSON]], object]] = {
    "created": _decode_created,
    "updated": _decode_updated,
    "queryset": _decode_queryset,
    "m2m": _decode_m2m,
}


class WritePayloadCodec:
    """Sends the payloads of bulk writes and many-to-many changes with their objects by reference."""

    tag = "dbwrite"

    def can_encode(self, value: object) -> bool:
        """A :class:`BulkCreated`, :class:`BulkUpdated`, :class:`QuerysetUpdated` or :class:`M2MChanged`."""
        return type(value) in _ENCODERS

    def encode(self, value: Any) -> JSON:
        """The payload's JSON form. :raises SerializationError: a ``BulkCreated`` without known keys."""
        return _ENCODERS[type(value)](value)

    def decode(self, data: JSON) -> object:
        """Rebuild the payload, loading its rows. :raises RejectedMessageError: malformed, or a row is gone."""
        if type(data) is not dict or type(data.get("kind")) is not str:
            raise RejectedMessageError(f"malformed bulk write payload {data!r}")
        kind = cast("str", data["kind"])
        if kind not in _KEYS or frozenset(data) != _KEYS[kind]:
            raise RejectedMessageError(f"malformed bulk write payload {data!r}")
        return _DECODERS[kind](data)

    def __repr__(self) -> str:
        return "<codec of bulk write and many-to-many payloads>"
