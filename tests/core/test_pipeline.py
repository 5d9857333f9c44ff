"""core.pipeline: the hot paths' statements in batches through libpq's pipeline (PostgreSQL)."""

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.test.utils import CaptureQueriesContext

from strapontin.core import rows
from strapontin.core.clock import now
from strapontin.reservations.models import Patron
from tests.core.test_rows import elsewhere

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

INSERT = "INSERT INTO reservations_patron (email, canonical_email, language, created_at) "
ADD = INSERT + "VALUES (%s, '', 'fr', %s) RETURNING id"
COUNT = "SELECT count(*) FROM reservations_patron WHERE email LIKE %s"


def ours() -> list[str]:
    """The statements this connection prepared itself."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE name LIKE 'strapontin%%'"
        )
        return [statement for (statement,) in cursor.fetchall()]


def test_each_statement_of_a_batch_runs_after_the_one_before_and_sees_it():
    with transaction.atomic(), rows.pipelined():
        added = rows.queue(ADD, ["ann@example.org", now()])
        counted = rows.queue(COUNT, ["ann@%"])
        assert elsewhere("SELECT count(*) FROM reservations_patron") == [(0,)]
    ((key,),) = added()
    assert counted() == [(1,)]
    assert Patron.objects.get(pk=key).email == "ann@example.org"


def test_reading_a_result_first_sends_what_was_queued_before_it():
    with rows.pipelined():
        rows.queue(ADD, ["bea@example.org", now()])
        assert rows.queue(COUNT, ["bea@%"])() == [(1,)]
        later = rows.queue(COUNT, ["%"])
    assert later() == [(1,)]


def add_then_fail() -> None:
    with transaction.atomic():
        with rows.pipelined():
            rows.queue(ADD, ["cat@example.org", now()])
        assert Patron.objects.filter(email="cat@example.org").exists()
        raise RuntimeError


def test_a_batch_inside_a_transaction_begins_it_and_rolls_back_with_it():
    with pytest.raises(RuntimeError):
        add_then_fail()
    assert not Patron.objects.exists()


def add_twice_then_count() -> tuple[rows.Pending[list[tuple[object, ...]]], ...]:
    with rows.pipelined():
        first = rows.queue(ADD, ["dan@example.org", now()])
        second = rows.queue(ADD, ["dan@example.org", now()])
        count = rows.queue(COUNT, ["%"])
    return first, second, count


def test_an_error_stops_the_batch_as_django_s_error_with_its_sqlstate():
    with pytest.raises(IntegrityError) as raised:
        add_twice_then_count()
    assert raised.value.__cause__.sqlstate == "23505"  # type: ignore[union-attr]
    # Outside a transaction, a batch is one implicit transaction: nothing of it is written.
    assert not Patron.objects.exists()


def test_the_readers_of_a_failed_batch_raise_its_error():
    with rows.pipelined() as batch:
        assert batch is not None
        rows.queue(ADD, ["eve@example.org", now()])
        rows.queue(ADD, ["eve@example.org", now()])
        after = rows.queue(COUNT, ["%"])
        with pytest.raises(IntegrityError):
            batch.send()
    with pytest.raises(IntegrityError):
        after()


def fresh_connection() -> None:
    """A connection of its own: what others prepared on the last one does not count."""
    connection.close()
    connection.ensure_connection()


@contextmanager
def preparing_after(runs: int | None) -> Iterator[None]:
    """A fresh connection whose ``prepare_threshold`` is ``runs``, closed at the end."""
    fresh_connection()
    connection.connection.prepare_threshold = runs
    try:
        yield
    finally:
        connection.close()


def create_then_fail() -> None:
    with transaction.atomic():
        Patron.objects.create(email="fay@example.org")
        raise RuntimeError


def test_a_statement_is_prepared_after_the_threshold_and_kept_through_rollbacks():
    fresh_connection()
    threshold = connection.connection.prepare_threshold
    assert threshold is not None
    for _ in range(threshold):
        rows.queue(COUNT, ["%"])()
    assert ours() == []
    rows.queue(COUNT, ["%"])()
    assert len(ours()) == 1
    assert "count(*)" in ours()[0]
    with pytest.raises(RuntimeError):
        create_then_fail()  # psycopg deallocates what it prepared itself at a rollback
    assert len(ours()) == 1
    assert rows.queue(COUNT, ["%"])() == [(0,)]


def test_a_prepared_statement_is_planned_once_not_at_every_run():
    """A range over a slot, as the booking's quick check reads it: PostgreSQL's "auto" plans
    such a statement again at each run when its generic estimate is a hair above the custom
    one (settings: ``plan_cache_mode``)."""
    held = "SELECT count(*) FROM reservations_patron WHERE created_at < %s AND created_at > %s"
    with preparing_after(0):
        for _ in range(10):
            rows.queue(held, [now(), now()])()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE name LIKE 'strapontin%%'"
            )
            assert cursor.fetchall() == [(10, 0)]


def test_without_a_threshold_nothing_is_prepared():
    with preparing_after(None):
        for _ in range(10):
            assert rows.queue(COUNT, ["%"])() == [(0,)]
        assert ours() == []


def test_a_statement_deallocated_behind_its_back_is_prepared_again():
    with preparing_after(0):
        rows.queue(COUNT, ["%"])()
        with connection.cursor() as cursor:
            cursor.execute("DEALLOCATE ALL")
        with pytest.raises(ProgrammingError):
            rows.queue(COUNT, ["%"])()
        assert rows.queue(COUNT, ["%"])() == [(0,)]
        assert len(ours()) == 1


def test_a_statement_prepared_again_never_takes_a_name_still_in_use():
    with preparing_after(0):
        rows.queue(COUNT, ["%"])()
        rows.queue(ADD, ["hal@example.org", now()])()
        with connection.cursor() as cursor:  # one of the two only
            cursor.execute(
                "SELECT name FROM pg_prepared_statements WHERE statement LIKE 'INSERT%%'"
            )
            ((inserting,),) = cursor.fetchall()
            cursor.execute(f"DEALLOCATE {inserting}")
        with pytest.raises(ProgrammingError):
            rows.queue(ADD, ["ian@example.org", now()])()
        assert rows.queue(ADD, ["ian@example.org", now()])()
        assert rows.queue(COUNT, ["%"])() == [(2,)]


def test_each_statement_of_a_batch_is_logged_as_a_query():
    with CaptureQueriesContext(connection) as logged, rows.pipelined():
        rows.queue(COUNT, ["a%"])
        rows.queue(COUNT, ["b%"])
    assert [q["sql"].count("reservations_patron") for q in logged.captured_queries] == [1, 1]
    assert "'b%'" in logged.captured_queries[1]["sql"]


def queue_then_fail() -> rows.Pending[list[tuple[object, ...]]]:
    with rows.pipelined():
        added = rows.queue(ADD, ["gus@example.org", now()])
        raise RuntimeError(added)


def test_a_block_that_raises_sends_nothing_and_its_readers_say_why():
    with pytest.raises(RuntimeError) as raised:
        queue_then_fail()
    (added,) = raised.value.args
    with pytest.raises(RuntimeError):
        added()
    assert not Patron.objects.exists()


def test_the_connection_of_a_thread_that_ended_is_closed_with_it():
    """What is kept per connection (its prepared statements, its adapters) must not keep a
    thread's connection open once the thread is gone (and the garbage collected)."""
    pids: list[int] = []

    def in_a_thread() -> None:
        ((pid,),) = rows.queue("SELECT pg_backend_pid()", [])()
        pids.append(pid)

    worker = threading.Thread(target=in_a_thread)
    worker.start()
    worker.join()
    gc.collect()
    still = f"SELECT count(*) FROM pg_stat_activity WHERE pid = {int(pids[0])}"  # noqa: S608
    for _ in range(50):
        if elsewhere(still) == [(0,)]:
            break
        time.sleep(0.1)
    assert elsewhere(still) == [(0,)]
