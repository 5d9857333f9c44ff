"""Races at the deadlines, each ending with exactly one outcome: a check-in against the
no-show sweep when the window closes, a confirmation against the expiry sweep at the
deadline, a booking against the sweep (I5: both expire the same reservation), a check-in
against a booking of the same place, and two no-shows of one patron swept at once (one
suspension). Real threads on their own connections, released by a barrier, on SQLite and
PostgreSQL.

Each race runs frozen one second before the edge, frozen exactly at it, and with the clock
ticking across it (the edge falls between the two threads' reads: either outcome is fine,
never both)."""

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine

from strapontin.core.audit import entries_for
from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.reservations import services
from strapontin.reservations.models import (
    CheckinMethod,
    OutboxMessage,
    Patron,
    Reservation,
    ReservationState,
    Suspension,
)
from strapontin.reservations.presence import reservation_check_in
from strapontin.reservations.sweeps import sweep_no_shows, sweep_unconfirmed
from tests.conftest import MONDAY_MORNING, paris
from tests.factories import AreaFactory, EstablishmentFactory, ResourceFactory
from tests.presence.threads import together

pytestmark = pytest.mark.usefixtures("transactional_db")

SECOND = timedelta(seconds=1)
#: Ticking rounds: the clock starts this many milliseconds before the edge.
LEADS_MS = [0, 1, 2, 4, 8, 16]


def booked_at_nine(
    place, email: str, start: datetime, *, verified: bool, hours: int = 1
) -> Reservation:
    with time_machine.travel(MONDAY_MORNING, tick=False):
        known = None
        if verified:
            patron, _created = Patron.objects.get_or_create(
                email=email, defaults={"verified_at": now()}
            )
            known = patron.pk
        return services.reservation_create(
            resource=place,
            email=email,
            start=start,
            end=start + timedelta(hours=hours),
            known_patron_id=known,
        )


def new_place():
    return ResourceFactory(area=AreaFactory(establishment=EstablishmentFactory()))


def at_the_edge(edge: datetime, action: Callable[[], Any]) -> Callable[[], Any]:
    """In a ticking round, the sweeper acts as soon as the edge has passed."""

    def wait_then_act() -> Any:
        while now() < edge:
            time.sleep(0.0002)
        return action()

    return wait_then_act


def race(start: datetime, tick: bool, first: Callable, second: Callable) -> list[Any]:
    with time_machine.travel(start, tick=tick):
        return together(first, second)


def rounds(edge_of: Callable[[Reservation], datetime]):
    """(label, clock start, tick) for each round, given the edge of the reservation."""
    yield "one second before", lambda r: edge_of(r) - SECOND, False
    yield "exactly at", edge_of, False
    for lead in LEADS_MS:
        yield (
            f"ticking from {lead} ms before",
            (lambda r, lead=lead: edge_of(r) - timedelta(milliseconds=lead)),
            True,
        )


def count(reservation: Reservation, action: str) -> int:
    return entries_for(reservation).filter(action=action).count()


def emails(reservation: Reservation, cause: str) -> int:
    return OutboxMessage.objects.filter(reservation=reservation, cause=cause).count()


# --- Check-in against the no-show sweep -------------------------------------------------------


def test_check_in_against_the_no_show_sweep_ends_with_exactly_one_outcome():
    outcomes = []
    for n, (label, clock_at, tick) in enumerate(rounds(lambda r: r.checkin_closes_at)):
        reservation = booked_at_nine(
            new_place(), f"alice{n}@example.org", paris(2026, 3, 2, 10, 0), verified=True
        )
        closes = reservation.checkin_closes_at

        def check_in(reservation=reservation) -> str:
            try:
                reservation_check_in(
                    reservation=reservation, method=CheckinMethod.QR, actor="patron"
                )
            except DomainError as error:
                return error.code
            return "checked_in"

        sweep = at_the_edge(closes, sweep_no_shows) if tick else sweep_no_shows
        answer, swept = race(clock_at(reservation), tick, check_in, sweep)

        stored = Reservation.objects.get(pk=reservation.pk)
        outcomes.append(stored.state)
        if stored.state == ReservationState.CHECKED_IN:
            assert answer == "checked_in", label
            assert swept == 0, label
            assert stored.checked_in_at < closes, label
            assert count(stored, "reservation.no_show") == 0, label
            assert emails(stored, "reservation.no_show") == 0, label
        else:
            assert stored.state == ReservationState.NO_SHOW, label
            assert answer in {"checkin_window_closed", "not_active"}, label
            # Exactly one of the two made the transition.
            assert (answer == "checkin_window_closed") + swept == 1, (label, answer, swept)
            assert count(stored, "reservation.checked_in") == 0, label
            assert count(stored, "reservation.no_show") == 1, label
            assert emails(stored, "reservation.no_show") == 1, label
        if label == "one second before":
            assert stored.state == ReservationState.CHECKED_IN
        if label == "exactly at":
            assert stored.state == ReservationState.NO_SHOW
    assert set(outcomes) == {ReservationState.CHECKED_IN, ReservationState.NO_SHOW}


# --- Confirmation against the expiry sweep ----------------------------------------------------


def test_confirmation_against_the_expiry_sweep_ends_with_exactly_one_outcome():
    outcomes = []
    for n, (label, clock_at, tick) in enumerate(rounds(lambda r: r.confirmation_deadline)):
        reservation = booked_at_nine(
            new_place(), f"bob{n}@example.org", paris(2026, 3, 2, 14, 0), verified=False
        )
        deadline = reservation.confirmation_deadline
        assert deadline == paris(2026, 3, 2, 11, 0)

        def confirm(reservation=reservation) -> str:
            try:
                services.reservation_confirm(reservation=reservation)
            except DomainError as error:
                return error.code
            return "confirmed"

        sweep = at_the_edge(deadline, sweep_unconfirmed) if tick else sweep_unconfirmed
        answer, swept = race(clock_at(reservation), tick, confirm, sweep)

        stored = Reservation.objects.get(pk=reservation.pk)
        outcomes.append(stored.state)
        if stored.state == ReservationState.CONFIRMED:
            assert (answer, swept) == ("confirmed", 0), label
            assert stored.confirmed_at < deadline, label
            assert stored.patron.is_verified, label
            assert count(stored, "reservation.expired") == 0, label
            assert emails(stored, "reservation.expired") == 0, label
            assert emails(stored, "reservation.confirmed") == 1, label
        else:
            assert stored.state == ReservationState.EXPIRED, label
            assert answer == "confirmation_expired", label
            assert swept in {0, 1}, label
            assert not stored.patron.is_verified, label
            assert count(stored, "reservation.confirmed") == 0, label
            assert count(stored, "reservation.expired") == 1, label
            assert emails(stored, "reservation.expired") == 1, label
            assert emails(stored, "reservation.confirmed") == 0, label
        if label == "one second before":
            assert stored.state == ReservationState.CONFIRMED
        if label == "exactly at":
            assert stored.state == ReservationState.EXPIRED
    assert set(outcomes) == {ReservationState.CONFIRMED, ReservationState.EXPIRED}


# --- Booking against the sweep (I5) -----------------------------------------------------------


def test_a_booking_and_the_sweep_at_the_close_record_the_no_show_once():
    """10:00–12:00 closes at 10:30 unclaimed; at that instant one patron books 11:00–12:00
    (which expires it inside the booking) while a worker sweeps."""
    for n in range(6):
        place = new_place()
        first = booked_at_nine(
            place, f"carol{n}@example.org", paris(2026, 3, 2, 10, 0), verified=True, hours=2
        )

        def book(place=place, n=n) -> str:
            try:
                services.reservation_create(
                    resource=place,
                    email=f"dave{n}@example.org",
                    start=paris(2026, 3, 2, 11, 0),
                    end=paris(2026, 3, 2, 12, 0),
                )
            except DomainError as error:
                return error.code
            return "booked"

        answer, swept = race(first.checkin_closes_at, False, book, sweep_no_shows)

        stored = Reservation.objects.get(pk=first.pk)
        assert answer == "booked"
        assert stored.state == ReservationState.NO_SHOW
        assert count(stored, "reservation.no_show") == 1, (n, swept)
        assert emails(stored, "reservation.no_show") == 1, (n, swept)


def test_check_in_against_a_booking_of_the_place_at_the_close_ends_with_one_outcome():
    """Either the patron validated in time and the place stays theirs, or the window had
    closed and the newcomer gets it: never "presence validated" on a place given away."""
    outcomes = []
    for n, (label, clock_at, tick) in enumerate(rounds(lambda r: r.checkin_closes_at)):
        place = new_place()
        reservation = booked_at_nine(
            place, f"frank{n}@example.org", paris(2026, 3, 2, 10, 0), verified=True, hours=2
        )

        def check_in(reservation=reservation) -> str:
            try:
                reservation_check_in(
                    reservation=reservation, method=CheckinMethod.QR, actor="patron"
                )
            except DomainError as error:
                return error.code
            return "checked_in"

        def book(place=place, n=n) -> str:
            try:
                services.reservation_create(
                    resource=place,
                    email=f"gina{n}@example.org",
                    start=paris(2026, 3, 2, 11, 0),
                    end=paris(2026, 3, 2, 12, 0),
                )
            except DomainError as error:
                return error.code
            return "booked"

        closes = reservation.checkin_closes_at
        booking = at_the_edge(closes, book) if tick else book
        answer, booked = race(clock_at(reservation), tick, check_in, booking)

        stored = Reservation.objects.get(pk=reservation.pk)
        outcomes.append(stored.state)
        newcomer = Reservation.objects.filter(patron__email=f"gina{n}@example.org")
        if stored.state == ReservationState.CHECKED_IN:
            assert (answer, booked) == ("checked_in", "slot_taken"), label
            assert not newcomer.exists(), label
            assert count(stored, "reservation.no_show") == 0, label
            assert emails(stored, "reservation.no_show") == 0, label
        else:
            assert stored.state == ReservationState.NO_SHOW, label
            assert answer in {"checkin_window_closed", "not_active"}, label
            assert booked == "booked", label
            assert newcomer.get().state == ReservationState.PENDING, label
            assert count(stored, "reservation.checked_in") == 0, label
            assert count(stored, "reservation.no_show") == 1, label
            assert emails(stored, "reservation.no_show") == 1, label
    assert ReservationState.NO_SHOW in outcomes


# --- Two no-shows of one patron swept at once --------------------------------------------------


def test_two_no_shows_of_one_patron_swept_at_once_suspend_once():
    establishment = EstablishmentFactory()
    area = AreaFactory(establishment=establishment)
    places = [ResourceFactory(area=area) for _ in range(4)]
    # Two earlier no-shows on Monday, then two more swept at once on Tuesday at 11:30 by two
    # workers: the limit of 3 is reached by whichever is counted second.
    for place, hour in zip(places[:2], (10, 14), strict=True):
        earlier = booked_at_nine(
            place, "erin@example.org", paris(2026, 3, 2, hour, 0), verified=True
        )
        with time_machine.travel(earlier.checkin_closes_at, tick=False):
            assert services.reservation_mark_no_show(reservation=earlier)
    later = [
        booked_at_nine(place, "erin@example.org", paris(2026, 3, 3, hour, 0), verified=True)
        for place, hour in zip(places[2:], (10, 11), strict=True)
    ]
    with time_machine.travel(paris(2026, 3, 3, 11, 30), tick=False):
        results = together(
            lambda: services.reservation_mark_no_show(reservation=later[0]),
            lambda: services.reservation_mark_no_show(reservation=later[1]),
        )
    assert results == [True, True]
    assert Suspension.objects.count() == 1
    assert OutboxMessage.objects.filter(cause="patron.suspended").count() == 1
