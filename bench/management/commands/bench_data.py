"""``strapontin bench_data`` (bench settings): build the benchmark's data and describe it."""

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from bench import dataset
from strapontin.reservations.models import HOLDING_STATES, Patron, Reservation
from strapontin.venues.models import Establishment


class Command(BaseCommand):
    help = "Build the bench data (idempotent), add history, print a JSON description."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--history", type=int, default=10_000, help="Historical rows.")
        parser.add_argument(
            "--reset", action="store_true", help="Forget what earlier bench runs booked."
        )
        parser.add_argument("--check", action="store_true", help="Count double bookings only.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["check"]:
            self.stdout.write(json.dumps(check()))
            return
        started = time.monotonic()
        dataset.build_base()
        dataset.ensure_patron_tokens()
        missing = options["history"] - dataset.history_count()
        if missing < 0:
            raise SystemExit("this database has more history than asked: drop it first")
        if missing:
            dataset.build_history(missing)
        if options["reset"]:
            dataset.reset_bench_bookings()
        self.stdout.write(json.dumps(describe(time.monotonic() - started)))


def describe(seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {"seconds": round(seconds, 1), "vendor": connection.vendor}
    for slug in dataset.LAYOUT:
        establishment = Establishment.objects.get(slug=slug)
        out[slug] = {
            "areas": list(establishment.areas.order_by("position").values_list("pk", flat=True)),
            "places": list(establishment.resources.order_by("pk").values_list("pk", flat=True)),
        }
    out["booking_patrons"] = Patron.objects.filter(email__startswith="b").count()
    out["reservations"] = Reservation.objects.count()
    out["history"] = dataset.history_count()
    out["day"] = dataset.tomorrow().isoformat()
    out["day_reservations"] = Reservation.objects.filter(
        reference__startswith=f"{dataset.SEED_PREFIX}D"
    ).count()
    return out


def check() -> dict[str, int]:
    """Pairs of holding reservations of one place that overlap: zero, or I1 is broken."""
    holding = ", ".join(f"'{state}'" for state in HOLDING_STATES)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT count(*) FROM reservations_reservation a
                JOIN reservations_reservation b ON b.resource_id = a.resource_id
                 AND b.id <> a.id AND a.start < b."end" AND b.start < a."end"
                WHERE a.state IN ({holding}) AND b.state IN ({holding})
                  AND a.reference NOT LIKE '{dataset.SEED_PREFIX}%%'"""  # noqa: S608
        )
        (double,) = cursor.fetchone()
        cursor.execute("SELECT state, count(*) FROM reservations_outboxmessage GROUP BY state")
        outbox = dict(cursor.fetchall())
    booked = Reservation.objects.exclude(reference__startswith=dataset.SEED_PREFIX).count()
    return {
        "double_bookings": double,
        "booked": booked,
        **{f"outbox_{k}": v for k, v in outbox.items()},
    }
