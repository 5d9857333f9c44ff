"""The reservation table's indexes: each is a write of every booking, so none is kept that
another serves, and each sweep finds its rows through an index holding only its state."""

import pytest
from django.db import connection

from strapontin.core.clock import now
from strapontin.reservations.models import Reservation, ReservationState

pytestmark = pytest.mark.django_db


def _indexes() -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, Reservation._meta.db_table)
    return {
        name: info["columns"]
        for name, info in found.items()
        if info["index"] and not info["unique"] and not info["primary_key"] and info["columns"]
    }


def test_no_index_of_a_reservation_begins_another():
    indexes = _indexes()
    assert "reservation_day_idx" in indexes
    for name, columns in indexes.items():
        for other, longer in indexes.items():
            if other != name and longer[: len(columns)] == columns:
                raise AssertionError(f"{name} {columns} is served by {other} {longer}")


@pytest.mark.parametrize(
    ("state", "deadline", "index"),
    [
        (ReservationState.PENDING, "confirmation_deadline", "reservation_unconfirmed_idx"),
        (ReservationState.CONFIRMED, "checkin_closes_at", "reservation_noshow_idx"),
        (ReservationState.ON_BREAK, "break_ends_at", "reservation_break_idx"),
        (ReservationState.OFFERED, "offer_deadline", "reservation_offer_idx"),
    ],
)
def test_each_sweep_reads_its_overdue_reservations_through_its_own_index(state, deadline, index):
    overdue = Reservation.objects.filter(state=state, **{f"{deadline}__lte": now()}).order_by(
        deadline
    )[:500]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # an empty table is read whole, index or not
            cursor.execute("SET enable_seqscan = off")
        try:
            plan = overdue.explain()
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("RESET enable_seqscan")
    assert index in plan
