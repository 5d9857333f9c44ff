"""Places freed at the same moment by several patrons (and a sweeper) at once: each request in
line is offered one place at most, and the oldest requests are served first. Runs on SQLite
(IMMEDIATE transactions) and on PostgreSQL (row locks, re-read under the lock)."""

from collections import Counter

import pytest
import time_machine

from strapontin.reservations import services
from strapontin.reservations.integrity import find_violations
from strapontin.reservations.models import Reservation, ReservationState, WaitlistState
from strapontin.reservations.sweeps import run_sweeps
from tests.conftest import MONDAY_MORNING
from tests.factories import AreaFactory, EstablishmentFactory, ResourceFactory
from tests.presence.threads import together
from tests.waitlist.conftest import ask, book_confirmed

pytestmark = pytest.mark.usefixtures("transactional_db")

PLACES = 4
WAITING = 6


def test_places_freed_at_once_go_one_each_to_the_oldest_requests():
    with time_machine.travel(MONDAY_MORNING, tick=False) as clock:
        area = AreaFactory(establishment=EstablishmentFactory())
        places = [ResourceFactory(area=area) for _ in range(PLACES)]
        held = [book_confirmed(p, f"holder{n}@example.org") for n, p in enumerate(places)]
        requests = []
        for n in range(WAITING):
            clock.shift(1)  # one second apart: the order of asking
            requests.append(ask(places[0], f"waiting{n}@example.org"))

        def cancel(reservation: Reservation):
            return lambda: services.reservation_cancel_by_patron(reservation=reservation)

        together(*[cancel(r) for r in held], run_sweeps)

    offered = Counter(
        Reservation.objects.filter(state=ReservationState.OFFERED).values_list(
            "patron__email", flat=True
        )
    )
    assert offered == Counter({f"waiting{n}@example.org": 1 for n in range(PLACES)})
    states = []
    for request in requests:
        assert request is not None
        request.refresh_from_db()
        states.append(request.state)
    assert states == [WaitlistState.OFFERED] * PLACES + [WaitlistState.WAITING] * (WAITING - PLACES)
    assert len(set(Reservation.objects.filter(state="offered").values_list("resource_id"))) == 4
    assert find_violations() == []
