"""Places freed at the same moment by several patrons (and a sweeper) at once: each request in
line is offered one place at most, and the oldest requests are served first. Runs on SQLite
(IMMEDIATE transactions) and on PostgreSQL (row locks, re-read under the lock)."""

import time
from collections import Counter

import pytest
import time_machine

from strapontin.reservations import services, waitlist
from strapontin.reservations.integrity import find_violations
from strapontin.reservations.models import (
    Reservation,
    ReservationState,
    WaitlistRequest,
    WaitlistState,
)
from strapontin.reservations.sweeps import run_sweeps
from tests.conftest import MONDAY_MORNING
from tests.factories import AreaFactory, EstablishmentFactory, ResourceFactory
from tests.presence.threads import together
from tests.waitlist.conftest import ask, book_confirmed

pytestmark = pytest.mark.usefixtures("transactional_db")

PLACES = 4
WAITING = 6


def free_all_at_once() -> list[WaitlistRequest | None]:
    """Four places taken, six requests in line one second apart, then the four holders cancel
    at the same moment while a worker sweeps."""
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
    return requests


def test_places_freed_at_once_go_one_each_to_the_oldest_requests():
    requests = free_all_at_once()
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


@pytest.mark.postgresql
def test_without_the_lock_on_the_request_the_same_harness_sees_a_double_offer(monkeypatch):
    """The race above can fail: read the request without its lock (with a pause, so that the
    frees really overlap) and without the patron's overlap check, and one request is offered
    two places. PostgreSQL only: SQLite's IMMEDIATE transactions serialise the frees whole."""

    def read_then_pause(pk: int) -> WaitlistRequest | None:
        found = WaitlistRequest.objects.filter(pk=pk, state=WaitlistState.WAITING).first()
        time.sleep(0.3)
        return found

    monkeypatch.setattr(waitlist, "_lock_waiting", read_then_pause)
    monkeypatch.setattr(services, "_check_patron_limits", lambda *args: None)
    free_all_at_once()
    offered = Counter(
        Reservation.objects.filter(state=ReservationState.OFFERED).values_list(
            "patron__email", flat=True
        )
    )
    assert offered["waiting0@example.org"] > 1, offered
