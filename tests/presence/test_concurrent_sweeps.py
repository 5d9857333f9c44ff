"""Four sweepers at once (several workers on several machines): each overdue reservation
changes state exactly once, with one audit entry and one e-mail. Runs on SQLite (IMMEDIATE
transactions) and on PostgreSQL (row locks, SKIP LOCKED)."""

from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from strapontin.core.models import AuditEntry
from strapontin.reservations import services
from strapontin.reservations.models import (
    OutboxMessage,
    OutboxState,
    Patron,
    Reservation,
    ReservationState,
)
from strapontin.reservations.sweeps import sweep_no_shows, sweep_unconfirmed
from tests.conftest import MONDAY_MORNING, paris
from tests.factories import AreaFactory, EstablishmentFactory, ResourceFactory
from tests.presence.threads import together

pytestmark = pytest.mark.usefixtures("transactional_db")

SWEEPERS = 4
PER_KIND = 20
#: Monday 11:00: the pending ones (booked at 09:00 for 14:00) reach their 2-hour deadline; the
#: confirmed ones (10:00–11:00) passed the close of their window at 10:30.
SWEEP_AT = paris(2026, 3, 2, 11, 0)


def overdue_reservations() -> list[Reservation]:
    with time_machine.travel(MONDAY_MORNING, tick=False):
        area = AreaFactory(establishment=EstablishmentFactory())
        places = [ResourceFactory(area=area) for _ in range(PER_KIND)]
        Patron.objects.bulk_create(
            Patron(email=f"regular{n}@example.org", verified_at=MONDAY_MORNING)
            for n in range(PER_KIND)
        )
        made = []
        for n, place in enumerate(places):
            made.append(
                services.reservation_create(
                    resource=place,
                    email=f"new{n}@example.org",
                    start=paris(2026, 3, 2, 14, 0),
                    end=paris(2026, 3, 2, 15, 0),
                )
            )
            made.append(
                services.reservation_create(
                    resource=place,
                    email=f"regular{n}@example.org",
                    known_patron_id=Patron.objects.get(email=f"regular{n}@example.org").pk,
                    start=paris(2026, 3, 2, 10, 0),
                    end=paris(2026, 3, 2, 11, 0),
                )
            )
    assert Counter(r.state for r in made) == {"pending": PER_KIND, "confirmed": PER_KIND}
    return made


def sweep() -> int:
    return sweep_unconfirmed() + sweep_no_shows()


def test_four_sweepers_at_once_move_each_reservation_once_with_one_email():
    made = overdue_reservations()
    mail.outbox.clear()
    with time_machine.travel(SWEEP_AT, tick=False):
        counts = together(*([sweep] * SWEEPERS))

    assert sum(counts) == len(made), counts
    expected = {"pending": "expired", "confirmed": "no_show"}
    actions = Counter(
        AuditEntry.objects.filter(
            subject_type="reservations.reservation",
            action__in=["reservation.expired", "reservation.no_show"],
        ).values_list("subject_id", "action")
    )
    causes = Counter(
        OutboxMessage.objects.filter(
            cause__in=["reservation.expired", "reservation.no_show"]
        ).values_list("reservation_id", "cause")
    )
    for reservation in made:
        state = Reservation.objects.get(pk=reservation.pk).state
        assert state == expected[reservation.state]
        assert actions[(reservation.pk, f"reservation.{state}")] == 1, reservation
        assert causes[(reservation.pk, f"reservation.{state}")] == 1, reservation
    assert sum(actions.values()) == sum(causes.values()) == len(made)
    # And each e-mail left once (the outbox is shared by the four workers too).
    assert not OutboxMessage.objects.exclude(state=OutboxState.SENT).exists()
    sent = Counter(m.to[0] for m in mail.outbox)
    assert sent == Counter({r.patron.email: 1 for r in made})
    # Nothing is left for a fifth sweeper.
    with time_machine.travel(SWEEP_AT + timedelta(minutes=1), tick=False):
        assert sweep() == 0
    assert not Reservation.objects.filter(
        state__in=[ReservationState.PENDING, ReservationState.CONFIRMED]
    ).exists()
