"""A backup taken while patrons book, confirm and cancel, restored into a fresh database,
keeps every invariant: no overlapping holding reservations, an audit trail for every
reservation that replays to its state, the outbox in step with it (`strapontin verify_data`).
SQLite (VACUUM INTO, beside the WAL) and PostgreSQL (pg_dump -Fc, pg_restore; the exclusion
constraint and its btree_gist extension come back too), as docs/operations.md shows."""

import contextlib
import os
import shutil
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.core.models import AuditEntry
from strapontin.reservations import services
from strapontin.reservations.models import Reservation, ReservationState
from strapontin.venues.models import Resource
from tests.concurrency.rush import tomorrow_at_ten
from tests.conftest import PARIS
from tests.factories import AreaFactory, ResourceFactory
from tests.reliability.servers import ROOT, STRAPONTIN

pytestmark = pytest.mark.usefixtures("transactional_db")


class Writers:
    """Three patrons' worth of writes, each in its own thread and connection: book (audit
    entry and e-mail in the same transaction), then confirm or cancel every other one."""

    def __init__(self, places: list[Resource]) -> None:
        self.places = places
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.threads = [threading.Thread(target=self._write, args=(n,)) for n in range(3)]

    def _write(self, n: int) -> None:
        day = now().astimezone(PARIS).date() + timedelta(days=1)
        try:
            for i in range(200):
                if self.stop.is_set():
                    return
                place = self.places[(n * 7 + i) % len(self.places)]
                hour = 8 + (i // len(self.places)) % 13
                start = datetime(day.year, day.month, day.day, hour, 0, tzinfo=PARIS)
                try:
                    booked = services.reservation_create(
                        resource=place,
                        email=f"writer{n}-{i}@example.org",
                        start=start,
                        end=start + timedelta(hours=1),
                    )
                except DomainError:
                    continue  # another writer took that slot first
                if i % 2:
                    services.reservation_confirm(reservation=booked)
                elif i % 3 == 0:
                    services.reservation_cancel_by_patron(reservation=booked)
        except BaseException as error:
            self.errors.append(error)
        finally:
            connection.close()

    def __enter__(self) -> "Writers":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)
        assert self.errors == []


def verify(database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STRAPONTIN, "verify_data"],
        env={**os.environ, "DATABASE_URL": database_url},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def migrations_complete(database_url: str) -> bool:
    done = subprocess.run(
        [STRAPONTIN, "migrate", "--check"],
        env={**os.environ, "DATABASE_URL": database_url},
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture
def places() -> list[Resource]:
    return ResourceFactory.create_batch(5, area=AreaFactory())


@contextlib.contextmanager
def fresh_postgresql_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database to restore into, dropped afterwards."""
    db = connection.settings_dict
    name = f"restored_{uuid.uuid4().hex[:12]}"
    base = ["-h", db["HOST"], "-p", str(db["PORT"]), "-U", db["USER"]]
    subprocess.run(["createdb", *base, name], check=True, timeout=60)
    try:
        yield f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{name}"
    finally:
        subprocess.run(["dropdb", *base, "--force", name], check=True, timeout=60)


def back_up_while_writing(places: list[Resource], target: Path) -> tuple[int, int]:
    """(reservations when the backup started, reservations when the writers stopped)."""
    with Writers(places):
        deadline = time.monotonic() + 60
        while Reservation.objects.count() < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        at_backup = Reservation.objects.count()
        call_command("backup", str(target))
        time.sleep(0.5)
    return at_backup, Reservation.objects.count()


def restore(target: Path, tmp_path: Path, stack: contextlib.ExitStack) -> str:
    """Restore as docs/operations.md says; the restored database's URL."""
    if connection.vendor == "sqlite":
        # Restoring SQLite is putting the file in place (the service stopped): here a copy.
        restored = tmp_path / "restored" / "strapontin.sqlite3"
        restored.parent.mkdir()
        shutil.copy(target, restored)
        return f"sqlite:///{restored}"
    url = stack.enter_context(fresh_postgresql_database())
    subprocess.run(
        ["pg_restore", "--no-owner", f"--dbname={url}", str(target)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return url


def test_a_backup_taken_under_writes_restores_with_every_invariant(
    places: list[Resource], tmp_path: Path
) -> None:
    target = tmp_path / "strapontin.backup"

    at_backup, at_end = back_up_while_writing(places, target)

    with contextlib.ExitStack() as stack:
        url = restore(target, tmp_path, stack)
        checked = verify(url)
        assert checked.returncode == 0, checked.stderr
        assert "Every invariant holds" in checked.stdout
        assert migrations_complete(url)
        count = restored_count(url)
        assert at_backup <= count <= at_end
        assert at_end > at_backup, "nothing was written while the backup ran"
        if connection.vendor == "postgresql":
            with psycopg.connect(url) as db:
                constraint = db.execute(
                    "SELECT count(*) FROM pg_constraint WHERE conname = 'reservation_no_overlap'"
                ).fetchone()
            assert constraint == (1,), "I1's exclusion constraint did not come back"


def restored_count(url: str) -> int:
    query = "SELECT count(*) FROM reservations_reservation"
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as lite:
            return lite.execute(query).fetchone()[0]
    with psycopg.connect(url) as db:
        row = db.execute(query).fetchone()
        assert row is not None
        return row[0]


def test_verify_data_reports_what_a_broken_restore_lost(
    places: list[Resource], tmp_path: Path
) -> None:
    """The check above can fail: a restored copy missing one audit entry is refused."""
    start = tomorrow_at_ten()
    services.reservation_create(
        resource=places[0], email="alice@example.org", start=start, end=start + timedelta(hours=1)
    )
    reservation = Reservation.objects.get()
    assert reservation.state == ReservationState.PENDING
    AuditEntry.objects.filter(subject_id=reservation.pk).delete()  # what a torn copy loses
    db = connection.settings_dict
    url = (
        f"sqlite:///{db['NAME']}"
        if connection.vendor == "sqlite"
        else f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    )
    checked = verify(url)
    assert checked.returncode == 1
    assert f"audit_trail: {reservation.reference}" in checked.stderr
