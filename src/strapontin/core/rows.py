"""Rows of the hot paths without the ORM's compilation, which a booking paid on each of its
statements (half of its time): one new row in one ``INSERT … RETURNING`` (the reservation, its
audit entry, its e-mail, its token), and a model loaded from the columns of a statement
written once. Values are prepared and converted by each field as the ORM would; no signal is
sent, and none of these models has receivers.

On PostgreSQL these statements travel in batches through libpq's pipeline (``core.pipeline``),
bound on the server, each prepared after five runs on a connection (``prepare_threshold``,
settings): planning one of them cost this machine's PostgreSQL 0.13 ms, more than running it.
The ORM's queries stay bound by the client, through Django's cursors.
"""

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import Any

from django.db import InterfaceError, OperationalError, connections, transaction
from django.db.models import Field, Model

from strapontin.core.pipeline import Batch, Statement, run

type Converter = Callable[[Any, Any, Any], Any]
#: What a statement sent now returns: call it to read the result (see :func:`queue`).
type Pending[T] = Callable[[], T]


@cache
def _insert_statement(
    model: type[Model], alias: str, with_pk: bool = False
) -> tuple[str, tuple[Field, ...]]:
    """``with_pk``: the row's key was drawn from its sequence beforehand."""
    quote = connections[alias].ops.quote_name
    meta = model._meta
    assert meta.pk is not None
    assert meta.pk is meta.auto_field, "an automatic primary key"
    fields = tuple(f for f in meta.local_concrete_fields if with_pk or f is not meta.auto_field)
    columns = ", ".join(quote(str(f.column)) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders}) "
        f"RETURNING {quote(str(meta.pk.column))}"
    )
    return sql, fields


def insert[M: Model](row: M, using: str = "default") -> M:
    """Write ``row``, new, and give it its primary key, as ``save()`` would."""
    _queue_insert(row, using)()
    return row


def _queue_insert(row: Model, using: str) -> Pending[None]:
    """Send ``row``'s INSERT; what is returned reads its key back into it."""
    connection = connections[using]
    sql, fields = _insert_statement(type(row), using, row.pk is not None)
    values = [f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields]
    read = queue(sql, values, using)

    def read_key() -> None:
        ((row.pk,),) = read()
        row._state.adding = False
        row._state.db = using

    return read_key


def queue(sql: str, params: Any, using: str = "default") -> Pending[list[tuple[Any, ...]]]:
    """Send ``sql``; what is returned reads its rows. Inside :func:`pipelined` on PostgreSQL,
    the statements queued one after the other travel together when the block ends, or when
    one of their results is read first. Elsewhere the rows are read at once: an SQLite
    statement left unread keeps its read lock, which a write on the same connection then
    cannot upgrade ("database is locked")."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        with connection.cursor() as statement:
            statement.execute(sql, params)
            rows = statement.fetchall()
        return lambda: rows
    batch = _open_batches().get(using)
    if batch is not None:
        return batch.add(sql, params)
    _connected(connection)
    sent = Statement(sql, params)
    run(connection, [sent], commit=False)
    return lambda: sent.rows or []


def at(moment: datetime, using: str = "default") -> Any:
    """A datetime as a parameter of a statement written by hand (SQLite stores text)."""
    return connections[using].ops.adapt_datetimefield_value(moment)


_batches = threading.local()


def _open_batches() -> dict[str, Batch]:
    try:
        return _batches.open
    except AttributeError:
        _batches.open = {}
        return _batches.open


def _connected(connection: Any) -> None:
    """What Django's cursor() does first: a dead connection fails its health check here, and
    is replaced, rather than fail with the statements queued after it."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()


@contextmanager
def pipelined(using: str = "default") -> Iterator[Batch | None]:
    """On PostgreSQL, the statements queued inside travel together (``core.pipeline``): a
    transaction's BEGIN, a lock and the read that must follow it, one round trip. Each still
    runs after the one before, with its own snapshot. If the block raises, none is sent."""
    connection = connections[using]
    batches = _open_batches()
    if connection.vendor != "postgresql" or using in batches:  # nested: the outer one sends
        yield batches.get(using)
        return
    _connected(connection)
    batch = batches[using] = Batch(connection)
    try:
        yield batch
    except BaseException as error:
        batch.discard(error)
        raise
    finally:
        del batches[using]
    batch.send()


def read_together[T](send: Callable[[], T], using: str = "default") -> T:
    """``send()``, whose statements only read (or write what may be written twice), inside
    :func:`pipelined`; it returns what reads them. The first statements of a request check
    the connection themselves: Django's health check (``CONN_HEALTH_CHECKS``) would cost a
    round trip of its own. If the connection turns out dead (the server restarted since),
    a new one sends them again."""
    connection = connections[using]
    checking = (
        connection.vendor == "postgresql"
        and connection.connection is not None
        and connection.health_check_enabled  # type: ignore[attr-defined]
        and not connection.health_check_done  # type: ignore[attr-defined]
    )
    if checking:
        connection.health_check_done = True  # type: ignore[attr-defined]
    try:
        with pipelined(using):
            return send()
    except (OperationalError, InterfaceError):
        if not checking or connection.is_usable():
            raise
    connection.close()
    with pipelined(using):
        return send()


@contextmanager
def one_write_lock(using: str = "default") -> Iterator[None]:
    """On SQLite, the small writes of one request in one transaction: an API booking's
    rate-limit count and its token's last use. Each transaction takes the database's single
    write lock, and a writer that finds it taken sleeps in SQLite's busy handler, with a
    growing delay, often past the moment it was freed. The lock is held while the block runs:
    keep reads out of it (over a booking's reads, it cost more than the taking it saved).
    What was written before an error is kept, so a refused request still counts against its
    limit (a savepoint inside rolls back as usual), unless the error left the transaction to
    roll back. Elsewhere nothing changes: PostgreSQL locks rows, not the database."""
    connection = connections[using]
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    failure: Exception | None = None
    with transaction.atomic(using):
        try:
            yield
        except Exception as error:  # committed, then raised again below
            failure = error
    if failure is not None:
        raise failure


_batch = threading.local()


@contextmanager
def written_together(using: str = "default", *, then_commit: bool = False) -> Iterator[None]:
    """Rows given to :func:`insert_later` inside are written when the block ends, in one round
    trip on PostgreSQL: a booking's audit entry, e-mail and token cost one instead of three (a
    round trip costs this machine's PostgreSQL more than the INSERT).
    They get their primary key then, unless it was drawn beforehand (a booking's reservation,
    which the other rows refer to); nothing reads them before.

    ``then_commit``: the block ends the transaction, which runs nothing more. If it is the
    outermost ``atomic`` on PostgreSQL, the COMMIT travels with the rows (one round trip, not
    two), and the ``atomic``'s own commit then finds nothing left to do; an error of the
    COMMIT (a deferred constraint) is raised here, inside the ``atomic``, which rolls back."""
    if getattr(_batch, "rows", None) is not None:  # nested: the outer block writes them
        yield
        return
    _batch.rows = []
    try:
        yield
        pending: list[Model] = _batch.rows
    finally:
        _batch.rows = None
    connection = connections[using]
    commit = (
        then_commit
        and connection.vendor == "postgresql"
        and len(connection.atomic_blocks) == 1
        and not connection.savepoint_ids
        and not connection.needs_rollback
    )
    _insert_all(pending, using, commit=commit)


def insert_later[M: Model](row: M, using: str = "default") -> M:
    """:func:`insert`, at the end of the enclosing :func:`written_together` if any."""
    pending = getattr(_batch, "rows", None)
    if pending is None:
        return insert(row, using)
    pending.append(row)
    return row


#: At most this many parameters in one statement of rows: a booking's four rows fit in one,
#: and statements of many rows do not grow without end (each shape is prepared apart).
MAX_PARAMETERS = 100


def _insert_all(pending: list[Model], using: str, *, commit: bool = False) -> None:
    """One round trip on PostgreSQL: the INSERTs travel in one pipeline, as few statements as
    can be (each statement costs the web process and PostgreSQL more than its row): the rows
    one after the other in the data-modifying CTEs of one statement, while it has at most
    ``MAX_PARAMETERS``. A row may refer to one written before it only by a key drawn
    beforehand (a booking's reservation). ``commit``: the COMMIT follows them in the pipeline
    (:func:`written_together`)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        for row in pending:
            _queue_insert(row, using)()
        return
    groups: list[list[Model]] = []
    width = MAX_PARAMETERS
    for row in pending:
        fields = len(_insert_statement(type(row), using, row.pk is not None)[1])
        if width + fields > MAX_PARAMETERS:
            groups.append([])
            width = 0
        groups[-1].append(row)
        width += fields
    with pipelined(using) as batch:
        written = [
            _queue_insert(group[0], using) if len(group) == 1 else _queue_inserts(group, using)
            for group in groups
        ]
        if commit and batch is not None:
            batch.then_commit()
    for read_keys in written:
        read_keys()


def _queue_inserts(group: list[Model], using: str) -> Pending[None]:
    """Send one statement writing every row of ``group``; what is returned reads their keys."""
    connection = connections[using]
    kinds = tuple((type(row), row.pk is not None) for row in group)
    values = []
    for row, (_model, with_pk) in zip(group, kinds, strict=True):
        fields = _insert_statement(type(row), using, with_pk)[1]
        values += [f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields]
    read = queue(_inserts_statement(kinds, using), values, using)

    def read_keys() -> None:
        (keys,) = read()
        for row, key in zip(group, keys, strict=True):
            row.pk = key
            row._state.adding = False
            row._state.db = using

    return read_keys


@cache
def _inserts_statement(kinds: tuple[tuple[type[Model], bool], ...], using: str) -> str:
    """``WITH w0 AS (INSERT … RETURNING id), w1 AS (…) SELECT (SELECT id FROM w0), …``:
    PostgreSQL runs each data-modifying CTE once, whether read or not, in no set order, which
    the foreign keys do not mind: Django's constraints are checked at the commit."""
    parts, keys = [], []
    for n, (model, with_pk) in enumerate(kinds):
        assert model._meta.pk is not None
        parts.append(f"w{n} AS ({_insert_statement(model, using, with_pk)[0]})")
        pk = connections[using].ops.quote_name(str(model._meta.pk.column))
        keys.append(f"(SELECT {pk} FROM w{n})")
    return f"WITH {', '.join(parts)} SELECT {', '.join(keys)}"


@cache
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


def converter(field: Field, using: str = "default") -> Callable[[Any], Any] | None:
    """:func:`convert` for ``field``, or None where its values need no converting (every
    column of a day's availability on PostgreSQL): thousands of values are spared a call."""
    if not _converters(field, using):
        return None
    return lambda value: convert(field, value, using)


@cache
def _loaders(model: type[Model], alias: str) -> tuple[tuple[int, tuple[Converter, ...]], ...]:
    """The columns of ``model`` whose values need converting, each with its converters: on
    PostgreSQL, few (a JSON column), so that loading a row costs little more than a tuple."""
    fields = model._meta.concrete_fields
    return tuple((n, found) for n, f in enumerate(fields) if (found := _converters(f, alias)))


def load[M: Model](model: type[M], values: Sequence[Any], using: str = "default") -> M:
    """The instance of ``model`` whose :func:`columns` a statement returned as ``values``."""
    if len(values) != len(model._meta.concrete_fields):
        raise ValueError(f"{len(values)} values for the columns of {model.__name__}")
    connection = connections[using]
    converted = list(values)
    for n, converters in _loaders(model, using):
        for converter in converters:
            converted[n] = converter(converted[n], None, connection)
    return model.from_db(using, None, converted)  # type: ignore[arg-type]


def first(
    sql: str, params: Any, *models: type[Model], extra: int = 0, using: str = "default"
) -> list[Any] | None:
    """The first row of ``sql`` as one instance of each of ``models``, whose :func:`columns`
    it selects one after the other (the caller links them: ``token.patron = patron``), then
    the ``extra`` values selected after them, as they are."""
    return queue_first(sql, params, *models, extra=extra, using=using)()


def queue_first(
    sql: str, params: Any, *models: type[Model], extra: int = 0, using: str = "default"
) -> Pending[list[Any] | None]:
    """:func:`first`, sent now and read when called (:func:`queue`)."""
    rows = queue(sql, params, using)

    def read() -> list[Any] | None:
        found = rows()
        if not found:
            return None
        row, loaded, offset = found[0], [], 0
        for model in models:
            width = len(model._meta.concrete_fields)
            loaded.append(load(model, row[offset : offset + width], using))
            offset += width
        return [*loaded, *row[offset : offset + extra]]

    return read
