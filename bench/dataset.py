"""The benchmark's data: three establishments, verified patrons, one busy day, and history.

Built through the ORM (the same on SQLite and PostgreSQL), except the history, which is
generated inside PostgreSQL with ``generate_series`` (10 million rows in minutes, not hours)
or written with ``executemany`` on SQLite. Seed data, not transitions: no audit, no e-mail.

- ``bench-big``: 1,000 places in 5 areas of 200, and ``DAY_RESERVATIONS`` reservations
  tomorrow (5 per place): the availability and reservation-page scenarios.
- ``bench-booking``: 1,000 places in 5 areas; every booking of the throughput scenario takes
  a (place, hour) nobody else takes.
- ``bench-rush``: 500 places in one area; 2,000 patrons want the same hour.
- ``BOOKING_PATRONS`` verified patrons ``b<n>@patrons.example`` who book during the bench,
  each signed in from an app (a patron API token, :func:`patron_token`), and
  ``HISTORY_PATRONS`` others ``h<n>@patrons.example`` who own the seed reservations.
"""

import contextlib
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import ProgrammingError, connection, transaction
from django.db.models import Max

from bench.tokens import patron_token
from strapontin.api.credentials import PATRON_TOKEN_LIFETIME, hash_secret
from strapontin.api.models import PatronToken
from strapontin.reservations.models import (
    CheckinMethod,
    Patron,
    Reservation,
    ReservationState,
    canonical_email,
)
from strapontin.venues.models import (
    Area,
    BookingPolicy,
    Establishment,
    Feature,
    OpeningHours,
    Resource,
)

TZ = ZoneInfo("Europe/Paris")
OPENS, CLOSES = 8, 22  # every day, 08:00-22:00: 14 one-hour bookings per place and day
HOURS = CLOSES - OPENS
BIG, BOOKING, RUSH = "bench-big", "bench-booking", "bench-rush"
LAYOUT = {BIG: (5, 200), BOOKING: (5, 200), RUSH: (1, 500)}  # areas × places per area
DAY_RESERVATIONS_PER_PLACE = 5
BOOKING_PATRONS = 20_000
HISTORY_PATRONS = 10_000
#: Reservation references of the seed data start with this letter; the bench's own do not
#: (the alphabet of real references has no "0"), so a reused database can be reset.
SEED_PREFIX = "0"


def tomorrow() -> date:
    return datetime.now(TZ).date() + timedelta(days=1)


def at_hour(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=TZ)


@transaction.atomic
def build_base() -> None:
    """Establishments, places, patrons and tomorrow's reservations of ``bench-big``."""
    if Establishment.objects.filter(slug=BIG).exists():
        return
    power, _created = Feature.objects.get_or_create(
        code="power", defaults={"name_fr": "Prise électrique", "name_en": "Power socket"}
    )
    for slug, (areas, per_area) in LAYOUT.items():
        establishment = Establishment.objects.create(
            name=slug.replace("-", " ").title(), slug=slug, timezone="Europe/Paris"
        )
        BookingPolicy.objects.create(
            establishment=establishment, slot_minutes=30, min_duration_minutes=60
        )
        OpeningHours.objects.bulk_create(
            OpeningHours(
                establishment=establishment, weekday=d, opens=time(OPENS), closes=time(CLOSES)
            )
            for d in range(7)
        )
        for a in range(areas):
            area = Area.objects.create(establishment=establishment, name=f"Étage {a}", position=a)
            Resource.objects.bulk_create(
                Resource(establishment=establishment, area=area, label=f"Place {n}", position=n)
                for n in range(1, per_area + 1)
            )
        through = Resource.features.through
        through.objects.bulk_create(
            through(resource_id=pk, feature_id=power.pk)
            for pk in establishment.resources.values_list("pk", flat=True)[::2]
        )
    verified = datetime.now(UTC) - timedelta(days=30)

    def patron(email: str) -> Patron:
        # bulk_create does not call save(), which fills canonical_email
        return Patron(email=email, canonical_email=canonical_email(email), verified_at=verified)

    Patron.objects.bulk_create(
        (patron(f"b{n}@patrons.example") for n in range(BOOKING_PATRONS)), batch_size=5000
    )
    Patron.objects.bulk_create(
        (patron(f"h{n}@patrons.example") for n in range(HISTORY_PATRONS)), batch_size=5000
    )
    _busy_day(Establishment.objects.get(slug=BIG), tomorrow())


@transaction.atomic
def ensure_patron_tokens() -> None:
    """Each booking patron signed in from an app a month ago: with its patron token, a
    booking proves the address and is confirmed at once (issue 7: "e-mail address already
    verified"); without one, the booking would ask for a confirmation e-mail."""
    if PatronToken.objects.filter(patron__email="b0@patrons.example").exists():
        return
    signed_in = datetime.now(UTC) - timedelta(days=30)
    patrons = Patron.objects.filter(email__startswith="b").values_list("pk", "email")
    PatronToken.objects.bulk_create(
        (
            PatronToken(
                patron_id=pk,
                token_hash=hash_secret(patron_token(int(email[1:].split("@")[0]))),
                created_at=signed_in,
                expires_at=signed_in + PATRON_TOKEN_LIFETIME,
            )
            for pk, email in patrons.iterator()
        ),
        batch_size=5000,
    )


def _busy_day(establishment: Establishment, day: date) -> None:
    """Five one-hour reservations for each place, spread over the day."""
    patrons = list(
        Patron.objects.filter(email__startswith="h").order_by("pk").values_list("pk", flat=True)
    )
    places = list(establishment.resources.order_by("pk").values_list("pk", flat=True))
    moment = datetime.now(UTC)
    rows = []
    for index, place in enumerate(places):
        for k in range(DAY_RESERVATIONS_PER_PLACE):
            start = at_hour(day, OPENS + (index + 3 * k) % HOURS)
            rows.append(
                Reservation(
                    reference=f"{SEED_PREFIX}D{len(rows):09d}",
                    establishment=establishment,
                    resource_id=place,
                    patron_id=patrons[len(rows) % len(patrons)],
                    start=start,
                    end=start + timedelta(hours=1),
                    state=ReservationState.CONFIRMED,
                    created_at=moment,
                    confirmed_at=moment,
                    checkin_opens_at=start - timedelta(minutes=15),
                    checkin_closes_at=start + timedelta(minutes=30),
                )
            )
    Reservation.objects.bulk_create(rows, batch_size=2000)


def history_count() -> int:
    return Reservation.objects.filter(reference__startswith=f"{SEED_PREFIX}H").count()


def build_history(count: int) -> None:
    """``count`` finished reservations before today, on the places of ``bench-big`` and
    ``bench-booking``, most recent days first: about 4.7 per place and day."""
    if connection.vendor == "postgresql":
        _history_postgresql(count)
    else:
        _history_python(count)


def _history_rows_sql() -> str:
    """One row per (day back, place, hour) kept by a modulo: never two on one place at once.
    Only constants of this module are formatted in; the sizes are query parameters."""
    return f"""
        WITH places AS (
            SELECT r.id, r.establishment_id, row_number() OVER (ORDER BY r.id) AS idx
            FROM venues_resource r JOIN venues_establishment e ON e.id = r.establishment_id
            WHERE e.slug IN ('{BIG}', '{BOOKING}')
        ), patrons AS (
            SELECT min(id) AS first, count(*) AS pool FROM reservations_patron
            WHERE email LIKE 'h%%'
        ), slots AS (
            SELECT row_number() OVER () AS n, d, p.id AS resource_id, p.establishment_id, s,
                   ((current_date - d) + make_interval(hours => {OPENS} + s))
                       AT TIME ZONE 'Europe/Paris' AS start
            FROM generate_series(1, %(days)s) d, places p, generate_series(0, {HOURS - 1}) s
            WHERE (p.idx + d + s) %% 3 = 0
            LIMIT %(count)s
        )
        SELECT '{SEED_PREFIX}H' || lpad(to_hex(n), 10, '0'), establishment_id, resource_id,
               patrons.first + (slots.n * 7919) %% patrons.pool,
               start, start + interval '1 hour',
               CASE n %% 20 WHEN 0 THEN 'cancelled' WHEN 1 THEN 'no_show'
                            WHEN 2 THEN 'expired' WHEN 3 THEN 'released' ELSE 'checked_in' END,
               'fr', start - interval '2 days',
               NULL::timestamptz,
               CASE WHEN n %% 20 = 2 THEN NULL ELSE start - interval '2 days' END,
               start - interval '15 minutes', start + interval '30 minutes',
               CASE WHEN n %% 20 IN (0, 1, 2) THEN NULL ELSE start + interval '5 minutes' END,
               CASE WHEN n %% 20 IN (0, 1, 2) THEN '' ELSE '{CheckinMethod.QR}' END,
               start - interval '1 hour',
               CASE WHEN n %% 20 IN (0, 1, 2, 3) THEN start + interval '30 minutes' END,
               CASE WHEN n %% 20 = 0 THEN 'patron' ELSE '' END,
               ''
        FROM slots, patrons
    """  # noqa: S608


COLUMNS = (
    'reference, establishment_id, resource_id, patron_id, start, "end", state, language, '
    "created_at, confirmation_deadline, confirmed_at, checkin_opens_at, checkin_closes_at, "
    "checked_in_at, checkin_method, reminder_sent_at, ended_at, cancel_cause, cancel_reason"
)
TABLE = "reservations_reservation"


def _history_postgresql(count: int) -> None:
    """Drop the table's indexes and constraints (but its key), insert, rebuild them: building
    an index once is far cheaper than maintaining it through 10 million inserts."""
    places = Resource.objects.filter(establishment__slug__in=[BIG, BOOKING]).count()
    per_day = places * HOURS / 3
    days = int(count / per_day) + 2
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET synchronous_commit = off")
        cursor.execute(
            """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
               WHERE conrelid = %s::regclass AND contype IN ('f', 'u', 'x')""",
            [TABLE],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
               FROM pg_index i WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
            [TABLE],
        )
        indexes = cursor.fetchall()
        with transaction.atomic():
            for name, _definition in constraints:
                cursor.execute(f'ALTER TABLE {TABLE} DROP CONSTRAINT "{name}"')
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {name}")
            cursor.execute(
                f"INSERT INTO {TABLE} ({COLUMNS}) {_history_rows_sql()}",
                {"days": days, "count": count},
            )
            for _name, definition in indexes:
                cursor.execute(definition)
            for name, definition in constraints:
                cursor.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')
        cursor.execute(f"VACUUM (ANALYZE) {TABLE}")
        cursor.execute("ANALYZE")
        # The gigabytes just written reach the disk now, not under the first timed run: that
        # pair was the slowest, 0.86 where the others were 0.92-0.98, in both runs that had
        # just generated (a library's database is not that fresh). Without superuser or
        # pg_checkpoint, the first run does the write-back.
        with contextlib.suppress(ProgrammingError):
            cursor.execute("CHECKPOINT")


def _history_python(count: int) -> None:
    """The same rows, written from Python (SQLite: ten thousand, not ten million)."""
    places = list(
        Resource.objects.filter(establishment__slug__in=[BIG, BOOKING])
        .order_by("pk")
        .values_list("pk", "establishment_id")
    )
    patrons = list(
        Patron.objects.filter(email__startswith="h").order_by("pk").values_list("pk", flat=True)
    )
    first = Reservation.objects.aggregate(m=Max("pk"))["m"] or 0
    rows: list[Reservation] = []
    today = datetime.now(TZ).date()
    d = 0
    while len(rows) < count:
        d += 1
        for idx, (place, establishment) in enumerate(places, start=1):
            for s in range(HOURS):
                if (idx + d + s) % 3 or len(rows) >= count:
                    continue
                n = first + len(rows) + 1
                start = at_hour(today - timedelta(days=d), OPENS + s)
                rows.append(
                    Reservation(
                        reference=f"{SEED_PREFIX}H{n:010x}",
                        establishment_id=establishment,
                        resource_id=place,
                        patron_id=patrons[(n * 7919) % len(patrons)],
                        start=start,
                        end=start + timedelta(hours=1),
                        state=ReservationState.CHECKED_IN,
                        created_at=start - timedelta(days=2),
                        confirmed_at=start - timedelta(days=2),
                        checkin_opens_at=start - timedelta(minutes=15),
                        checkin_closes_at=start + timedelta(minutes=30),
                        checked_in_at=start + timedelta(minutes=5),
                        checkin_method=CheckinMethod.QR,
                    )
                )
    Reservation.objects.bulk_create(rows, batch_size=2000)


def reset_bench_bookings() -> int:
    """Forget what an earlier bench run booked on a reused database (seed rows stay)."""
    with transaction.atomic():
        mine = Reservation.objects.exclude(reference__startswith=SEED_PREFIX)
        from strapontin.core.models import AuditEntry
        from strapontin.reservations.models import OutboxMessage

        OutboxMessage.objects.filter(reservation__in=mine).delete()
        AuditEntry.objects.filter(
            subject_type="reservations.reservation", subject_id__in=mine.values("pk")
        ).delete()
        return mine.delete()[0]
