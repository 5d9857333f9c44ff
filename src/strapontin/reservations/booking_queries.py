"""The statements of a booking, written once in SQL: a booking runs them all, at the 8 o'clock
rush hundreds of times a second, and compiling them through the ORM was half of its time
(issue 7). Each says what the ORM query it replaced said; the rules stay in ``services``.
Lock clauses exist on PostgreSQL only: SQLite's IMMEDIATE transaction already serialises.

A ``queue_`` function sends its statement and returns what reads its result: inside
``core.rows.pipelined``, statements queued one after the other travel in one round trip, and
each still runs after the one before it (its locks granted), with a snapshot of its own."""

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection

from strapontin.core.rows import Pending, at, columns, convert, load, queue, queue_first
from strapontin.reservations.models import Patron, ReservationState, Suspension
from strapontin.reservations.sql import quoted, sql
from strapontin.venues.models import Area, Establishment, Resource

Params = dict[str, Any]


def _fetch(statement: str, params: Params) -> list[tuple[Any, ...]]:
    return queue(statement, params)()


@cache
def _place_statement(also: str = "") -> str:
    return (
        f"SELECT {columns(Resource, 'r')}, {columns(Area, 'a')}, {columns(Establishment, 'e')}"
        f"{also} FROM venues_resource r JOIN venues_area a ON a.id = r.area_id "
        "JOIN venues_establishment e ON e.id = r.establishment_id WHERE r.id = %(place)s"
    )


def queue_place_and_whether_held(
    resource_id: int, start: datetime, end: datetime, moment: datetime
) -> Pending[tuple[Resource | None, bool]]:
    """The place to book, with its area and establishment (the ORM's ``select_related``), and
    :func:`place_is_held` over [start, end), in one statement: the quick check of an API
    booking costs no round trip of its own."""
    held = sql(f", EXISTS (SELECT 1 {_over_the_slot('h')} AND NOT ({{overdue}}))")
    read = queue_first(
        _place_statement(held),
        _slot(resource_id, start, end, moment),
        Resource,
        Area,
        Establishment,
        extra=1,
    )

    def place_and_held() -> tuple[Resource | None, bool]:
        found = read()
        if found is None:
            return None, False
        resource, resource.area, resource.establishment, is_held = found
        return resource, bool(is_held)

    return place_and_held


def lock_place(resource_id: int) -> None:
    """The place's row, locked: contenders for it queue here. Nothing is read back, so that in
    a pipeline (``core.rows.pipelined``) the lock travels with the read that follows it."""
    if connection.features.has_select_for_update:
        queue(sql("SELECT 1 FROM venues_resource r WHERE r.id = %s{locked}"), [resource_id])


def _over_the_slot(alias: str = "r") -> str:
    """The place's reservations in a holding state over [start, end): I1's half-open overlap
    (``core.intervals``), their table named ``alias``."""
    return (
        f"FROM reservations_reservation {alias} "
        f"WHERE {alias}.resource_id = %(place)s AND {alias}.state IN ({{holding_states}}) "
        f'AND {alias}.start < %(end)s AND {alias}."end" > %(start)s'
    )


_OVER_THE_SLOT = _over_the_slot()


def _slot(resource_id: int, start: datetime, end: datetime, moment: datetime) -> Params:
    return {"place": resource_id, "start": at(start), "end": at(end), "moment": at(moment)}


def holders(
    resource_id: int, start: datetime, end: datetime, moment: datetime
) -> list[tuple[int, bool]]:
    """The place's reservations over [start, end) in a holding state, each with whether it is
    overdue; locked, so that a row a check-in or a sweep is moving is read once it moved."""
    rows = _fetch(
        sql(f"SELECT r.id, ({{overdue}}) {_OVER_THE_SLOT}{{locked_of_r}}"),
        _slot(resource_id, start, end, moment),
    )
    return [(pk, bool(overdue)) for pk, overdue in rows]


def queue_holders_and_rules_version(
    resource: Resource, start: datetime, end: datetime, moment: datetime
) -> Pending[tuple[str, list[tuple[int, bool]]]]:
    """:func:`holders`, and the establishment's rules version, in one statement queued after
    the place's lock: it sees any closure committed before the lock (``venues.rules``)."""
    read = queue(
        sql(
            "WITH held AS MATERIALIZED "
            f"(SELECT r.id, ({{overdue}}) AS overdue {_OVER_THE_SLOT}{{locked_of_r}}) "
            "SELECT e.rules_version, held.id, held.overdue FROM venues_establishment e "
            "LEFT JOIN held ON 1 = 1 WHERE e.id = %(here)s"
        ),
        {**_slot(resource.pk, start, end, moment), "here": resource.establishment_id},
    )

    def version_and_holders() -> tuple[str, list[tuple[int, bool]]]:
        rows = read()
        version = str(rows[0][0])
        return version, [(pk, bool(overdue)) for _v, pk, overdue in rows if pk is not None]

    return version_and_holders


def place_is_held(resource_id: int, start: datetime, end: datetime, moment: datetime) -> bool:
    """Whether a reservation still holds the place over [start, end), without locks."""
    rows = _fetch(
        sql(f"SELECT 1 {_OVER_THE_SLOT} AND NOT ({{overdue}}) LIMIT 1"),
        _slot(resource_id, start, end, moment),
    )
    return bool(rows)


def queue_lock_patron(email: str, inbox: int | None) -> Pending[Patron | None]:
    """The patron of ``email``, its row locked, after the lock of its ``inbox`` (an advisory
    lock on PostgreSQL, taken in the same statement); None for an address never seen."""
    lock_inbox = ", pg_advisory_xact_lock(%(inbox)s)" if inbox is not None else ""
    read = queue(
        sql(
            f"SELECT {columns(Patron, 'r')}{lock_inbox} FROM reservations_patron r "
            "WHERE r.email = %(email)s{locked}"
        ),
        {"email": email, "inbox": inbox},
    )

    def patron() -> Patron | None:
        rows = read()
        if not rows:
            return None
        return load(Patron, rows[0][: len(Patron._meta.concrete_fields)])

    return patron


def lock_patron(email: str, inbox: int | None) -> Patron | None:
    return queue_lock_patron(email, inbox)()


@dataclass(frozen=True)
class InboxCounts:
    """What one inbox (aliases included) holds around a new booking, and until when it is
    suspended here: what I2 and the suspension rule look at."""

    overlapping: int
    today: int
    this_week: int
    pending: int
    suspended_until: datetime | None


@dataclass(frozen=True)
class Inbox:
    """Whose reservations count as one person's (``services.same_inbox``): every patron of a
    canonical address, or one patron alone when its row has none."""

    canonical: str = ""
    patron_id: int | None = None

    @classmethod
    def of(cls, patron: Patron) -> "Inbox":
        return cls(canonical=patron.canonical_email, patron_id=patron.pk)

    def rows_of(self, table: str, alias: str) -> tuple[str, str]:
        """The rows of ``table`` that are the inbox's: what to select FROM, and the condition.
        From the patrons of the canonical address by a join, which SQLite's planner follows
        into the (patron, …) index; given ``IN (SELECT …)``, it scanned every holding
        reservation instead (3 ms a booking, under the write lock)."""
        if self.canonical:
            return (
                f"reservations_patron {alias}p JOIN {table} {alias} "
                f"ON {alias}.patron_id = {alias}p.id",
                f"{alias}p.canonical_email = %(canonical)s",
            )
        return f"{table} {alias}", f"{alias}.patron_id = %(patron)s"


def queue_inbox_counts_and_reservation_id(
    inbox: Inbox,
    establishment_id: int,
    *,
    start: datetime,
    end: datetime,
    day: tuple[datetime, datetime],
    week: tuple[datetime, datetime],
    moment: datetime,
    draw: bool = False,
) -> Pending[tuple[InboxCounts, int | None]]:
    """What one inbox holds around a new booking, in one statement which reads only
    reservations ending after now, the week or the slot begins (the (patron, end) index),
    however long the patron's history. Counted after the inbox's lock, it is the truth until
    this transaction ends. With ``draw``, also the primary key of the reservation about
    to be written, drawn from its sequence in the same statement (PostgreSQL), so that the
    reservation is written with its audit entry, e-mail and token in one round trip. None
    elsewhere: the INSERT gives it."""
    draw = draw and connection.vendor == "postgresql"
    read = queue(
        _inbox_counts_sql(bool(inbox.canonical), draw),
        {
            "patron": inbox.patron_id,
            "canonical": inbox.canonical,
            "here": establishment_id,
            "start": at(start),
            "end": at(end),
            "day_start": at(day[0]),
            "day_end": at(day[1]),
            "week_start": at(week[0]),
            "week_end": at(week[1]),
            "since": at(min(start, week[0], moment)),
            "moment": at(moment),
        },
    )

    def counts_and_id() -> tuple[InboxCounts, int | None]:
        overlapping, today, this_week, pending, until, *drawn = read()[0]
        until = convert(Suspension._meta.get_field("ends_at"), until)
        counts = InboxCounts(overlapping, today, this_week, pending, until)
        return counts, int(drawn[0]) if drawn else None

    return counts_and_id


@cache
def _inbox_counts_sql(by_canonical: bool, draw: bool) -> str:
    inbox = Inbox(canonical="-") if by_canonical else Inbox(patron_id=0)
    reservations, theirs = inbox.rows_of("reservations_reservation", "r")
    suspensions, suspended = inbox.rows_of("reservations_suspension", "s")
    drawn = ", nextval(pg_get_serial_sequence('reservations_reservation', 'id'))" if draw else ""
    return sql(
        "SELECT "
        'COUNT(*) FILTER (WHERE r.start < %(end)s AND r."end" > %(start)s), '
        "COUNT(*) FILTER (WHERE r.establishment_id = %(here)s "
        "AND r.start >= %(day_start)s AND r.start < %(day_end)s), "
        "COUNT(*) FILTER (WHERE r.establishment_id = %(here)s "
        "AND r.start >= %(week_start)s AND r.start < %(week_end)s), "
        f"COUNT(*) FILTER (WHERE state = {quoted(ReservationState.PENDING)}), "
        f"(SELECT MAX(s.ends_at) FROM {suspensions} "
        f"WHERE {suspended} AND s.establishment_id = %(here)s "
        "AND s.lifted_at IS NULL AND s.starts_at <= %(moment)s AND s.ends_at > %(moment)s)"
        f"{drawn} FROM {reservations} "
        "WHERE r.state IN ({holding_states}) AND NOT ({overdue}) "
        f'AND {theirs} AND r."end" > %(since)s'
    )
