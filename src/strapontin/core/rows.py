"""Rows of the hot paths without the ORM's compilation, which a booking paid on each of its
statements (half of its time): one new row in one ``INSERT … RETURNING`` (the reservation, its
audit entry, its e-mail, its token), and a model loaded from the columns of a statement
written once. Values are prepared and converted by each field as the ORM would; no signal is
sent, and none of these models has receivers."""

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connections
from django.db.models import Field, Model

type Converter = Callable[[Any, Any, Any], Any]


@cache
def _insert_statement(model: type[Model], alias: str) -> tuple[str, tuple[Field, ...]]:
    quote = connections[alias].ops.quote_name
    meta = model._meta
    assert meta.pk is not None
    assert meta.pk is meta.auto_field, "an automatic primary key"
    fields = tuple(f for f in meta.local_concrete_fields if f is not meta.auto_field)
    columns = ", ".join(quote(str(f.column)) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders}) "
        f"RETURNING {quote(str(meta.pk.column))}"
    )
    return sql, fields


def insert[M: Model](row: M, using: str = "default") -> M:
    """Write ``row``, new, and give it its primary key, as ``save()`` would."""
    connection = connections[using]
    sql, fields = _insert_statement(type(row), using)
    values = [f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        (row.pk,) = cursor.fetchone()
    row._state.adding = False
    row._state.db = using
    return row


def at(moment: datetime, using: str = "default") -> Any:
    """A datetime as a parameter of a statement written by hand (SQLite stores text)."""
    return connections[using].ops.adapt_datetimefield_value(moment)


def columns(model: type[Model], table: str, using: str = "default") -> str:
    """Every column of ``model``, qualified by ``table`` (its alias in the statement), in the
    order :func:`load` expects."""
    quote = connections[using].ops.quote_name
    return ", ".join(f"{table}.{quote(str(f.column))}" for f in model._meta.concrete_fields)


@cache
def _converters(field: Field, alias: str) -> tuple[Converter, ...]:
    connection = connections[alias]
    col = field.get_col(field.model._meta.db_table)
    return (*connection.ops.get_db_converters(col), *field.get_db_converters(connection))


def convert(field: Field, value: Any, using: str = "default") -> Any:
    """``value`` of ``field`` as the database returned it, as the ORM would give it (SQLite
    returns a datetime as text, say)."""
    connection = connections[using]
    for converter in _converters(field, using):
        value = converter(value, None, connection)
    return value


def load[M: Model](model: type[M], values: Sequence[Any], using: str = "default") -> M:
    """The instance of ``model`` whose :func:`columns` a statement returned as ``values``."""
    fields = model._meta.concrete_fields
    converted = [convert(f, v, using) for f, v in zip(fields, values, strict=True)]
    return model.from_db(using, None, converted)  # type: ignore[arg-type]


def first(sql: str, params: Any, *models: type[Model], using: str = "default") -> list[Any] | None:
    """The first row of ``sql`` as one instance of each of ``models``, whose :func:`columns`
    it selects one after the other (the caller links them: ``token.patron = patron``)."""
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    loaded, offset = [], 0
    for model in models:
        width = len(model._meta.concrete_fields)
        loaded.append(load(model, row[offset : offset + width], using))
        offset += width
    return loaded
