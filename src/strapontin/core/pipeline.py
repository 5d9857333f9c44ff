"""The hot paths' statements on PostgreSQL, sent in batches through libpq's pipeline mode
(``psycopg.pq``) rather than through psycopg's cursors: a statement in psycopg's pipeline cost
the web process five times what it cost libpq (cursor, placeholders, a flush and a read per
statement in Python), and PostgreSQL a third more (a sync after the BEGIN). Measured on the
bench machine, the booking's four locking reads with their BEGIN and COMMIT: 1.3 ms of the web
process's CPU and 0.95 ms of PostgreSQL's through cursors, 0.22 ms and 0.57 ms in one batch.

A batch is one round trip: the BEGIN if a transaction must start, the statements in order,
the COMMIT if asked, one sync. Each statement still runs after the one before it, once its
locks are granted, with a snapshot of its own (READ COMMITTED), as in psycopg's pipeline.

What Django's cursor gives is kept: its error mapping (``wrap_database_errors``: a deadlock is
an ``OperationalError`` whose cause has the SQLSTATE), the broken-transaction check, and the
query log (one entry per statement, as a cursor would write it). What psycopg gives is used
as its cursors use it: the connection's adapters (``Transformer``), its placeholders
(``PostgresQuery``, read once per statement here), its wait loop and generators, the
connection's ``prepare_threshold``.

Prepared statements: a statement is prepared on its connection after ``prepare_threshold``
runs there (psycopg's setting: ``DATABASE_PREPARE_THRESHOLD``, off behind a pooler that
cannot keep them), at most ``prepared_max`` of them. The names are kept here, not by psycopg:
psycopg deallocates every prepared statement of a connection at each rollback when it
prepared one itself; nothing here uses psycopg's own preparing (Django's cursors bind on the
client), so nothing deallocates these.
"""

import logging
import time
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any

import psycopg
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import IsolationLevel, abc, errors, generators, pq
from psycopg._queries import PostgresQuery, _query2pg_nocache
from psycopg.adapt import PyFormat, Transformer

logger = logging.getLogger("django.db.backends")

type Rows = list[tuple[Any, ...]]
type Key = tuple[bytes, tuple[int, ...]]

IDLE = pq.TransactionStatus.IDLE
TUPLES_OK = pq.ExecStatus.TUPLES_OK
COMMAND_OK = pq.ExecStatus.COMMAND_OK
FATAL_ERROR = pq.ExecStatus.FATAL_ERROR
PIPELINE_SYNC = pq.ExecStatus.PIPELINE_SYNC
#: "prepared statement does not exist": something deallocated it behind our back.
UNKNOWN_STATEMENT = "26000"


@dataclass
class _Prepared:
    """The statements one connection has prepared, how often it ran the others, and its
    adapters (a transformer keeps those it found for each type, as a cursor's does)."""

    adapt: abc.Transformer
    names: dict[Key, bytes] = field(default_factory=dict)
    runs: dict[Key, int] = field(default_factory=dict)
    #: Names are never given twice on a connection, even after forgetting some.
    given: int = 0

    def name(self, key: Key, threshold: int | None, most: int | None) -> tuple[bytes, bool]:
        """The statement's name (b"": run it unnamed), and whether to prepare it now."""
        if name := self.names.get(key):
            return name, False
        runs = self.runs.get(key, 0)
        if threshold is None or runs < threshold or (most is not None and len(self.names) >= most):
            self.runs[key] = runs + 1
            return b"", False
        self.runs.pop(key, None)
        self.given += 1
        name = self.names[key] = b"strapontin_%d" % self.given
        return name, True


def _prepared_on(connection: BaseDatabaseWrapper) -> _Prepared:
    """Kept on Django's connection (the thread's own), for its current psycopg connection: a
    new one (after a reconnection) starts with nothing prepared. Nothing else refers to them,
    so that a thread's connection is closed when the thread ends, as before."""
    pg = connection.connection
    prepared: _Prepared | None = getattr(connection, "_strapontin_prepared", None)
    if prepared is None or prepared.adapt.connection is not pg:
        prepared = _Prepared(Transformer(pg))
        connection._strapontin_prepared = prepared  # type: ignore[attr-defined]
    return prepared


@dataclass
class Statement:
    sql: str
    params: Any
    rows: Rows | None = None
    error: BaseException | None = None


class Batch:
    """Statements queued to travel together: :meth:`add` returns what reads a statement's
    rows, which sends the batch first if it is not sent yet."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self.statements: list[Statement] = []
        self.commit = False

    def add(self, sql: str, params: Any) -> Callable[[], Rows]:
        statement = Statement(sql, params)
        self.statements.append(statement)

        def read() -> Rows:
            if statement.rows is None and statement.error is None:
                self.send()
            if statement.error is not None:
                raise statement.error
            assert statement.rows is not None
            return statement.rows

        return read

    def then_commit(self) -> None:
        """End the transaction with the batch's statements: its COMMIT travels with them."""
        self.commit = True

    def discard(self, error: BaseException) -> None:
        """Send nothing queued: each reader raises ``error`` (why it was not sent)."""
        for statement in self.statements:
            statement.error = error
        self.statements, self.commit = [], False

    def send(self) -> None:
        statements, self.statements = self.statements, []
        commit, self.commit = self.commit, False
        if statements or commit:
            run(self.connection, statements, commit=commit)


def run(connection: BaseDatabaseWrapper, statements: list[Statement], *, commit: bool) -> None:
    """Send ``statements`` in one round trip and give each its rows; raise the first error
    (the statements after it did not run), mapped as Django maps a cursor's."""
    connection.validate_no_broken_transaction()
    started = time.monotonic()
    try:
        with connection.wrap_database_errors:
            _run(connection.connection, _prepared_on(connection), statements, commit)
    except Exception as error:  # Django's, as mapped: each statement not run reads it
        for statement in statements:
            if statement.rows is None:
                statement.error = error
        raise
    finally:
        if connection.queries_logged:
            _log(connection, statements, time.monotonic() - started)


def _run(
    pg: psycopg.Connection[Any], prepared: _Prepared, statements: list[Statement], commit: bool
) -> None:
    pgconn = pg.pgconn
    adapt = prepared.adapt
    threshold, most = pg.prepare_threshold, pg.prepared_max
    commands: deque[Callable[[], None]] = deque()
    #: Per command, in order: the statement whose rows it returns, or the key it prepares.
    results_of: list[Statement | Key | None] = []
    if not pg.autocommit and pgconn.transaction_status == IDLE:
        commands.append(partial(pgconn.send_query_params, _begin(pg), None))
        results_of.append(None)
    new: list[Key] = []
    for statement in statements:
        query = _Bound(statement.sql, statement.params, adapt)
        key = (query.query, tuple(query.types))
        name, prepare = prepared.name(key, threshold, most)
        if prepare:
            new.append(key)
            commands.append(
                partial(pgconn.send_prepare, name, query.query, param_types=query.types)
            )
            results_of.append(key)
        if name:
            commands.append(
                partial(pgconn.send_query_prepared, name, query.params, param_formats=query.formats)
            )
        else:
            commands.append(
                partial(
                    pgconn.send_query_params,
                    query.query,
                    query.params,
                    param_types=query.types,
                    param_formats=query.formats,
                )
            )
        results_of.append(statement)
    if commit:
        commands.append(partial(pgconn.send_query_params, b"COMMIT", None))
        results_of.append(None)
    commands.append(pgconn.pipeline_sync)
    with pg.lock:
        pgconn.enter_pipeline_mode()
        try:
            results = pg.wait(generators.pipeline_communicate(pgconn, commands))
            while not results or results[-1][0].status != PIPELINE_SYNC:
                results.append(pg.wait(generators.fetch_many(pgconn)))
        except BaseException:
            for key in new:  # perhaps never prepared: the connection is likely lost anyway
                prepared.names.pop(key, None)
            with suppress(psycopg.Error):
                pgconn.exit_pipeline_mode()
            raise
        pgconn.exit_pipeline_mode()
    first_error: psycopg.Error | None = None
    for target, (result, *_more) in zip(results_of, results, strict=False):
        if result.status == FATAL_ERROR and first_error is None:
            first_error = errors.error_from_result(result, encoding=pg.info.encoding)
            if first_error.sqlstate == UNKNOWN_STATEMENT:
                prepared.names.clear()
        if isinstance(target, Statement):
            if result.status == TUPLES_OK:
                adapt.set_pgresult(result)
                target.rows = adapt.load_rows(0, result.ntuples, tuple)
            elif result.status == COMMAND_OK:
                target.rows = []
        elif target is not None and result.status != COMMAND_OK:
            prepared.names.pop(target, None)  # not prepared after all: prepare it next time
    if first_error is not None:
        raise first_error


@lru_cache(maxsize=1024)
def _placeholders(sql: str, encoding: str) -> tuple[bytes, list[PyFormat], list[str] | None, Any]:
    """psycopg's reading of a statement's placeholders, kept by its text: the statements are
    written once (psycopg keeps it only by the encoded text, encoded again on each run)."""
    return _query2pg_nocache(sql.encode(encoding), encoding)


class _Bound:
    """A statement with its parameters dumped by the connection's adapters, as psycopg's
    ``PostgresQuery`` gives them (``%s`` and ``%(name)s`` placeholders become ``$n``)."""

    __slots__ = ("formats", "params", "query", "types")

    def __init__(self, sql: str, params: Any, adapt: abc.Transformer) -> None:
        self.query, wanted, order, parts = _placeholders(sql, adapt.encoding)
        values = PostgresQuery.validate_and_reorder_params(parts, params, order)
        self.params = adapt.dump_sequence(values, wanted)
        self.types = adapt.types or ()
        self.formats = adapt.formats


def _begin(pg: psycopg.Connection[Any]) -> bytes:
    """The BEGIN psycopg would send before a statement of a transaction not yet begun."""
    parts = [b"BEGIN"]
    if pg.isolation_level is not None:
        level = IsolationLevel(pg.isolation_level).name.replace("_", " ")
        parts.append(b"ISOLATION LEVEL " + level.encode())
    if pg.read_only is not None:
        parts.append(b"READ ONLY" if pg.read_only else b"READ WRITE")
    if pg.deferrable is not None:
        parts.append(b"DEFERRABLE" if pg.deferrable else b"NOT DEFERRABLE")
    return b" ".join(parts)


def _log(connection: BaseDatabaseWrapper, statements: list[Statement], seconds: float) -> None:
    """As Django's debug cursor logs a statement bound on the server (tests count them)."""
    each = seconds / max(len(statements), 1)
    for statement in statements:
        sql = f"QUERY = {statement.sql!r} - PARAMS = {statement.params!r}"
        connection.queries_log.append({"sql": sql, "time": f"{each:.3f}"})
        logger.debug(
            "(%.3f) %s; alias=%s",
            each,
            sql,
            connection.alias,
            extra={"duration": each, "sql": sql, "params": statement.params},
        )
