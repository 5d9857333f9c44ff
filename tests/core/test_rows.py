"""core.rows: the hot paths' rows, written and read without the ORM, as the ORM would."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from strapontin.core import rows
from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.core.models import AuditEntry
from strapontin.reservations.models import Patron
from tests.factories import EstablishmentFactory

pytestmark = pytest.mark.django_db


def entry(action: str, subject_id: int = 1) -> AuditEntry:
    return AuditEntry(
        created_at=now(),
        action=action,
        actor_label="test",
        subject_type="reservations.patron",
        subject_id=subject_id,
        data={"why": ["a", 1]},
    )


def test_an_inserted_row_reads_back_through_the_orm_field_by_field():
    written = rows.insert(entry("test.one", subject_id=7))
    assert written.pk is not None
    assert not written._state.adding
    read = AuditEntry.objects.get(pk=written.pk)
    assert (read.created_at, read.action, read.subject_id, read.data, read.actor_id) == (
        written.created_at,
        "test.one",
        7,
        {"why": ["a", 1]},
        None,
    )


def test_rows_written_together_get_their_keys_when_the_block_ends():
    with transaction.atomic(), rows.written_together():
        first = rows.insert_later(entry("test.first"))
        second = rows.insert_later(entry("test.second"))
        assert (first.pk, second.pk) == (None, None)
        assert not AuditEntry.objects.filter(action__startswith="test.").exists()
    assert first.pk is not None
    assert second.pk is not None
    assert AuditEntry.objects.get(pk=second.pk).data == {"why": ["a", 1]}
    assert set(AuditEntry.objects.values_list("action", flat=True)) == {
        "test.first",
        "test.second",
    }


def write_then_fail() -> None:
    with transaction.atomic(), rows.written_together():
        rows.insert_later(entry("test.lost"))
        raise RuntimeError


def test_a_block_that_raises_writes_nothing():
    with pytest.raises(RuntimeError):
        write_then_fail()
    assert not AuditEntry.objects.exists()


def test_outside_a_block_a_row_is_written_at_once():
    written = rows.insert_later(entry("test.now"))
    assert AuditEntry.objects.filter(pk=written.pk).exists()


def test_a_nested_block_leaves_the_writing_to_the_outer_one():
    with transaction.atomic(), rows.written_together():
        with rows.written_together():
            inner = rows.insert_later(entry("test.inner"))
        assert inner.pk is None
    assert inner.pk is not None


def test_an_integrity_error_is_django_s_own():
    """The booking maps the exclusion constraint's IntegrityError to "taken": whatever the
    cursor, the error must be Django's."""
    rows.insert(Patron(email="bob@example.org"))
    with pytest.raises(IntegrityError), transaction.atomic():
        rows.insert(Patron(email="bob@example.org"))


def test_first_loads_each_model_of_a_joined_row_with_its_types():
    establishment = EstablishmentFactory()
    patron = rows.insert(Patron(email="carol@example.org", verified_at=now()))
    sql = (
        f"SELECT {rows.columns(Patron, 'p')}, {rows.columns(type(establishment), 'e')} "  # noqa: S608
        "FROM reservations_patron p, venues_establishment e WHERE p.id = %s AND e.id = %s"
    )
    loaded_patron, loaded_establishment = rows.first(
        sql, [patron.pk, establishment.pk], Patron, type(establishment)
    )
    assert loaded_patron.verified_at == patron.verified_at  # aware datetime, on SQLite too
    assert loaded_patron.verified_at.utcoffset() == timedelta(0)
    assert loaded_establishment == establishment
    assert loaded_establishment.name == establishment.name
    assert rows.first(sql, [0, 0], Patron, type(establishment)) is None


def test_rows_beyond_one_statement_s_parameters_are_all_written_with_their_keys():
    """On PostgreSQL the rows travel in as few statements as keep at most 100 parameters
    each: twelve audit entries of nine parameters take two."""
    with CaptureQueriesContext(connection) as statements:
        with transaction.atomic(), rows.written_together():
            written = [rows.insert_later(entry(f"test.{n}", subject_id=n)) for n in range(12)]
    assert len({row.pk for row in written}) == 12
    assert {(row.pk, row.action, row.subject_id) for row in written} == set(
        AuditEntry.objects.values_list("pk", "action", "subject_id")
    )
    inserts = [q for q in statements.captured_queries if "INSERT" in q["sql"]]
    assert len(inserts) == (2 if connection.vendor == "postgresql" else 12)


def elsewhere(sql: str) -> list[tuple[object, ...]]:
    """What another client of the database reads now (committed rows only)."""
    import psycopg

    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"], port=settings["PORT"]
    ) as other:
        return other.execute(sql).fetchall()


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_rows_written_then_committed_are_committed_with_the_rows():
    with transaction.atomic():
        with rows.written_together(then_commit=True):
            written = rows.insert_later(entry("test.committed"))
        # Nothing more runs in the transaction: it is committed already.
        assert elsewhere("SELECT action FROM core_auditentry") == [("test.committed",)]
    assert AuditEntry.objects.get(pk=written.pk).action == "test.committed"


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_inside_a_savepoint_then_commit_leaves_the_commit_to_the_outer_transaction():
    with transaction.atomic():
        with transaction.atomic(), rows.written_together(then_commit=True):
            rows.insert_later(entry("test.inner"))
        assert elsewhere("SELECT action FROM core_auditentry") == []
    assert elsewhere("SELECT action FROM core_auditentry") == [("test.inner",)]


def write_an_orphan_then_commit() -> None:
    orphan = entry("test.orphan")
    orphan.actor_id = 987654  # no such user
    with transaction.atomic(), rows.written_together(then_commit=True):
        rows.insert_later(orphan)


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_commit_that_fails_raises_inside_the_transaction_and_writes_nothing():
    """A deferred foreign key is checked at the COMMIT: its error must still be raised, as
    Django's, and the transaction rolled back."""
    with pytest.raises(IntegrityError):
        write_an_orphan_then_commit()
    assert not AuditEntry.objects.exists()


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_reads_sent_first_replace_a_dead_connection_by_themselves():
    """The first statements of a request are the connection's health check: after the server
    dropped the connection, they are sent again on a new one, not answered with an error."""
    connection.ensure_connection()
    dropped = connection.connection.info.backend_pid
    elsewhere(f"SELECT pg_terminate_backend({dropped})")
    connection.health_check_done = False  # as at the start of every request
    read = rows.read_together(lambda: rows.queue("SELECT 1 + 1", []))
    assert read() == [(2,)]
    assert connection.connection.info.backend_pid != dropped


def count_then_fail_to_book() -> None:
    with rows.one_write_lock():
        rows.insert(entry("test.counted"))
        with transaction.atomic():
            rows.insert(entry("test.undone"))
            raise DomainError("slot_taken", "taken")


@pytest.mark.django_db(transaction=True)
def test_one_write_lock_keeps_what_was_written_before_an_error_not_the_savepoint_after():
    with pytest.raises(DomainError):
        count_then_fail_to_book()
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["test.counted"]


def write_then_break_a_constraint() -> None:
    with rows.one_write_lock():
        rows.insert(entry("test.with_the_error"))
        EstablishmentFactory(slug="taken")


@pytest.mark.django_db(transaction=True)
def test_one_write_lock_keeps_nothing_of_a_transaction_an_error_left_to_roll_back():
    EstablishmentFactory(slug="taken")
    with pytest.raises(IntegrityError):
        write_then_break_a_constraint()
    assert AuditEntry.objects.filter(action="test.with_the_error").exists() == (
        connection.vendor != "sqlite"  # one transaction on SQLite; each write its own elsewhere
    )
